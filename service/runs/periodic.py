"""Periodic runs: when a run with an interval ends, its successor waits on the interval's grid."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service.models import JobResult, utcnow
from service.runs.pending import add_pending, follow_up_row
from service.runs.runners import lock_identity, once_identity, waiting_run


def next_periodic_slot(anchor: datetime, period: timedelta, now: datetime) -> datetime:
    """Return ``anchor + period``, or if that has passed, the latest slot on the grid not after now.

    Missed slots collapse into one run that is due at once, and the grid never drifts.
    """
    following = anchor + period
    if following > now:
        return following
    return anchor + ((now - anchor) // period) * period


def schedule_successor(session: Session, finished: JobResult, *, now: datetime) -> JobResult | None:
    """Create the next run of a periodic run that just ended, unless one is already waiting."""
    if not finished.interval:
        return None
    anchor = finished.scheduled_at or finished.started or finished.created
    slot = next_periodic_slot(anchor, timedelta(minutes=finished.interval), now)
    lock_identity(session, once_identity(finished.class_path, finished.object_type, finished.object_id))
    if (
        waiting_run(
            session,
            finished.class_path,
            finished.object_type,
            finished.object_id,
            runner=finished.runner is not None,
        )
        is not None
    ):
        return None
    row = follow_up_row(
        finished,
        now=now,
        scheduled_at=slot,
        commit=(finished.job or finished).commit,  # the next period runs the job's current version
        environment_key=(finished.job or finished).environment_key,
        interval=finished.interval,
    )
    return add_pending(session, row)


def after_finish(session: Session, job_result_id: uuid.UUID, *, now: datetime | None = None) -> None:
    """Do what follows a run's end (in the transaction that ended it): schedule a periodic successor."""
    finished = session.get(JobResult, job_result_id)
    if finished is not None and finished.is_final:
        schedule_successor(session, finished, now=now or utcnow())
