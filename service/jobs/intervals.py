"""Recurrence intervals for background jobs, in minutes (NetBox's ``JobIntervals``)."""

from enum import IntEnum


class JobIntervals(IntEnum):
    """Common intervals, in minutes."""

    MINUTELY = 1
    HOURLY = 60
    EVERY_12_HOURS = 60 * 12
    DAILY = 60 * 24
    WEEKLY = 60 * 24 * 7
    EVERY_30_DAYS = 60 * 24 * 30


class JobIntervalChoices:
    """NetBox's names for the same intervals (``core.choices.JobIntervalChoices``), so plugin code
    ports by changing its imports only."""

    INTERVAL_MINUTELY = JobIntervals.MINUTELY
    INTERVAL_HOURLY = JobIntervals.HOURLY
    INTERVAL_DAILY = JobIntervals.DAILY
    INTERVAL_WEEKLY = JobIntervals.WEEKLY

    CHOICES = (
        (INTERVAL_MINUTELY, "Minutely"),
        (INTERVAL_HOURLY, "Hourly"),
        (INTERVAL_DAILY, "Daily"),
        (INTERVAL_WEEKLY, "Weekly"),
    )
