"""Due schedules fire in batches: each due slot once, every rule kept, one bad schedule holds up no other."""

import functools
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.models import JobResult, ScheduledJob, ScheduledSlot, utcnow
from service.scheduling import fire_due_schedules
from service.scheduling.loop import Scheduler
from tests.helpers.scheduling import FakeClock, new_schedule, sent_ids
from tests.helpers.servers import wait_until

WHO = [{"name": "who", "type": "StringVar", "required": True, "default": None}]


def count(runtime, model, *where) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def reload(runtime, schedule_id) -> ScheduledJob:
    with runtime.db.session() as session:
        return session.get(ScheduledJob, schedule_id)


def runs_of(runtime, schedule_id) -> int:
    return count(runtime, JobResult, JobResult.scheduled_job_id == schedule_id)


def schedules(runtime, clock, number, **fields):
    return [new_schedule(runtime, clock, name=f"schedule {n}", **fields).id for n in range(number)]


def test_every_due_schedule_fires_once_across_several_batches(runtime, clock):
    ids = schedules(runtime, clock, 23)
    assert fire_due_schedules(runtime, clock.now, batch_size=5) == 23
    assert all(runs_of(runtime, schedule_id) == 1 for schedule_id in ids)
    assert count(runtime, ScheduledSlot, ScheduledSlot.job_result_id.is_not(None)) == 23
    assert len(set(sent_ids(runtime))) == 23  # each run's message left once its batch committed
    moved = [reload(runtime, schedule_id) for schedule_id in ids]
    assert {(schedule.next_run_at, schedule.total_run_count, schedule.last_run_at) for schedule in moved} == {
        (clock.now + timedelta(minutes=10), 1, clock.now)
    }
    assert fire_due_schedules(runtime, clock.now, batch_size=5) == 0


def test_a_batched_run_carries_its_schedules_input_queue_and_slot(runtime, clock):
    schedule = new_schedule(runtime, clock, job_fields={"variables": WHO}, data={"who": "ada"}, queue="low")
    clock.advance(seconds=3)
    fire_due_schedules(runtime, clock.now)
    with runtime.db.session() as session:
        run = session.scalar(select(JobResult).where(JobResult.scheduled_job_id == schedule.id))
        slot = session.scalar(select(ScheduledSlot).where(ScheduledSlot.scheduled_job_id == schedule.id))
    assert (run.input_data, run.queue, run.scheduled_at) == ({"who": "ada"}, "low", schedule.start_time)
    assert slot.job_result_id == run.id and slot.slot_time == schedule.start_time
    assert sent_ids(runtime, "low") == [run.id]


def test_one_batch_fires_runs_with_and_without_a_concurrency_key(runtime, clock):
    keyed = new_schedule(runtime, clock, name="keyed", job_fields={"concurrency_key": "site:{job}"})
    plain = new_schedule(runtime, clock, name="plain")
    assert fire_due_schedules(runtime, clock.now) == 2
    with runtime.db.session() as session:
        keys = dict(session.execute(select(JobResult.scheduled_job_id, JobResult.concurrency_key)).all())
    assert keys[keyed.id].startswith("site:") and keys[plain.id] is None


def test_after_downtime_batches_follow_each_schedules_catch_up_policy(runtime, clock):
    once = schedules(runtime, clock, 5, catch_up="once")
    skip = [new_schedule(runtime, clock, name=f"skipping {n}", catch_up="skip").id for n in range(5)]
    start = clock.now
    clock.advance(hours=1, minutes=2)  # six slots missed by each, the latest two minutes late
    assert fire_due_schedules(runtime, clock.now, batch_size=3) == 5
    with runtime.db.session() as session:
        fired = select(JobResult.scheduled_at).where(JobResult.scheduled_job_id.in_(once))
        slots = set(session.scalars(fired))
    assert slots == {start + timedelta(hours=1)}  # the latest missed slot, once each
    assert all(runs_of(runtime, schedule_id) == 0 for schedule_id in skip)
    assert {reload(runtime, schedule_id).next_run_at for schedule_id in once + skip} == {
        start + timedelta(hours=1, minutes=10)
    }


def test_a_batch_holds_a_schedule_whose_job_now_needs_approval_and_fires_the_others(runtime, clock):
    gated = new_schedule(runtime, clock, name="gated")
    others = schedules(runtime, clock, 3)
    with runtime.db.session() as session:
        session.get(ScheduledJob, gated.id).job.approval_required = True
    assert fire_due_schedules(runtime, clock.now) == 3
    held = reload(runtime, gated.id)
    assert (held.approval_state, held.enabled, runs_of(runtime, gated.id)) == ("needs_approval", True, 0)
    assert all(runs_of(runtime, schedule_id) == 1 for schedule_id in others)


