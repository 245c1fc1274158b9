"""Slot arithmetic of scheduled jobs: elapsed intervals, wall-clock days and crontab across DST."""

from datetime import UTC, datetime, timedelta

from service.models import ScheduledJob
from service.scheduling import latest_slot, next_slot

BERLIN = "Europe/Berlin"  # 2024: clocks go forward 31 March 02:00, back 27 October 03:00


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def schedule(interval_type, start, **fields) -> ScheduledJob:
    return ScheduledJob(
        interval_type=interval_type, start_time=start, time_zone=fields.pop("time_zone", "UTC"), **fields
    )


def slots(plan: ScheduledJob, count: int) -> list[datetime]:
    found, moment = [], plan.start_time - timedelta(microseconds=1)
    for _ in range(count):
        moment = next_slot(plan, moment)
        found.append(moment)
    return found


def test_a_one_off_has_one_slot():
    plan = schedule("future", utc(2024, 5, 1, 12))
    assert next_slot(plan, utc(2024, 5, 1, 11)) == utc(2024, 5, 1, 12)
    assert next_slot(plan, utc(2024, 5, 1, 12)) is None


def test_every_n_minutes_counts_from_the_start_time():
    plan = schedule("custom", utc(2024, 5, 1, 12, 7), every_minutes=15)
    assert slots(plan, 3) == [utc(2024, 5, 1, 12, 7), utc(2024, 5, 1, 12, 22), utc(2024, 5, 1, 12, 37)]
    assert next_slot(plan, utc(2024, 5, 1, 13)) == utc(2024, 5, 1, 13, 7)


def test_hourly_is_elapsed_time_across_a_dst_change():
    plan = schedule("hourly", utc(2024, 3, 31, 0, 30), time_zone=BERLIN)
    assert slots(plan, 3) == [utc(2024, 3, 31, 0, 30), utc(2024, 3, 31, 1, 30), utc(2024, 3, 31, 2, 30)]


def test_daily_keeps_its_wall_clock_time_across_spring_forward():
    plan = schedule("daily", utc(2024, 3, 30, 8), time_zone=BERLIN)  # 09:00 CET
    assert slots(plan, 3) == [utc(2024, 3, 30, 8), utc(2024, 3, 31, 7), utc(2024, 4, 1, 7)]


def test_weekly_keeps_its_wall_clock_time_across_fall_back():
    plan = schedule("weekly", utc(2024, 10, 21, 7), time_zone=BERLIN)  # Monday 09:00 CEST
    assert slots(plan, 2) == [utc(2024, 10, 21, 7), utc(2024, 10, 28, 8)]


def test_crontab_follows_the_wall_clock_across_spring_forward():
    plan = schedule("crontab", utc(2024, 3, 29), crontab="0 9 * * *", time_zone=BERLIN)
    assert slots(plan, 4) == [
        utc(2024, 3, 29, 8),
        utc(2024, 3, 30, 8),
        utc(2024, 3, 31, 7),
        utc(2024, 4, 1, 7),
    ]


def test_a_crontab_time_skipped_by_spring_forward_runs_just_after_the_gap():
    plan = schedule("crontab", utc(2024, 3, 29, 12), crontab="30 2 * * *", time_zone=BERLIN)
    # 02:30 on 31 March does not exist in Berlin: it runs at 03:30 CEST (01:30 UTC), once.
    assert slots(plan, 3) == [utc(2024, 3, 30, 1, 30), utc(2024, 3, 31, 1, 30), utc(2024, 4, 1, 0, 30)]


def test_a_crontab_time_repeated_by_fall_back_runs_once():
    plan = schedule("crontab", utc(2024, 10, 25, 12), crontab="30 2 * * *", time_zone=BERLIN)
    # 02:30 happens twice on 27 October (00:30 and 01:30 UTC): it runs at the first only.
    assert slots(plan, 3) == [utc(2024, 10, 26, 0, 30), utc(2024, 10, 27, 0, 30), utc(2024, 10, 28, 1, 30)]


def test_crontab_slots_start_at_the_start_time():
    plan = schedule("crontab", utc(2024, 5, 1, 12, 0, 30), crontab="* * * * *")
    assert slots(plan, 2) == [utc(2024, 5, 1, 12, 1), utc(2024, 5, 1, 12, 2)]


def test_latest_slot_collapses_missed_slots_into_the_latest():
    plan = schedule("custom", utc(2024, 5, 1, 12), every_minutes=10, next_run_at=utc(2024, 5, 1, 12))
    assert latest_slot(plan, utc(2024, 5, 1, 13, 35)) == utc(2024, 5, 1, 13, 30)
    cron = schedule("crontab", utc(2024, 5, 1), crontab="0 * * * *", next_run_at=utc(2024, 5, 1, 1))
    assert latest_slot(cron, utc(2024, 5, 1, 6, 59)) == utc(2024, 5, 1, 6)
    assert latest_slot(cron, utc(2024, 5, 1, 0, 59)) is None


def test_latest_slot_of_a_minutely_crontab_after_a_month_away_is_the_last_minute():
    cron = schedule("crontab", utc(2024, 5, 1), crontab="* * * * *", next_run_at=utc(2024, 5, 1))
    assert latest_slot(cron, utc(2024, 6, 1, 12, 30, 15)) == utc(2024, 6, 1, 12, 30)
    assert latest_slot(cron, utc(2024, 6, 1, 12, 30)) == utc(2024, 6, 1, 12, 30)
