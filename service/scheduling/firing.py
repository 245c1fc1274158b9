"""Firing due schedules (scheduler steps): each (schedule, slot) runs exactly once.

The ScheduledSlot row, unique per (schedule, slot), is inserted in the transaction that creates
the run, so a second scheduler's insert fails and it creates nothing.

Slots missed while no scheduler ran never fire one by one (no storm after downtime): each
schedule's ``catch_up`` policy decides. ``once`` (the default) runs the latest missed slot once;
``skip`` runs none of them and waits for the next slot. A slot is missed when it is more than
``schedule_misfire_grace_seconds`` late.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.errors import Conflict, JobNotRunnable, ServiceError, ValidationError
from service.models import Job, JobResult, ScheduledJob, ScheduledSlot
from service.observability import metrics
from service.runs.approval import ApprovalRequired
from service.runs.requests import enqueue_job
from service.scheduling.slots import latest_slot, next_slot

READY_STATES = ("not_required", "approved")


class SlotAlreadyFired(ServiceError):
    """Another scheduler created this (schedule, slot)'s run first."""

    code = "slot_already_fired"


def fire_slot(
    session: Session, schedule: ScheduledJob, slot: datetime, *, now: datetime, known_queues: tuple[str, ...]
) -> JobResult | None:
    """Create the run of ``slot`` and move the schedule on; raises SlotAlreadyFired on a race.

    A singleton job still busy skips the slot (None); enqueue_job's other errors propagate.
    """
    fired = ScheduledSlot(scheduled_job_id=schedule.id, slot_time=slot, created=now)
    described = f"{schedule.name} at {slot:%Y-%m-%d %H:%M}"  # a failed flush expires the schedule
    session.add(fired)
    try:
        # No savepoint (pysqlite would commit an outermost one on release): a conflict spoils the
        # transaction, and the caller rolls it back.
        session.flush()
    except IntegrityError:
        raise SlotAlreadyFired(f"{described} fired elsewhere.") from None
    schedule.next_run_at = next_slot(schedule, slot)
    schedule.last_run_at = now
    schedule.total_run_count = ScheduledJob.total_run_count + 1
    try:
        result = enqueue_job(
            session,
            schedule.job,
            schedule.data,
            known_queues=known_queues,
            user=schedule.user,
            queue=schedule.queue,
            dryrun=schedule.dryrun,
            approved=schedule.approval_state == "approved",
        )
    except Conflict:
        session.flush()
        return None
    result.scheduled_job_id, result.scheduled_at = schedule.id, slot
    session.flush()
    fired.job_result_id = result.id
    session.flush()
    return result


def _ready(now: datetime):
    return and_(
        ScheduledJob.enabled.is_(True),
        ScheduledJob.job_id.is_not(None),
        ScheduledJob.next_run_at <= now,
        ScheduledJob.approval_state.in_(READY_STATES),
    )


def fire_due_schedules(current, now: datetime) -> int:
    """Scheduler step: create the run of every due schedule's latest slot; return how many."""
    with current.db.session() as session:
        due = session.scalars(
            select(ScheduledJob.id).where(_ready(now)).order_by(ScheduledJob.next_run_at)
        ).all()
    return sum(_fire_one(current, schedule_id, now) for schedule_id in due)


def _fire_one(current, schedule_id: uuid.UUID, now: datetime) -> int:
    slot = None
    try:
        with current.db.session() as session:
            schedule = session.scalar(select(ScheduledJob).where(ScheduledJob.id == schedule_id, _ready(now)))
            slot = schedule and latest_slot(schedule, now)
            if slot is None:
                return 0
            if _skips(schedule, slot, now, current.settings.schedule_misfire_grace_seconds):
                schedule.next_run_at = next_slot(schedule, slot)  # after now: the latest due slot
                return 0
            fired = fire_slot(session, schedule, slot, now=now, known_queues=current.settings.all_queues)
        if fired is not None:  # committed: how late the slot's run was created
            metrics.schedule_fired((now - slot).total_seconds())
        return int(fired is not None)
    except SlotAlreadyFired:
        _move_past(current, schedule_id, slot)
    except ApprovalRequired:  # its job came to require approval since: hold it until approved
        _hold_for_approval(current, schedule_id)
    except (JobNotRunnable, ValidationError) as exc:  # the job changed since it was scheduled
        _disable(current, schedule_id, f"Could not run: {exc}")
    return 0


def _skips(schedule: ScheduledJob, slot: datetime, now: datetime, grace_seconds: float) -> bool:
    """Whether ``slot`` was missed and the schedule's policy is to skip missed slots."""
    return schedule.catch_up == "skip" and (now - slot).total_seconds() > grace_seconds


def _move_past(current, schedule_id: uuid.UUID, slot: datetime) -> None:
    # A slower scheduler may have written an older next run over ours: step past the fired slot.
    with current.db.session() as session:
        schedule = session.get(ScheduledJob, schedule_id)
        if schedule is not None and schedule.next_run_at is not None and schedule.next_run_at <= slot:
            schedule.next_run_at = next_slot(schedule, slot)


def _hold_for_approval(current, schedule_id: uuid.UUID) -> None:
    with current.db.session() as session:
        session.execute(
            update(ScheduledJob).where(ScheduledJob.id == schedule_id).values(approval_state="needs_approval")
        )


def _disable(current, schedule_id: uuid.UUID, reason: str) -> None:
    with current.db.session() as session:
        session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.id == schedule_id)
            .values(enabled=False, disabled_reason=reason)
        )


def review_schedules(current, now: datetime) -> int:
    """Scheduler step: disable schedules whose job cannot run, and hold those that now need approval."""
    jobs = select(Job.id)
    reasons = [
        (ScheduledJob.job_id.is_(None), "Its job was deleted."),
        (ScheduledJob.job_id.in_(jobs.where(Job.installed.is_(False))), "Its job is no longer installed."),
        (ScheduledJob.job_id.in_(jobs.where(Job.enabled.is_(False))), "Its job is disabled."),
        (
            ScheduledJob.job_id.in_(jobs.where(Job.has_sensitive_variables.is_(True))),
            "Its job now has sensitive variables, which cannot run on a schedule.",
        ),
    ]
    changed = 0
    with current.db.session() as session:
        for condition, reason in reasons:
            changed += session.execute(
                update(ScheduledJob)
                .where(ScheduledJob.enabled.is_(True), condition)
                .values(enabled=False, disabled_reason=reason)
            ).rowcount
        changed += session.execute(
            update(ScheduledJob)
            .where(
                ScheduledJob.approval_state == "not_required",
                or_(
                    ScheduledJob.dryrun.is_(False),
                    ScheduledJob.job_id.in_(jobs.where(Job.supports_dryrun.is_(False))),
                ),
                ScheduledJob.next_run_at.is_not(None),
                ScheduledJob.job_id.in_(jobs.where(Job.approval_required.is_(True))),
            )
            .values(approval_state="needs_approval")
        ).rowcount
    return changed