def test_an_approved_schedule_of_a_job_needing_approval_fires_in_a_batch(runtime, clock):
    approved = new_schedule(runtime, clock, name="approved")
    with runtime.db.session() as session:
        schedule = session.get(ScheduledJob, approved.id)
        schedule.job.approval_required, schedule.approval_state = True, "approved"
    assert fire_due_schedules(runtime, clock.now) == 1
    assert runs_of(runtime, approved.id) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"installed": False}, "not installed"),
        ({"variables": [{**WHO[0], "name": "name"}]}, "Could not run"),  # its input no longer validates
    ],
)
def test_a_schedule_whose_run_cannot_be_prepared_is_disabled_and_the_rest_of_its_batch_fires(
    runtime, clock, change, reason
):
    broken = new_schedule(runtime, clock, name="broken", job_fields={"variables": WHO}, data={"who": "ada"})
    others = schedules(runtime, clock, 4)
    with runtime.db.session() as session:  # changed since, and no review step has seen it yet
        job = session.get(ScheduledJob, broken.id).job
        for field, value in change.items():
            setattr(job, field, value)
    assert fire_due_schedules(runtime, clock.now) == 4
    disabled = reload(runtime, broken.id)
    assert not disabled.enabled and reason in disabled.disabled_reason and runs_of(runtime, broken.id) == 0
    assert all(runs_of(runtime, schedule_id) == 1 for schedule_id in others)


def test_an_unexpected_error_preparing_one_run_skips_that_slot_only(runtime, clock, caplog):
    broken = new_schedule(runtime, clock, name="broken")
    others = schedules(runtime, clock, 3)
    with runtime.db.session() as session:  # a stored schema no version of jobsync wrote
        session.get(ScheduledJob, broken.id).job.variables = [{"type": "StringVar"}]
    assert fire_due_schedules(runtime, clock.now) == 3
    skipped = reload(runtime, broken.id)
    assert skipped.enabled and skipped.next_run_at == clock.now + timedelta(minutes=10)
    assert runs_of(runtime, broken.id) == 0 and "broken" in caplog.text
    assert all(runs_of(runtime, schedule_id) == 1 for schedule_id in others)


def test_two_schedules_of_one_singleton_job_in_one_batch_start_one_run(runtime, clock):
    first = new_schedule(runtime, clock, name="first", job_fields={"is_singleton": True})
    second = new_schedule(runtime, clock, name="second")
    with runtime.db.session() as session:  # both schedules run the one singleton job
        session.get(ScheduledJob, second.id).job_id = first.job_id
    assert fire_due_schedules(runtime, clock.now) == 1
    assert runs_of(runtime, first.id) + runs_of(runtime, second.id) == 1
    assert reload(runtime, first.id).next_run_at == reload(runtime, second.id).next_run_at > clock.now


def test_between_ticks_the_loop_fires_a_slot_when_it_comes(runtime):
    clock = FakeClock()
    soon = new_schedule(runtime, clock, start_time=clock.now + timedelta(seconds=0.3)).id
    fire = functools.update_wrapper(functools.partial(fire_due_schedules, runtime), fire_due_schedules)
    scheduler, stop = Scheduler(runtime, clock=utcnow, steps=[fire]), threading.Event()
    waiting = threading.Thread(target=scheduler.fire_until, args=(float("inf"), stop))  # no tick comes
    waiting.start()
    try:
        wait_until(lambda: runs_of(runtime, soon) == 1, timeout=10, message="the slot to fire without a tick")
    finally:
        stop.set()
        waiting.join(timeout=10)


@pytest.mark.postgresql_only  # SQLite serialises every writer: the race only exists on PostgreSQL
def test_two_scheduler_loops_racing_fire_each_due_slot_once(runtime, clock):
    ids = schedules(runtime, clock, 120)
    fire = functools.update_wrapper(functools.partial(fire_due_schedules, runtime, batch_size=7),
                                    fire_due_schedules)
    loops = [Scheduler(runtime, clock=clock, steps=[fire]) for _ in range(2)]
    stop = threading.Event()
    threads = [threading.Thread(target=loop.run_forever, args=(stop,)) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: count(runtime, ScheduledSlot) == 120, timeout=60, message="every slot to fire")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    with runtime.db.session() as session:
        runs = set(session.scalars(select(JobResult.id).where(JobResult.scheduled_job_id.is_not(None))))
    sent = [run_id for run_id in sent_ids(runtime) if run_id in runs]
    assert len(runs) == 120 and sorted(sent) == sorted(runs)  # one run and one message per slot
    assert {reload(runtime, schedule_id).total_run_count for schedule_id in ids} == {1}
