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
