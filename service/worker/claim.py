"""Claiming a run: the one conditional UPDATE (PENDING -> STARTED) that makes delivery idempotent.

A message delivered twice runs once. The claim also reads what running the job needs as plain
columns, so no ORM object and no open connection is held while the job runs.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime

from sqlalchemy import Row, bindparam, select, update

from service.models import GitRepository, Job, JobResult, Status, User, utcnow

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"

def worker_id() -> str:
    return f"{WORKER_ID}:{threading.get_ident()}"


_NOW, RUN_ID = bindparam("claim_now"), bindparam("run_id")

# Built once: the hot path runs these for every job, and SQLAlchemy memoises a reused statement's
# cache key, so each execution goes straight to the compiled form.
_CLAIM = (
    update(JobResult)
    .where(
        JobResult.id == RUN_ID,
        JobResult.status == Status.PENDING,
        JobResult.cancel_requested.is_(False),
        (JobResult.scheduled_at.is_(None)) | (JobResult.scheduled_at <= _NOW),
    )
    .values(
        status=Status.STARTED,
        started=_NOW,
        heartbeat=_NOW,
        worker_id=bindparam("claim_worker"),
        attempts=JobResult.attempts + 1,
    )
)

# What running a claimed result needs, as plain columns: no ORM objects on the hot path.
_RUN_COLUMNS = ("id", "runner", "interval", "commit", "dryrun", "input_data", "user_id", "job_id")
_DETAILS = (
    User.username,
    Job.source,
    Job.module_name,
    Job.job_class_name,
    Job.repository_id,
    GitRepository.slug.label("repository_slug"),
    Job.soft_time_limit,
    Job.time_limit,
    Job.has_sensitive_variables,
    Job.variables,
)


def _run_details(runs):
    """Select ``_RUN_COLUMNS`` of ``runs`` (the table, or the claim's RETURNING) with their job's details."""
    return (
        select(*(runs.c[name] for name in _RUN_COLUMNS), *_DETAILS)
        .select_from(runs)
        .outerjoin(Job, runs.c.job_id == Job.id)
        .outerjoin(GitRepository, Job.repository_id == GitRepository.id)
        .outerjoin(User, runs.c.user_id == User.id)
    )


_CLAIMED_RUN = _run_details(JobResult.__table__).where(JobResult.id == RUN_ID)
# PostgreSQL claims and reads in one statement (UPDATE ... RETURNING in a WITH clause).
_CLAIM_RETURNING_RUN = _run_details(
    _CLAIM.returning(*(JobResult.__table__.c[name] for name in _RUN_COLUMNS)).cte("claimed")
)


def _claim_parameters(job_result_id: uuid.UUID, now: datetime | None) -> dict:
    return {"run_id": job_result_id, "claim_now": now or utcnow(), "claim_worker": worker_id()}


def claim(db, job_result_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """Atomically move a due, uncancelled PENDING result to STARTED; False if someone else did."""
    with db.engine.begin() as connection:
        return connection.execute(_CLAIM, _claim_parameters(job_result_id, now)).rowcount == 1


def claim_and_load(db, job_result_id: uuid.UUID, *, now: datetime | None = None) -> Row | None:
    """Claim the run and read what running it needs, atomically; None if not ours."""
    parameters = _claim_parameters(job_result_id, now)
    if db.is_sqlite:  # no UPDATE inside WITH: two statements in one transaction
        with db.engine.begin() as connection:
            if connection.execute(_CLAIM, parameters).rowcount != 1:
                return None
            return connection.execute(_CLAIMED_RUN, parameters).one()
    with db.autocommit_engine.connect() as connection:  # one statement is its own transaction
        return connection.execute(_CLAIM_RETURNING_RUN, parameters).first()


_OURS_ALREADY = _run_details(JobResult.__table__).where(
    JobResult.id == RUN_ID,
    JobResult.status == Status.STARTED,
    JobResult.worker_id == bindparam("claim_worker"),
)


def claimed_by_this_thread(db, job_result_id: uuid.UUID) -> Row | None:
    """Read a run this thread's earlier claim already took (its reply was lost to an outage)."""
    with db.engine.connect() as connection:
        return connection.execute(
            _OURS_ALREADY, {"run_id": job_result_id, "claim_worker": worker_id()}
        ).first()


def _may_have_transient_input(run: Row) -> bool:
    """Only sensitive jobs and jobs taking files stash input beside the broker (see runs.py)."""
    return run.source is not None and (
        run.has_sensitive_variables or any(v.get("type") == "FileVar" for v in run.variables or [])
    )
