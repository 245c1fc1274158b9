"""Scheduled jobs: creating them, and schedulers firing each due slot exactly once."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from service.errors import JobNotRunnable, ValidationError
from service.models import JobResult, ScheduledJob, ScheduledSlot, Status
from service.scheduling import SlotAlreadyFired, create_schedule, fire_slot
from service.scheduling.loop import Scheduler
from tests.helpers.factories import make_job, make_user
from tests.helpers.scheduling import FakeClock, new_schedule

QUEUES = ("high", "default", "low")
WHO = [{"name": "who", "type": "StringVar", "required": True, "default": None}]


def results_of(runtime, schedule_id):
    with runtime.db.session() as session:
        query = (
            select(JobResult)
            .where(JobResult.scheduled_job_id == schedule_id)
            .order_by(JobResult.scheduled_at)
        )
        return list(session.scalars(query))


def reload(runtime, schedule_id) -> ScheduledJob:
    with runtime.db.session() as session:
        return session.get(ScheduledJob, schedule_id)


def test_a_job_with_sensitive_variables_cannot_be_scheduled(runtime, clock):
    with pytest.raises(ValidationError) as caught:
        new_schedule(runtime, clock, job_fields={"has_sensitive_variables": True})
    assert "sensitive" in caught.value.fields["job"][0]


def test_a_disabled_job_cannot_be_scheduled(runtime, clock):
    with pytest.raises(JobNotRunnable):
        new_schedule(runtime, clock, job_fields={"enabled": False})


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"interval_type": "crontab", "crontab": "0 0 * * * *"}, "crontab"),
        ({"interval_type": "crontab", "crontab": "every day"}, "crontab"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"every_minutes": 0}, "every_minutes"),
        ({"interval_type": "fortnightly"}, "interval_type"),
        ({"catch_up": "all"}, "catch_up"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field(runtime, clock, fields, bad):
    with pytest.raises(ValidationError) as caught:
        new_schedule(runtime, clock, **fields)
    assert bad in caught.value.fields


def test_a_one_off_in_the_past_is_refused(runtime, clock):
    with pytest.raises(ValidationError) as caught:
        new_schedule(runtime, clock, interval_type="future", start_time=clock.now - timedelta(hours=1))
    assert "start_time" in caught.value.fields


def test_scheduled_input_is_validated_against_the_jobs_variables(runtime, clock):
    with pytest.raises(ValidationError) as caught:
        new_schedule(runtime, clock, job_fields={"variables": WHO}, data={"nobody": 1})
    assert set(caught.value.fields) == {"who", "nobody"}


def test_a_naive_start_time_is_wall_clock_time_in_the_schedules_zone(runtime, clock):
    schedule = new_schedule(
        runtime, clock, interval_type="daily", start_time=datetime(2031, 7, 1, 9), time_zone="Europe/Berlin"
    )
    assert schedule.next_run_at == datetime(2031, 7, 1, 7, tzinfo=UTC)


def test_the_scheduler_fires_a_due_schedule_and_moves_it_on(runtime, clock):
    schedule = new_schedule(runtime, clock, job_fields={"variables": WHO}, data={"who": "ada"}, queue="low")
    scheduler = Scheduler(runtime, clock=clock)
    assert scheduler.tick() == 1
    (result,) = results_of(runtime, schedule.id)
    assert result.status == Status.PENDING and result.input_data == {"who": "ada"} and result.queue == "low"
    assert result.scheduled_at == clock.now
    fired = reload(runtime, schedule.id)
    assert fired.next_run_at == clock.now + timedelta(minutes=10) and fired.total_run_count == 1
    assert scheduler.tick() == 0


def test_two_schedulers_ticking_the_same_due_slot_fire_it_once(runtime, clock):
    schedule = new_schedule(runtime, clock)
    first, second = Scheduler(runtime, clock=clock), Scheduler(runtime, clock=clock)
    first.tick()
    second.tick()
    assert len(results_of(runtime, schedule.id)) == 1


def test_a_scheduler_with_a_stale_view_loses_the_slot_to_the_one_that_fired_it(runtime, clock):
    schedule = new_schedule(runtime, clock)
    with runtime.db.session() as late:
        stale = late.get(ScheduledJob, schedule.id)  # read before the other scheduler fires
        assert Scheduler(runtime, clock=clock).tick() == 1
        with pytest.raises(SlotAlreadyFired):
            fire_slot(late, stale, clock.now, now=clock.now, known_queues=QUEUES)
        late.rollback()
    assert len(results_of(runtime, schedule.id)) == 1


def test_concurrent_schedulers_fire_each_due_slot_exactly_once(runtime, clock):
    ids = [new_schedule(runtime, clock, name=f"schedule {n}").id for n in range(10)]
    schedulers = [Scheduler(runtime, clock=clock) for _ in range(4)]
    start = threading.Barrier(len(schedulers))

    def tick(scheduler):
        start.wait()
        scheduler.tick()

    threads = [threading.Thread(target=tick, args=(scheduler,)) for scheduler in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(JobResult)) == 10
        assert session.scalar(select(func.count()).select_from(ScheduledSlot)) == 10
    assert all(reload(runtime, schedule_id).total_run_count == 1 for schedule_id in ids)


def test_two_schedules_with_the_same_crontab_both_fire(runtime, clock):
    start = clock.now.replace(second=0, microsecond=0)
    one = new_schedule(
        runtime, clock, name="one", interval_type="crontab", crontab="*/5 * * * *", start_time=start
    )
    two = new_schedule(
        runtime, clock, name="two", interval_type="crontab", crontab="*/5 * * * *", start_time=start
    )
    clock.now = reload(runtime, one.id).next_run_at
    Scheduler(runtime, clock=clock).tick()
    assert len(results_of(runtime, one.id)) == len(results_of(runtime, two.id)) == 1


def test_missed_slots_of_a_schedule_collapse_into_one_run(runtime, clock):
    schedule = new_schedule(runtime, clock)
    clock.advance(minutes=95)  # no scheduler ran for nine slots
    Scheduler(runtime, clock=clock).tick()
    (result,) = results_of(runtime, schedule.id)
    assert result.scheduled_at == schedule.start_time + timedelta(minutes=90)
    assert reload(runtime, schedule.id).next_run_at == schedule.start_time + timedelta(minutes=100)


def test_a_schedule_that_skips_missed_slots_runs_none_and_waits_for_the_next(runtime, clock):
    schedule = new_schedule(runtime, clock, catch_up="skip")
    clock.advance(minutes=65)  # a scheduler outage of an hour: seven slots missed
    Scheduler(runtime, clock=clock).tick()
    assert results_of(runtime, schedule.id) == []
    assert reload(runtime, schedule.id).next_run_at == schedule.start_time + timedelta(minutes=70)
    clock.advance(minutes=5, seconds=30)  # the next slot, a little late but within the grace
    Scheduler(runtime, clock=clock).tick()
    (result,) = results_of(runtime, schedule.id)
    assert result.scheduled_at == schedule.start_time + timedelta(minutes=70)


def test_after_an_hour_down_a_skipping_schedule_runs_its_latest_slot_if_within_the_grace(runtime, clock):
    schedule = new_schedule(runtime, clock, catch_up="skip")
    clock.advance(hours=1, seconds=30)  # six slots missed, the latest only thirty seconds late
    Scheduler(runtime, clock=clock).tick()
    (result,) = results_of(runtime, schedule.id)  # that one slot, none of the missed ones before it
    assert result.scheduled_at == schedule.start_time + timedelta(hours=1)
    assert reload(runtime, schedule.id).next_run_at == schedule.start_time + timedelta(hours=1, minutes=10)


def test_after_an_hour_down_each_of_many_schedules_fires_at_most_once(runtime, clock):
    made = [new_schedule(runtime, clock, name=f"every {n + 2} minutes", every_minutes=n + 2,
                         catch_up=("once", "skip")[n % 2]) for n in range(6)]
    clock.advance(hours=1, minutes=1, seconds=30)  # every latest slot is over a minute late
    Scheduler(runtime, clock=clock).tick()
    runs = {schedule.id: len(results_of(runtime, schedule.id)) for schedule in made}
    assert runs == {schedule.id: (1, 0)[n % 2] for n, schedule in enumerate(made)}  # not one per slot


def test_a_crontab_schedule_fires_at_the_wall_clock_time_across_a_dst_change(runtime):
    clock = FakeClock(datetime(2024, 3, 29, tzinfo=UTC))
    schedule = new_schedule(
        runtime,
        clock,
        interval_type="crontab",
        crontab="0 9 * * *",
        time_zone="Europe/Berlin",
        start_time=clock.now,
    )
    scheduler = Scheduler(runtime, clock=clock)
    for _ in range(4 * 24):  # four days, hour by hour
        clock.advance(hours=1)
        scheduler.tick()
    fired = [result.scheduled_at.hour for result in results_of(runtime, schedule.id)]
    assert fired == [8, 8, 7, 7]  # 09:00 CET, then 09:00 CEST from 31 March


def test_a_one_off_fires_once(runtime, clock):
    schedule = new_schedule(
        runtime, clock, interval_type="future", start_time=clock.now + timedelta(minutes=1)
    )
    scheduler = Scheduler(runtime, clock=clock)
    assert scheduler.tick() == 0
    clock.advance(minutes=1)
    scheduler.tick()
    clock.advance(days=1)
    scheduler.tick()
    assert len(results_of(runtime, schedule.id)) == 1 and reload(runtime, schedule.id).next_run_at is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"installed": False}, "no longer installed"),
        ({"enabled": False}, "disabled"),
        ({"has_sensitive_variables": True}, "sensitive"),
    ],
)
def test_schedules_of_a_job_that_can_no_longer_run_are_disabled_with_a_reason(runtime, clock, change, reason):
    schedule = new_schedule(runtime, clock)
    with runtime.db.session() as session:
        job = session.get(ScheduledJob, schedule.id).job
        for field, value in change.items():
            setattr(job, field, value)
    Scheduler(runtime, clock=clock).tick()
    disabled = reload(runtime, schedule.id)
    assert not disabled.enabled and reason in disabled.disabled_reason
    assert results_of(runtime, schedule.id) == []


def test_a_schedule_runs_as_its_user(runtime, clock):
    with runtime.db.session() as session:
        owner = make_user(session, "owner")
        job = make_job(session)
        schedule = create_schedule(
            session,
            job,
            name="mine",
            interval_type="hourly",
            start_time=clock.now,
            user=owner,
            known_queues=QUEUES,
            now=clock.now,
        )
    Scheduler(runtime, clock=clock).tick()
    (result,) = results_of(runtime, schedule.id)
    assert result.user_id == owner.id


def test_a_schedule_whose_input_no_longer_validates_is_disabled_saying_why(runtime, clock):
    schedule = new_schedule(runtime, clock, job_fields={"variables": WHO}, data={"who": "ada"})
    with runtime.db.session() as session:  # a later commit renamed the job's variable
        session.get(ScheduledJob, schedule.id).job.variables = [{**WHO[0], "name": "name"}]
    Scheduler(runtime, clock=clock).tick()
    disabled = reload(runtime, schedule.id)
    assert not disabled.enabled and disabled.disabled_reason.startswith("Could not run")
    assert results_of(runtime, schedule.id) == []


def test_a_busy_singleton_skips_its_slot_and_moves_on(runtime, clock):
    schedule = new_schedule(runtime, clock, job_fields={"is_singleton": True})
    scheduler = Scheduler(runtime, clock=clock)
    scheduler.tick()
    clock.advance(minutes=10)  # the first run is still waiting when the next slot comes
    scheduler.tick()
    assert len(results_of(runtime, schedule.id)) == 1
    assert reload(runtime, schedule.id).next_run_at == schedule.start_time + timedelta(minutes=20)


def test_how_late_a_slot_fired_is_observed(runtime, clock):
    from prometheus_client import REGISTRY

    def observed():
        return (REGISTRY.get_sample_value("jobsync_schedule_lateness_seconds_count") or 0,
                REGISTRY.get_sample_value("jobsync_schedule_lateness_seconds_sum") or 0)

    count, total = observed()
    new_schedule(runtime, clock)
    clock.advance(seconds=7)  # the scheduler comes 7 s after the slot
    Scheduler(runtime, clock=clock).tick()
    after_count, after_total = observed()
    assert after_count == count + 1 and abs(after_total - total - 7) < 0.01
