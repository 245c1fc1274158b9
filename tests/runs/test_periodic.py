"""Periodic runs: a successor at previous time + interval, after success or failure; no pile-up,
no drift; system jobs waiting whenever a worker or scheduler starts."""

import threading
from datetime import timedelta

from sqlalchemy import select

from service.jobs.runner import runner_path
from service.models import JobResult, Status, utcnow
from service.runs.housekeeping import Housekeeping
from service.runs.periodic import next_periodic_slot, schedule_successor
from service.runs.runners import enqueue_system_jobs
from service.scheduling.loop import Scheduler
from service.worker import engine
from service.worker.actors import serve
from service.worker.claim import claim
from service.worker.job_process import ChildOutcome
from service.worker.outcome import finish
from service.worker.recorder import RunRecorder
from tests.helpers.sample_runners import Exploder, Greeter
from tests.helpers.servers import wait_until


def runs_of(runtime, runner_class):
    with runtime.db.session() as session:
        query = select(JobResult).where(JobResult.runner == runner_path(runner_class))
        return list(session.scalars(query.order_by(JobResult.created)))


def test_a_periodic_run_that_succeeds_schedules_its_successor_one_interval_later(runtime):
    due = utcnow() - timedelta(seconds=1)
    first = Greeter.enqueue(schedule_at=due, interval=30)
    engine.run_job_result(runtime, str(first.id))
    done, successor = runs_of(runtime, Greeter)
    assert done.status == Status.SUCCESS and done.result == "hello world!"
    assert successor.status == Status.PENDING and successor.scheduled_at == due + timedelta(minutes=30)
    assert successor.interval == 30 and successor.input_data == done.input_data


def test_a_periodic_run_that_fails_still_schedules_its_successor(runtime):
    due = utcnow() - timedelta(seconds=1)
    first = Exploder.enqueue(schedule_at=due, interval=60)
    engine.run_job_result(runtime, str(first.id))
    failed, successor = runs_of(runtime, Exploder)
    assert failed.status == Status.FAILURE and "exploded on purpose" in failed.error
    assert successor.status == Status.PENDING and successor.scheduled_at == due + timedelta(minutes=60)


def test_a_run_without_an_interval_has_no_successor(runtime):
    first = Greeter.enqueue()
    engine.run_job_result(runtime, str(first.id))
    assert [run.status for run in runs_of(runtime, Greeter)] == [Status.SUCCESS]


def test_missed_slots_collapse_into_one_run_now_on_the_original_grid(runtime, clock):
    anchor = clock.now
    with runtime.db.session() as session:
        finished = JobResult(
            name="Greeter",
            class_path="x",
            runner="x",
            status=Status.SUCCESS,
            scheduled_at=anchor,
            interval=10,
            input_data={},
        )
        session.add(finished)
        session.flush()
        # The worker was away for 95 minutes: nine slots passed.
        successor = schedule_successor(session, finished, now=anchor + timedelta(minutes=95))
    assert successor.scheduled_at == anchor + timedelta(minutes=90)
    with runtime.db.session() as session:
        assert len(session.scalars(select(JobResult).where(JobResult.status == Status.PENDING)).all()) == 1


def test_next_periodic_slot_never_drifts_from_the_grid():
    anchor = utcnow()
    period = timedelta(minutes=60)
    assert next_periodic_slot(anchor, period, anchor + timedelta(minutes=59)) == anchor + period
    assert next_periodic_slot(anchor, period, anchor + timedelta(minutes=60)) == anchor + period
    assert next_periodic_slot(anchor, period, anchor + timedelta(minutes=61)) == anchor + period
    assert next_periodic_slot(anchor, period, anchor + timedelta(minutes=300)) == anchor + 5 * period


def test_no_second_successor_when_a_run_is_already_waiting(runtime):
    first = Greeter.enqueue(schedule_at=utcnow() - timedelta(seconds=1), interval=30)
    assert claim(runtime.db, first.id)
    # While it runs, a starting worker makes sure the runner has a run waiting.
    waiting = Greeter.enqueue_once(schedule_at=utcnow() + timedelta(minutes=5), interval=30)
    finish(runtime.db, first.id, ChildOutcome(Status.SUCCESS), RunRecorder(runtime.db, first.id))
    runs = runs_of(runtime, Greeter)
    assert [run.status for run in runs] == [Status.SUCCESS, Status.PENDING]
    assert runs[1].id == waiting.id


def test_system_jobs_are_enqueued_once_with_their_interval(runtime):
    enqueue_system_jobs()
    enqueue_system_jobs()
    (run,) = runs_of(runtime, Housekeeping)
    assert run.status == Status.PENDING and run.interval == 1440


def test_a_starting_worker_enqueues_the_system_jobs(runtime):
    stop = threading.Event()
    worker = threading.Thread(target=serve, args=(runtime, ("default",)), kwargs={"threads": 1, "stop": stop})
    worker.start()
    try:
        # The worker runs the housekeeping it enqueued, which then waits a day for its successor.
        runs = wait_until(
            lambda: len(runs_of(runtime, Housekeeping)) == 2 and runs_of(runtime, Housekeeping),
            timeout=30,
            message="housekeeping run and its successor",
        )
    finally:
        stop.set()
        worker.join(timeout=30)
    assert [run.status for run in runs] == [Status.SUCCESS, Status.PENDING]
    assert runs[1].scheduled_at == runs[0].started + timedelta(days=1)


def test_a_running_scheduler_enqueues_the_system_jobs_and_sends_due_work(runtime):
    due = Greeter.enqueue(schedule_at=utcnow() + timedelta(milliseconds=200))
    stop = threading.Event()
    loop = threading.Thread(target=Scheduler(runtime).run_forever, args=(stop,))
    loop.start()
    try:
        wait_until(lambda: runs_of(runtime, Housekeeping), message="housekeeping enqueued")
        wait_until(lambda: runs_of(runtime, Greeter)[0].enqueued is not None, message="the due run sent")
    finally:
        stop.set()
        loop.join(timeout=10)
    assert due.enqueued is None
