"""Retries: when a run fails in a way its job retries, its next attempt waits as a PENDING run.

The next attempt is written in the transaction that records the failure, scheduled at now plus
the job's backoff, so it survives any restart: the scheduler sends it when it is due
(service.scheduling.recovery.send_waiting_runs). Each attempt is its own run, with its own logs,
linked to the first by ``retry_of`` and numbered by ``attempt``.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from service.infra.transient_input import may_have_transient_input
from service.jobs.errors import RunnerNotFound
from service.jobs.retries import Backoff, RetryPolicy
from service.jobs.runner import find_runner
from service.models import JobLogEntry, JobResult, Status, utcnow
from service.runs.pending import add_pending, follow_up_row


def retry_policy_of(run: JobResult) -> RetryPolicy | None:
    """Return what the run's job (as synced) or JobRunner (as defined here) declares of retries;
    None when it can have no next attempt whatever it declares."""
    job = run.job
    if job is not None:
        # Sensitive input and uploads are handed to the first attempt only (infra.transient_input).
        if may_have_transient_input(job.has_sensitive_variables, job.variables):
            return None
        return RetryPolicy(retries=job.retries or 0, backoff=Backoff(**(job.retry_backoff or {})),
                           on_worker_lost=job.retry_on_worker_lost)
    if run.runner:
        try:
            return find_runner(run.runner).retry_policy
        except RunnerNotFound:  # its code is gone from this process: nothing says it may run again
            return None
    return None


def _has_attempts_left(failed: JobResult, policy: RetryPolicy, *, lost: bool) -> bool:
    """Tell whether ``policy`` allows another attempt after the failed run.

    ``lost`` says the run died while executing (its worker or job process): only a job that
    declares ``retry_on_worker_lost`` is safe to run again then.
    """
    return (
        (policy.on_worker_lost or not lost)
        and failed.status == Status.FAILURE
        and not failed.cancel_requested
        and failed.attempt <= policy.retries
    )


def schedule_retry(
    session: Session, job_result_id: uuid.UUID, *, lost: bool = False, now: datetime | None = None,
    rng: random.Random | None = None,
) -> JobResult | None:
    """Add the next attempt of a run that just failed, if its job has retries left; return it."""
    failed = session.get(JobResult, job_result_id)
    policy = retry_policy_of(failed) if failed is not None else None
    if policy is None or not _has_attempts_left(failed, policy, lost=lost):
        return None
    now = now or utcnow()
    due = now + timedelta(seconds=policy.backoff.delay(failed.attempt, rng))
    row = follow_up_row(
        failed,
        now=now,
        scheduled_at=due,
        commit=failed.commit,  # the attempt runs the code that failed, not a newer version
        concurrency_key=failed.concurrency_key,
        concurrency_limit=failed.concurrency_limit,
        concurrency_policy=failed.concurrency_policy,
        retry_of=failed.retry_of or failed.id,
        attempt=failed.attempt + 1,
    )
    retry = add_pending(session, row)
    total = policy.retries + 1
    session.add(JobLogEntry(
        job_result_id=failed.id, level="warning", grouping="run", created=now,
        message=f"Attempt {failed.attempt} of {total} failed: attempt {retry.attempt} is run {retry.id}, "
                f"due at {due:%Y-%m-%d %H:%M:%S} UTC.",
    ))
    return retry


def attempt_chain(session: Session, result: JobResult) -> list:
    """Return every attempt of the run ``result`` belongs to (id, attempt, status), first first."""
    first = result.retry_of or result.id
    return session.execute(
        select(JobResult.id, JobResult.attempt, JobResult.status)
        .where(or_(JobResult.id == first, JobResult.retry_of == first))
        .order_by(JobResult.attempt)
    ).all()
