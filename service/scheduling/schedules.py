"""Creating and managing scheduled jobs, and "run now" for jobs that need approval."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import Conflict, JobNotRunnable, ValidationError
from service.jobs.schema import validate_with_schema
from service.models import Job, JobResult, ScheduledJob, User, utcnow
from service.models.scheduling import INTERVAL_TYPES
from service.notifications import events as notify
from service.runs.approval import check_may_dry_run, needs_approval, runs_dry
from service.runs.requests import check_runnable, choose_queue, enqueue_job
from service.scheduling.slots import ONE_OFF, instant_of, next_slot

#: What a schedule does with the slots it missed while no scheduler ran (see firing.py).
CATCH_UP_POLICIES = ("once", "skip")
#: How far in the past a one-off's start time may be when it is created (clock skew, slow forms).
PAST_START_GRACE = timedelta(minutes=1)


def _check_definition(
    interval_type: str, every_minutes: int | None, crontab: str | None, time_zone: str, catch_up: str = "once"
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if catch_up not in CATCH_UP_POLICIES:
        errors["catch_up"] = [f"Choose one of {', '.join(CATCH_UP_POLICIES)}."]
    if interval_type not in INTERVAL_TYPES:
        errors["interval_type"] = [f"Choose one of {', '.join(INTERVAL_TYPES)}."]
    if interval_type == "custom" and (
        isinstance(every_minutes, bool) or not isinstance(every_minutes, int) or every_minutes < 1
    ):
        errors["every_minutes"] = ["A custom interval needs a whole number of minutes, at least 1."]
    if interval_type == "crontab" and not (
        isinstance(crontab, str) and len(crontab.split()) == 5 and croniter.is_valid(crontab)
    ):
        errors["crontab"] = ["Expected a crontab of 5 fields: minute hour day-of-month month day-of-week."]
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        errors["time_zone"] = [f"{time_zone!r} is not a known time zone."]
    return errors


def check_schedulable(job: Job) -> None:
    """Refuse a job that cannot run unattended: JobNotRunnable, or ValidationError if sensitive."""
    check_runnable(job)
    if job.has_sensitive_variables:
        raise ValidationError(
            {
                "job": [
                    f"Job {job.name} has sensitive variables, so it cannot be scheduled or wait for "
                    "approval: its input would have to be stored."
                ]
            }
        )



def _build_schedule(
    session: Session,
    job: Job,
    *,
    name: str,
    interval_type: str,
    start_time: datetime,
    crontab: str | None,
    every_minutes: int | None,
    time_zone: str,
    data: dict,
    queue: str | None,
    dryrun: bool,
    user: User | None,
    catch_up: str = "once",
    settings=None,
) -> ScheduledJob:
    if session.scalar(select(ScheduledJob.id).where(ScheduledJob.name == name)) is not None:
        raise ValidationError({"name": [f"A scheduled job named {name!r} already exists."]})
    approval = "needs_approval" if needs_approval(job, dryrun) else "not_required"
    schedule = ScheduledJob(
        name=name,
        job=job,
        interval_type=interval_type,
        every_minutes=every_minutes,
        start_time=start_time,
        crontab=crontab,
        time_zone=time_zone,
        data=data,
        queue=queue,
        dryrun=dryrun,
        user=user,
        approval_state=approval,
        enabled=True,
        catch_up=catch_up,
    )
    try:
        schedule.next_run_at = next_slot(schedule, start_time - timedelta(microseconds=1))
    except CroniterError:
        raise ValidationError({"crontab": ["This crontab never matches a date."]}) from None
    session.add(schedule)
    session.flush()
    if approval == "needs_approval" and settings is not None:
        notify.approval_requested(session, schedule, settings)
    return schedule


def create_schedule(
    session: Session,
    job: Job,
    *,
    name: str,
    interval_type: str,
    start_time: datetime | None = None,
    crontab: str | None = None,
    every_minutes: int | None = None,
    time_zone: str = "UTC",
    data: dict | None = None,
    queue: str | None = None,
    dryrun: bool | None = None,
    user: User | None = None,
    known_queues: tuple[str, ...],
    now: datetime | None = None,
    catch_up: str = "once",
    settings=None,
) -> ScheduledJob:
    """Schedule ``job``; a job needing approval waits in ``needs_approval`` unless it is a dry run
    (and, given ``settings``, notifies the rules that want to hear about it).

    A naive ``start_time`` is wall-clock time in ``time_zone``; without one, crontab schedules
    start now. Raises JobNotRunnable (disabled or uninstalled job) or ValidationError naming each
    bad field (sensitive job, bad interval, crontab or time zone, a one-off in the past, bad input).
    """
    now = now or utcnow()
    check_schedulable(job)
    errors = _check_definition(interval_type, every_minutes, crontab, time_zone, catch_up)
    if not name or not name.strip():
        errors["name"] = ["This field may not be blank."]
    if start_time is None and interval_type != "crontab":
        errors["start_time"] = ["This interval type needs a start time."]
    if errors:
        raise ValidationError(errors)
    start_time = now if start_time is None else start_time
    if start_time.tzinfo is None:
        start_time = instant_of(start_time, ZoneInfo(time_zone))
    start_time = start_time.astimezone(UTC)
    if interval_type == ONE_OFF and start_time < now - PAST_START_GRACE:
        raise ValidationError({"start_time": ["A one-off job must start now or in the future."]})
    data = dict(data or {})
    validate_with_schema(job.variables, data)
    queue = choose_queue(job, queue, known_queues)
    return _build_schedule(
        session,
        job,
        name=name.strip(),
        interval_type=interval_type,
        start_time=start_time,
        crontab=crontab,
        every_minutes=every_minutes if interval_type == "custom" else None,
        time_zone=time_zone,
        data=data,
        queue=queue,
        dryrun=runs_dry(job, dryrun),
        user=user,
        catch_up=catch_up,
        settings=settings,
    )


def request_run(
    session: Session,
    job: Job,
    data: dict | None = None,
    *,
    user: User | None = None,
    queue: str | None = None,
    dryrun: bool | None = None,
    known_queues: tuple[str, ...],
    now: datetime | None = None,
    ignore_singleton_lock: bool = False,
    source_commit: str | None = None,
    settings=None,
) -> JobResult | ScheduledJob:
    """Run ``job`` now: a JobResult, or for a job needing approval a one-off ScheduledJob awaiting it.

    Raises what ``enqueue_job`` and ``create_schedule`` raise.
    """
    if not needs_approval(job, dryrun):
        return enqueue_job(
            session, job, data, known_queues=known_queues, user=user, queue=queue, dryrun=dryrun,
            ignore_singleton_lock=ignore_singleton_lock,
            source_commit=source_commit,
        )
    if source_commit:
        raise ValidationError({"source_commit": ["A job needing approval runs at its synced commit."]})
    now = now or utcnow()
    name = f"{job.name[:150]} (run requested {now:%Y-%m-%d %H:%M:%S}, {uuid.uuid4().hex[:8]})"
    return create_schedule(
        session,
        job,
        name=name,
        interval_type=ONE_OFF,
        start_time=now,
        data=data,
        queue=queue,
        dryrun=dryrun,
        user=user,
        known_queues=known_queues,
        now=now,
        settings=settings,
    )


def dry_run(
    session: Session, schedule: ScheduledJob, user: User, *, known_queues: tuple[str, ...]
) -> JobResult:
    """Run a schedule's job now as a dry run (no approval needed), to see what it would do.

    Raises ValidationError when the job cannot run dry, PermissionDenied when ``user`` dry-runs
    another user's request without approve_job (``service.runs.approval``).
    """
    if schedule.job is None:
        raise JobNotRunnable(f"Scheduled job {schedule.name!r} has no job any more.")
    check_may_dry_run(schedule, user)
    result = enqueue_job(
        session,
        schedule.job,
        schedule.data,
        known_queues=known_queues,
        user=user,
        queue=schedule.queue,
        dryrun=True,
    )
    result.scheduled_job_id = schedule.id
    return result


def set_schedule_enabled(
    session: Session, schedule: ScheduledJob, enabled: bool, *, now: datetime | None = None
) -> ScheduledJob:
    """Enable or disable a schedule; enabling restarts it from its next slot after now.

    Raises JobNotRunnable or ValidationError when its job can no longer run on a schedule, and
    Conflict for a denied schedule.
    """
    if enabled:
        if schedule.approval_state == "denied":
            raise Conflict(f"Scheduled job {schedule.name!r} was denied; create a new one.")
        if schedule.job is None:
            raise JobNotRunnable(f"Scheduled job {schedule.name!r} has no job any more.")
        check_schedulable(schedule.job)
        schedule.next_run_at = next_slot(schedule, now or utcnow())
        schedule.disabled_reason = None
    schedule.enabled = enabled
    session.flush()
    return schedule


def delete_schedule(session: Session, schedule: ScheduledJob) -> None:
    """Delete a schedule; the runs it created stay."""
    session.delete(schedule)
    session.flush()
