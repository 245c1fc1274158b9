"""Approving and denying scheduled jobs that wait for approval."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.errors import Conflict, PermissionDenied
from service.models import ScheduledJob, User, utcnow
from service.scheduling.firing import fire_slot
from service.scheduling.slots import ONE_OFF, latest_slot


def _check_decider(schedule: ScheduledJob, user: User, settings) -> None:
    if not user.has_permission("approve_job"):
        raise PermissionDenied("Approving or denying a job needs the approve_job permission.")
    if (
        schedule.user_id is not None
        and schedule.user_id == user.id
        and not (settings.allow_superuser_self_approval and user.is_superuser)
    ):
        raise PermissionDenied("You cannot approve or deny your own job request: another approver must.")


def _decide(session: Session, schedule: ScheduledJob, user: User, settings, **values: Any) -> None:
    _check_decider(schedule, user, settings)
    decided = session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.id == schedule.id, ScheduledJob.approval_state == "needs_approval")
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not decided:
        raise Conflict(f"Scheduled job {schedule.name!r} is not waiting for approval.")
    session.refresh(schedule)


def approve(
    session: Session,
    schedule: ScheduledJob,
    approver: User,
    *,
    settings,
    known_queues: tuple[str, ...],
    now: datetime | None = None,
) -> ScheduledJob:
    """Approve a schedule waiting for approval; a one-off whose time has passed runs at once.

    Raises PermissionDenied (no approve_job, or the requester approving their own request unless
    ``allow_superuser_self_approval`` and a superuser), Conflict (not waiting for approval), and
    what ``enqueue_job`` raises when the one-off runs now.
    """
    now = now or utcnow()
    _decide(
        session,
        schedule,
        approver,
        settings,
        approval_state="approved",
        approved_by_id=approver.id,
        approved_at=now,
    )
    slot = latest_slot(schedule, now) if schedule.interval_type == ONE_OFF else None
    if slot is not None:
        fire_slot(session, schedule, slot, now=now, known_queues=known_queues)
    return schedule


def deny(
    session: Session, schedule: ScheduledJob, approver: User, *, settings, now: datetime | None = None
) -> ScheduledJob:
    """Deny a schedule waiting for approval: it is disabled and never runs. Raises as ``approve``."""
    _decide(
        session,
        schedule,
        approver,
        settings,
        approval_state="denied",
        enabled=False,
        disabled_reason=f"Denied by {approver.username} at {(now or utcnow()):%Y-%m-%d %H:%M:%S} UTC.",
    )
    return schedule
