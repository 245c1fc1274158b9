"""Recovery against real servers: a flushed Redis loses no work; a SIGKILLed worker's run ends
FAILURE "worker lost"."""

import os
import signal
import subprocess
import sys
from datetime import timedelta

import dramatiq
import pytest
import redis

from service import bootstrap
from service.models import JobResult, Status, utcnow
from service.runs.requests import enqueue_job
from service.scheduling.loop import Scheduler
from tests.helpers.factories import make_job
from tests.helpers.sample_runners import Dawdler, Greeter
from tests.helpers.servers import RedisServer, wait_until

QUEUES = ("high", "default", "low")


def status_of(current, result_id):
    with current.db.session() as session:
        return session.get(JobResult, result_id).status


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own, so FLUSHALL touches nobody else's data."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def test_runs_survive_a_flushed_redis_and_finish_once_the_scheduler_resends_them(settings, own_redis):
    current = bootstrap.configure(settings.replace(redis_url=own_redis.url))
    with current.db.session() as session:
        job_run = enqueue_job(session, make_job(session), known_queues=QUEUES).id
    runner_runs = [Greeter.enqueue(f"run {n}").id for n in range(3)]
    client = redis.Redis.from_url(own_redis.url)
    assert client.llen("jobsync:default") == 4
    client.flushall()
    client.close()
    worker = dramatiq.Worker(current.broker, queues=set(QUEUES), worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        later = Scheduler(current, clock=lambda: utcnow() + timedelta(seconds=31))
        assert later.tick() == 4
        for result_id in (job_run, *runner_runs):
            wait_until(
                lambda result_id=result_id: status_of(current, result_id) == Status.SUCCESS,
                timeout=60,
                message=f"run {result_id} to succeed after the flush",
            )
    finally:
        worker.stop()


def test_a_sigkilled_worker_process_leaves_a_run_that_becomes_failure_worker_lost(redis_settings):
    current = bootstrap.configure(redis_settings.replace(heartbeat_seconds=0.2, worker_lost_seconds=1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSYNC_")}
    env.update(
        JOBSYNC_DATABASE_URL=redis_settings.sqlalchemy_url,
        JOBSYNC_REDIS_URL=redis_settings.redis_url,
        JOBSYNC_DATA_DIR=redis_settings.data_dir,
        JOBSYNC_HEARTBEAT_SECONDS="0.2",
        PYTHONPATH=os.getcwd(),
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "worker", "default", "--threads", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        result_id = Dawdler.enqueue(seconds=120).id
        first = wait_until(
            lambda: (row := _row(current, result_id)).status == Status.STARTED and row,
            timeout=60,
            message="the run to start",
        )
        wait_until(
            lambda: _row(current, result_id).heartbeat > first.heartbeat,
            timeout=30,
            message="the worker's heartbeat",
        )
        assert Scheduler(current).tick() == 0  # a live worker's run is left alone
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        Scheduler(current, clock=lambda: utcnow() + timedelta(seconds=2)).tick()
        lost = _row(current, result_id)
        assert lost.status == Status.FAILURE and lost.error.startswith("Worker lost")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)


def _row(current, result_id) -> JobResult:
    with current.db.session() as session:
        return session.get(JobResult, result_id)
