"""Plain factory functions for rows, with defaults (GOV.UK Notify style)."""

from __future__ import annotations

import uuid

from service.models import Job, JobResult, User

SAMPLE_MODULE = "tests.helpers.sample_jobs"
TEST_SECRET_KEY = "test-session-key-" + "0123456789abcdef" * 3  # 32+ bytes, as start-up insists


def make_job(session, class_name: str = "Hello", *, module_name: str = SAMPLE_MODULE, **fields) -> Job:
    """A runnable ``system`` job backed by an importable test module."""
    values = dict(source="system", module_name=module_name, job_class_name=class_name,
                  class_path=f"system/{module_name}/{class_name}-{uuid.uuid4().hex[:8]}", name=class_name,
                  enabled=True, installed=True, has_sensitive_variables=False, variables=[])
    values.update(fields)
    job = Job(**values)
    session.add(job)
    session.flush()
    return job


def make_result(session, job: Job, **fields) -> JobResult:
    values = dict(job=job, name=job.name, class_path=job.class_path, input_data={}, queue="default",
                  commit=job.commit)
    values.update(fields)
    result = JobResult(**values)
    session.add(result)
    session.flush()
    return result


def make_user(session, username: str = "alice", **fields) -> User:
    user = User(username=username, **fields)
    session.add(user)
    session.flush()
    return user
