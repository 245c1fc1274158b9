"""JobRunner.enqueue / enqueue_once / get_jobs through the database dispatcher."""

import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.errors import ValidationError
from service.jobs.runner import set_dispatcher
from service.models import JobResult, Status
from service.runs.runners import DatabaseDispatcher
from service.scheduling.loop import Scheduler
from tests.helpers.factories import make_user
from tests.helpers.sample_runners import Greeter
from tests.helpers.scheduling import sent_ids

RUNNER = "tests.helpers.sample_runners:Greeter"


def waiting_rows(runtime, **filters):
    with runtime.db.session() as session:
        query = select(JobResult).where(JobResult.status == Status.PENDING).filter_by(**filters)
        return list(session.scalars(query))


@pytest.fixture
def user(runtime):
    with runtime.db.session() as session:
        return make_user(session, "instance-owner")


@pytest.fixture
def clocked(runtime, clock):
    """Install a dispatcher on the test clock for the duration of a test."""
    set_dispatcher(DatabaseDispatcher(runtime, clock=clock))
    return clock


def test_enqueue_writes_a_pending_run_and_sends_its_message(runtime, user):
    result = Greeter.enqueue("ada", punctuation="?", instance=user)
    (row,) = waiting_rows(runtime)
    assert row.id == result.id and row.runner == RUNNER and row.class_path == RUNNER
    assert row.name == "Greeter" and row.queue == "default" and row.job_id is None
    assert row.input_data == {"args": ["ada"], "kwargs": {"punctuation": "?"}}
    assert (row.object_type, row.object_id) == ("users", str(user.id))
    assert row.enqueued is not None and sent_ids(runtime) == [row.id]


def test_a_run_scheduled_for_later_is_sent_only_when_it_is_due(runtime, clocked):
    result = Greeter.enqueue(schedule_at=clocked.now + timedelta(minutes=5))
    scheduler = Scheduler(runtime, clock=clocked)
    scheduler.tick()
    assert sent_ids(runtime) == []
    clocked.advance(minutes=5)
    scheduler.tick()
    assert sent_ids(runtime) == [result.id]


def test_arguments_that_are_not_json_are_refused(runtime):
    with pytest.raises(ValidationError) as caught:
        Greeter.enqueue(object())
    assert "input_data" in caught.value.fields and waiting_rows(runtime) == []


def test_an_unknown_queue_is_refused(runtime):
    with pytest.raises(ValidationError) as caught:
        Greeter.enqueue(queue="nowhere")
    assert "queue" in caught.value.fields


def test_an_unsaved_instance_is_refused(runtime):
    with pytest.raises(ValidationError) as caught:
        Greeter.enqueue(instance="not a row")
    assert "instance" in caught.value.fields


def test_enqueue_once_keeps_the_waiting_run(runtime, user):
    first = Greeter.enqueue_once(instance=user, interval=60)
    again = Greeter.enqueue_once(instance=user, interval=60)
    assert again.id == first.id and len(waiting_rows(runtime)) == 1


def test_enqueue_once_is_per_instance(runtime, user):
    with runtime.db.session() as session:
        other = make_user(session, "someone-else")
    Greeter.enqueue_once(instance=user)
    Greeter.enqueue_once(instance=other)
    Greeter.enqueue_once()
    assert len(waiting_rows(runtime)) == 3


def test_enqueue_once_without_a_time_accepts_the_scheduled_one(runtime, clocked):
    later = clocked.now + timedelta(hours=1)
    first = Greeter.enqueue_once(schedule_at=later, interval=60)
    again = Greeter.enqueue_once(interval=60)
    assert again.id == first.id and again.scheduled_at == later


def test_enqueue_once_moves_the_waiting_run_to_a_different_time_it_names(runtime, clocked):
    first = Greeter.enqueue_once(schedule_at=clocked.now + timedelta(hours=1))
    moved = Greeter.enqueue_once(schedule_at=clocked.now + timedelta(hours=2))
    (row,) = waiting_rows(runtime)
    assert moved.id == first.id == row.id and row.scheduled_at == clocked.now + timedelta(hours=2)


def test_enqueue_once_updates_a_different_interval(runtime):
    first = Greeter.enqueue_once(interval=60)
    changed = Greeter.enqueue_once(interval=1440)
    (row,) = waiting_rows(runtime)
    assert changed.id == first.id and row.interval == 1440


def test_moving_a_waiting_run_to_now_sends_it(runtime, clocked):
    first = Greeter.enqueue_once(schedule_at=clocked.now + timedelta(hours=1))
    assert sent_ids(runtime) == []
    Greeter.enqueue_once(schedule_at=clocked.now)
    assert sent_ids(runtime) == [first.id]


def test_enqueue_once_from_eight_threads_leaves_one_waiting_run(runtime, user):
    start = threading.Barrier(8)
    errors = []

    def hammer():
        start.wait()
        try:
            for _ in range(50):
                Greeter.enqueue_once(instance=user, interval=60)
        except Exception as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(waiting_rows(runtime, runner=RUNNER)) == 1


PROCESS_SCRIPT = """
import sys, uuid
from service import bootstrap
from service.config import load_settings
from service.models import User
from tests.helpers.sample_runners import Greeter

settings = load_settings({"database_url": sys.argv[1], "data_dir": sys.argv[2]}, environ={})
current = bootstrap.configure(settings)
with current.db.session() as session:
    user = session.get(User, uuid.UUID(sys.argv[3]))
print("ready", flush=True)
sys.stdin.readline()
for _ in range(50):
    Greeter.enqueue_once(instance=user, interval=60)
print("done", flush=True)
"""


def test_enqueue_once_from_two_processes_leaves_one_waiting_run(runtime, user, settings):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS_SCRIPT, settings.sqlalchemy_url, settings.data_dir, str(user.id)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "ready"
        for process in processes:  # both start together, once both are connected
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in processes:
            assert process.stdout.readline().strip() == "done"
            assert process.wait(timeout=60) == 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert len(waiting_rows(runtime, runner=RUNNER)) == 1


def test_get_jobs_returns_the_runners_runs_for_an_instance(runtime, user):
    mine = Greeter.enqueue(instance=user)
    Greeter.enqueue()
    assert [job.id for job in Greeter.get_jobs(instance=user)] == [mine.id]
    assert len(Greeter.get_jobs()) == 2


def test_the_runtime_installs_the_dispatcher(runtime):
    Greeter.enqueue()
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(JobResult)) == 1
