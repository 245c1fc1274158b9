"""Firing due schedules (a scheduler step): each (schedule, slot) runs exactly once.

Due schedules fire in batches of up to ``BATCH_SIZE``, one transaction each: one query takes the
due schedules (oldest slot first; on PostgreSQL ``FOR UPDATE SKIP LOCKED``, so schedulers racing
take disjoint sets), their runs are prepared in memory (``runs.requests.prepare_run``: every rule
a single run request obeys), then one INSERT records the fired slots, one writes the runs and one
UPDATE moves every schedule to its next slot; the runs' messages leave in one pipelined send once
the batch has committed.

The ScheduledSlot row, unique per (schedule, slot), is written in the transaction that creates
the run: a slot that another scheduler (or an approval) fired first conflicts, gets no run, and
its schedule only steps past it. Moving a schedule on is conditional (its next run must not be
past the slot already), so a scheduler with a stale view never sets a schedule back.

Slots missed while no scheduler ran never fire one by one (no storm after downtime): each
schedule's ``catch_up`` policy decides. ``once`` (the default) runs the latest missed slot once;
``skip`` runs none of them and waits for the next slot. A slot is missed when it is more than
``schedule_misfire_grace_seconds`` late.

One schedule whose run cannot be prepared never holds up the rest of its batch: a job that came
to require approval holds the schedule for approval, a job that cannot run or input that no
longer validates disables it saying why, a busy singleton skips the slot, and any other error
skips the slot with a logged traceback (the schedule tries again at its next slot).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, joinedload

from service.errors import Conflict, JobNotRunnable, ServiceError, ValidationError
from service.models import JobResult, ScheduledJob, ScheduledSlot
from service.observability import metrics
from service.runs.approval import ApprovalRequired
from service.runs.requests import enqueue_job, insert_runs, prepare_run
from service.scheduling.batch import Batch
from service.scheduling.slots import latest_slot, next_slot

logger = logging.getLogger(__name__)

READY_STATES = ("not_required", "approved")
#: Schedules fired per transaction: a catch-up of thousands commits (and sends) as it goes.
BATCH_SIZE = 500
#: Batches per step, a bound that keeps one tick finite whatever happens (500,000 schedules).
MAX_BATCHES = 1000


class SlotAlreadyFired(ServiceError):
    """Another scheduler created this (schedule, slot)'s run first."""

    code = "slot_already_fired"


def fire_slot(
    session: Session, schedule: ScheduledJob, slot: datetime, *, now: datetime, known_queues: tuple[str, ...]
) -> JobResult | None:
    """Create the run of ``slot`` and move the schedule on; raises SlotAlreadyFired on a race.

    One slot through the ORM, for an approval firing a one-off at once (the scheduler fires in
    batches). A singleton job still busy skips the slot (None); enqueue_job's other errors propagate.
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


def _ready():
    return and_(
        ScheduledJob.enabled.is_(True),
        ScheduledJob.job_id.is_not(None),
        ScheduledJob.approval_state.in_(READY_STATES),
    )


def next_due(current) -> datetime | None:
    """When the earliest ready schedule is due (None when none is), for the loop to wake then."""
    with current.db.autocommit_engine.connect() as connection:
        return connection.scalar(select(func.min(ScheduledJob.next_run_at)).where(_ready()))


def fire_due_schedules(current, now: datetime, *, batch_size: int = BATCH_SIZE) -> int:
    """Scheduler step: create the run of every due schedule's latest slot; return how many."""
    fired = 0
    for _ in range(MAX_BATCHES):
        taken, made = _fire_batch(current, now, batch_size)
        fired += made
        if taken < batch_size:
            break
    return fired


def _fire_batch(current, now: datetime, size: int) -> tuple[int, int]:
    """Fire one batch of due schedules in one transaction; return how many were taken and fired."""
    with current.db.session() as session:
        schedules = session.scalars(
            select(ScheduledJob)
            .where(_ready(), ScheduledJob.next_run_at <= now)
            .order_by(ScheduledJob.next_run_at)
            .limit(size)
            .with_for_update(skip_locked=True, of=ScheduledJob)
            .options(joinedload(ScheduledJob.job), joinedload(ScheduledJob.user))
        ).all()
        if not schedules:
            return 0, 0
        batch = Batch(now)
        for schedule in schedules:
            _plan(session, batch, schedule, current.settings)
        fired = _write(session, batch)
    for slot in fired:  # committed: how late each slot's run was created
        metrics.schedule_fired((now - slot).total_seconds())
    return len(schedules), len(fired)


def _plan(session: Session, batch: Batch, schedule: ScheduledJob, settings) -> None:
    """Decide what ``schedule``'s latest due slot becomes: a run, a skip, a hold or a disable."""
    now = batch.now
    slot = latest_slot(schedule, now)
    if slot is None:
        return
    following = next_slot(schedule, slot)
    if _skips(schedule, slot, now, settings.schedule_misfire_grace_seconds):
        batch.move(schedule.id, slot, following)  # after now: the latest due slot
        return
    job = schedule.job
    try:
        if job.is_singleton and job.id in batch.singletons:  # a run of it is in this batch
            raise Conflict(f"Job {job.class_path} is a singleton and already runs from this batch.")
        run = prepare_run(
            session,
            job,
            schedule.data,
            known_queues=settings.all_queues,
            user=schedule.user,
            queue=schedule.queue,
            dryrun=schedule.dryrun,
            approved=schedule.approval_state == "approved",
        )
    except Conflict:  # a singleton still busy: the slot passes without a run
        batch.fire(schedule.id, slot, following, None)
    except ApprovalRequired:  # its job came to require approval since: hold it until approved
        batch.hold(schedule.id)
    except (JobNotRunnable, ValidationError) as exc:  # the job changed since it was scheduled
        batch.disable(schedule.id, f"Could not run: {exc}")
    except SQLAlchemyError:
        raise  # the transaction is spoilt: the whole batch fails and the next tick retries it
    except Exception:  # a fault of this schedule's own must not hold up the batch
        logger.exception("scheduled job %s: could not prepare its run at %s; skipping the slot",
                         schedule.name, f"{slot:%Y-%m-%d %H:%M:%S}")
        batch.move(schedule.id, slot, following)
    else:
        batch.fire(schedule.id, slot, following, run)
        if job.is_singleton:
            batch.singletons.add(job.id)


def _skips(schedule: ScheduledJob, slot: datetime, now: datetime, grace_seconds: float) -> bool:
    """Whether ``slot`` was missed and the schedule's policy is to skip missed slots."""
    return schedule.catch_up == "skip" and (now - slot).total_seconds() > grace_seconds


def _write(session: Session, batch: Batch) -> list[datetime]:
    """Write ``batch``'s slots, runs and moves; return the slots whose runs it created."""
    won = batch.record_slots(session)
    runs = [batch.run_of(schedule_id) for schedule_id in won if batch.runs.get(schedule_id) is not None]
    insert_runs(session, runs)  # their messages leave once the batch commits
    batch.link_slots(session, won)
    batch.move_schedules(session, won)
    batch.hold_schedules(session)
    batch.disable_schedules(session)
    return [batch.slots[schedule_id] for schedule_id in won if batch.runs.get(schedule_id) is not None]

