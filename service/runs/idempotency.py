"""Safe client retries: a run request repeated with the same Idempotency-Key starts nothing new.

A key names, per user and for 24 hours, the run (or the schedule, for a run that waits for
approval) that its first request created; repeating it returns that one. The key row is written
in the same transaction as the run, and a unique constraint settles two concurrent first
attempts: the loser rolls back its run and returns the winner's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.errors import Conflict, ValidationError
from service.models import IdempotencyKey, Job, JobResult, ScheduledJob, utcnow

#: How long a key keeps answering with its first run.
KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"

Outcome = JobResult | ScheduledJob


def check_key(key: str | None, *, field: str = HEADER) -> str | None:
    """Return the key stripped, None when absent; raises ValidationError naming ``field``."""
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError({field: [f"Must be 1 to {MAX_KEY_LENGTH} printable characters."]})
    return key


def earlier_outcome(session: Session, key: str, user_id: uuid.UUID | None, job: Job,
                    *, now: datetime | None = None) -> Outcome | None:
    """Return what an earlier request with ``key`` created, or None; raises Conflict if the key
    was used for another job (a client bug that must not pass silently)."""
    now = now or utcnow()
    row = session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.key == key,
        IdempotencyKey.user_id.is_(None) if user_id is None else IdempotencyKey.user_id == user_id))
    if row is None:
        return None
    if row.created < now - KEY_LIFETIME:  # expired: the key may start a new run
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id))
        return None
    if row.job_id != job.id:
        raise Conflict(f"{HEADER} {key!r} was already used for another job.")
    if row.job_result_id is not None:
        return session.get(JobResult, row.job_result_id)
    return session.get(ScheduledJob, row.scheduled_job_id)


def run_once(session: Session, key: str | None, user_id: uuid.UUID | None, job: Job,
             start: Callable[[], Outcome]) -> tuple[Outcome, bool]:
    """Call ``start`` unless ``key`` already started something; return (outcome, created).

    Commits the session when it creates the run, so the key and the run land together.
    """
    if key is None:
        outcome = start()
        session.commit()
        return outcome, True
    earlier = earlier_outcome(session, key, user_id, job)
    if earlier is not None:
        return earlier, False
    outcome = start()
    session.add(IdempotencyKey(
        key=key, user_id=user_id, job_id=job.id,
        job_result_id=outcome.id if isinstance(outcome, JobResult) else None,
        scheduled_job_id=outcome.id if isinstance(outcome, ScheduledJob) else None))
    try:
        session.commit()
    except IntegrityError:  # a concurrent request with the same key committed first
        session.rollback()  # ours is dropped, message included (the outbox sends only on commit)
        earlier = earlier_outcome(session, key, user_id, job)
        if earlier is None:
            raise
        return earlier, False
    return outcome, True


def forget_expired_keys(session: Session, *, now: datetime | None = None) -> int:
    """Delete keys past their lifetime (housekeeping); return how many."""
    cutoff = (now or utcnow()) - KEY_LIFETIME
    return session.execute(delete(IdempotencyKey).where(IdempotencyKey.created < cutoff)).rowcount
