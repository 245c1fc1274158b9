"""When a scheduled job's slots fall: pure arithmetic on a ScheduledJob's definition.

Minutes and hours are elapsed time; days, weeks and crontab fields are wall-clock time in the
schedule's zone, so "daily at 09:00" stays at 09:00 across a DST change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from service.models import ScheduledJob

ONE_OFF = "future"
ELAPSED_PERIODS = {"hourly": timedelta(hours=1)}
WALL_CLOCK_PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(weeks=1)}


def _zone(schedule: ScheduledJob) -> ZoneInfo:
    return ZoneInfo(schedule.time_zone)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """Wall-clock time in ``zone``, without zone info (what crontab fields and days count)."""
    return moment.astimezone(zone).replace(tzinfo=None)


def instant_of(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock time ``wall`` in ``zone``."""
    # fold=0: an ambiguous time is its first occurrence; a time in a spring-forward gap maps to
    # the same distance past the gap (02:30 -> 03:30), as cron runs skipped jobs after the gap.
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _period(schedule: ScheduledJob) -> timedelta | None:
    if schedule.interval_type == "custom":
        return timedelta(minutes=schedule.every_minutes)
    return ELAPSED_PERIODS.get(schedule.interval_type) or WALL_CLOCK_PERIODS.get(schedule.interval_type)


def _nth(schedule: ScheduledJob, n: int) -> datetime:
    """The schedule's ``n``-th slot (0 is the start) for a periodic interval type."""
    if schedule.interval_type in WALL_CLOCK_PERIODS:
        zone = _zone(schedule)
        return instant_of(_local(schedule.start_time, zone) + n * _period(schedule), zone)
    return schedule.start_time + n * _period(schedule)


def _periodic_after(schedule: ScheduledJob, moment: datetime) -> datetime:
    if moment < schedule.start_time:
        return schedule.start_time
    if schedule.interval_type in WALL_CLOCK_PERIODS:
        zone = _zone(schedule)
        n = (_local(moment, zone) - _local(schedule.start_time, zone)) // _period(schedule)
    else:
        n = (moment - schedule.start_time) // _period(schedule)
    n = max(n, 0)
    while _nth(schedule, n) <= moment:  # a DST shift can put the estimate one slot out either way
        n += 1
    while n > 0 and _nth(schedule, n - 1) > moment:
        n -= 1
    return _nth(schedule, n)


def _cron_after(schedule: ScheduledJob, moment: datetime) -> datetime:
    zone = _zone(schedule)
    wall = _local(max(moment, schedule.start_time - timedelta(microseconds=1)), zone)
    cron = croniter(schedule.crontab, wall.replace(second=0, microsecond=0))
    while True:
        slot = instant_of(cron.get_next(datetime), zone)
        if slot > moment and slot >= schedule.start_time:
            return slot


def _cron_at_or_before(schedule: ScheduledJob, moment: datetime) -> datetime:
    zone = _zone(schedule)
    cron = croniter(
        schedule.crontab, _local(moment, zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
    )
    while True:
        slot = instant_of(cron.get_prev(datetime), zone)
        if slot <= moment:
            return slot


def next_slot(schedule: ScheduledJob, after: datetime) -> datetime | None:
    """Return the schedule's first slot strictly after ``after`` (None when there is none)."""
    if schedule.interval_type == ONE_OFF:
        return schedule.start_time if schedule.start_time > after else None
    if schedule.interval_type == "crontab":
        return _cron_after(schedule, after)
    return _periodic_after(schedule, after)


def latest_slot(schedule: ScheduledJob, now: datetime) -> datetime | None:
    """Return the latest slot at or before ``now``, starting from the schedule's next run."""
    slot = schedule.next_run_at
    if slot is None or slot > now:
        return None
    if schedule.interval_type in ("custom", *ELAPSED_PERIODS):
        return slot + ((now - slot) // _period(schedule)) * _period(schedule)
    if schedule.interval_type == "crontab":
        return max(slot, _cron_at_or_before(schedule, now))
    while (following := next_slot(schedule, slot)) is not None and following <= now:
        slot = following  # days and weeks: even a year's gap is a few hundred steps
    return slot
