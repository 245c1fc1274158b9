"""Real Dramatiq workers on the real Redis broker."""

import os
import subprocess
import sys

import dramatiq
import pytest
from sqlalchemy import select

from service.models import JobLogEntry, JobResult, Status
from service.runs.requests import enqueue_job, request_cancel
from tests.helpers.factories import make_job
from tests.helpers.servers import wait_until

QUEUES = ("high", "default", "low")


@pytest.fixture
def start_worker(redis_runtime):
    workers = []

    def start(threads=1, queues=QUEUES):
        worker = dramatiq.Worker(redis_runtime.broker, queues=set(queues), worker_threads=threads,
                                 worker_timeout=100)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def status_of(runtime, result_id):
    with runtime.db.session() as session:
        return session.get(JobResult, result_id).status


def test_a_queued_run_reaches_success_on_a_worker(redis_runtime, start_worker):
    start_worker()
    with redis_runtime.db.session() as session:
        result_id = enqueue_job(session, make_job(session), known_queues=QUEUES).id
    wait_until(lambda: status_of(redis_runtime, result_id) == Status.SUCCESS, timeout=30, message="SUCCESS")


def test_sensitive_input_stays_out_of_the_database_and_the_message(redis_runtime, start_worker):
    with redis_runtime.db.session() as session:
        job = make_job(session, "Secretive", has_sensitive_variables=True, variables=[
            {"name": "password", "type": "StringVar", "required": True, "default": None}])
        result_id = enqueue_job(session, job, {"password": "hunter2"}, known_queues=QUEUES).id
    queued = redis_runtime.broker.client.hgetall("jobsync:default.msgs")
    assert queued and not any(b"hunter2" in message for message in queued.values())
    start_worker()
    wait_until(lambda: status_of(redis_runtime, result_id) == Status.SUCCESS, timeout=30, message="SUCCESS")
    with redis_runtime.db.session() as session:
        result = session.get(JobResult, result_id)
        assert result.result == 7 and result.input_data is None


def test_a_message_delivered_twice_runs_once(redis_runtime, start_worker):
    with redis_runtime.db.session() as session:
        result_id = enqueue_job(session, make_job(session), known_queues=QUEUES).id
    redis_runtime.actors["default"].send(str(result_id))  # a duplicate delivery
    start_worker(threads=2)
    wait_until(lambda: status_of(redis_runtime, result_id) == Status.SUCCESS, timeout=30, message="SUCCESS")
    wait_until(lambda: redis_runtime.broker.client.llen("jobsync:default") == 0, message="queue drained")
    with redis_runtime.db.session() as session:
        logs = session.scalars(select(JobLogEntry).where(JobLogEntry.job_result_id == result_id)).all()
        assert len(logs) == 1 and session.get(JobResult, result_id).attempts == 1


def test_a_one_thread_worker_starts_every_high_job_before_further_low_ones(redis_runtime, start_worker):
    with redis_runtime.db.session() as session:
        low_job, high_job = make_job(session, task_queues=["low"]), make_job(session, task_queues=["high"])
    start_worker(threads=1)
    with redis_runtime.db.session() as session:
        low_ids = [enqueue_job(session, low_job, known_queues=QUEUES).id for _ in range(200)]
    # Let the worker get going on the low queue, then put the high jobs behind 200 low ones.
    wait_until(lambda: status_of(redis_runtime, low_ids[3]) == Status.SUCCESS, timeout=30, message="lows")
    with redis_runtime.db.session() as session:
        high_ids = [enqueue_job(session, high_job, known_queues=QUEUES).id for _ in range(20)]
    wait_until(lambda: all(status_of(redis_runtime, i) == Status.SUCCESS for i in high_ids), timeout=60,
               message="every high job done")
    with redis_runtime.db.session() as session:
        started = {r.id: r.started for r in session.scalars(select(JobResult))}
    first_high, last_high = min(started[i] for i in high_ids), max(started[i] for i in high_ids)
    lows_started_meanwhile = [i for i in low_ids if started[i] and first_high < started[i] < last_high]
    lows_not_started = [i for i in low_ids if started[i] is None or started[i] > last_high]
    # The high consumer keeps several high jobs fetched ahead (MIN_PREFETCH), so the thread always
    # has one to take; allow 2 lows for a consumer that falls behind, and most of the 200 low jobs
    # are still waiting when the last high one starts.
    assert len(lows_started_meanwhile) <= 2, lows_started_meanwhile
    assert len(lows_not_started) > 100


def test_cancelling_a_running_job_terminates_its_process(redis_runtime, start_worker):
    start_worker()
    with redis_runtime.db.session() as session:
        job = make_job(session, "Sleeper", time_limit=None, variables=[
            {"name": "seconds", "type": "IntegerVar", "required": False, "default": 60}])
        result_id = enqueue_job(session, job, {"seconds": 60}, known_queues=QUEUES).id
    wait_until(lambda: status_of(redis_runtime, result_id) == Status.STARTED, timeout=30, message="STARTED")
    with redis_runtime.db.session() as session:
        request_cancel(session, result_id)
    wait_until(lambda: status_of(redis_runtime, result_id) == Status.REVOKED, timeout=30, message="REVOKED")


def test_cancelling_a_pending_run_means_it_never_starts(redis_runtime, start_worker):
    with redis_runtime.db.session() as session:
        result_id = enqueue_job(session, make_job(session), known_queues=QUEUES).id
        request_cancel(session, result_id)
    start_worker()
    wait_until(lambda: redis_runtime.broker.client.llen("jobsync:default") == 0, message="message consumed")
    with redis_runtime.db.session() as session:
        result = session.get(JobResult, result_id)
        assert result.status == Status.REVOKED and result.started is None


def test_jobsync_worker_process_runs_queued_jobs(redis_runtime, redis_settings):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSYNC_")}
    env.update(JOBSYNC_DATABASE_URL=redis_settings.sqlalchemy_url, JOBSYNC_REDIS_URL=redis_settings.redis_url,
               JOBSYNC_DATA_DIR=redis_settings.data_dir, PYTHONPATH=os.getcwd())
    process = subprocess.Popen([sys.executable, "-m", "service.cli", "worker", "default", "--threads", "1"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with redis_runtime.db.session() as session:
            result_id = enqueue_job(session, make_job(session), known_queues=QUEUES).id
        wait_until(lambda: status_of(redis_runtime, result_id) == Status.SUCCESS, timeout=60,
                   message="SUCCESS from the worker process")
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode in (0, -15)


def test_unknown_queue_names_are_refused_by_jobsync_worker(cli_env):
    result = subprocess.run([sys.executable, "-m", "service.cli", "worker", "nope"], env=cli_env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "nope" in result.stderr


