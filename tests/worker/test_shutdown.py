"""A graceful stop: running jobs may finish within the grace; what is left is released honestly."""

import dramatiq
from sqlalchemy import select

from service import bootstrap
from service.models import JobLogEntry, JobResult, Status
from service.worker.live_runs import live_runs
from service.worker.shutdown import stop_worker
from tests.helpers.sample_runners import Dawdler
from tests.helpers.servers import wait_until

QUEUES = {"high", "default", "low"}


def status_of(runtime, run_id):
    with runtime.db.session() as session:
        return session.get(JobResult, run_id)


def started_worker(runtime, run_id):
    worker = dramatiq.Worker(runtime.broker, queues=QUEUES, worker_threads=1, worker_timeout=100)
    worker.start()
    wait_until(lambda: status_of(runtime, run_id).status == Status.STARTED and live_runs.get(run_id),
               timeout=30, message="the run to start")
    return worker


def test_a_job_that_finishes_within_the_grace_keeps_its_own_outcome(settings):
    runtime = bootstrap.configure(settings)
    run_id = Dawdler.enqueue(seconds=1).id
    worker = started_worker(runtime, run_id)
    assert stop_worker(runtime, worker, grace_seconds=60) == 0
    assert status_of(runtime, run_id).status == Status.SUCCESS


def test_a_job_still_running_when_the_grace_ends_fails_with_the_reason(settings):
    runtime = bootstrap.configure(settings)
    run_id = Dawdler.enqueue(seconds=3).id
    worker = started_worker(runtime, run_id)
    assert stop_worker(runtime, worker, grace_seconds=0.2) == 1
    result = status_of(runtime, run_id)
    assert result.status == Status.FAILURE and "shutdown_grace_seconds" in result.error
    with runtime.db.session() as session:
        logged = select(JobLogEntry.message).where(JobLogEntry.job_result_id == run_id)
        messages = session.scalars(logged).all()
    assert any("did not finish within 0.2 s" in message for message in messages)
    assert live_runs.get(run_id) is None  # nothing of it beats any more
    # The job's thread ends later, finds the run already ended and keeps that ending.
    wait_until(lambda: not any(thread.is_alive() for thread in worker.workers), timeout=30,
               message="the job's thread to end")
    assert status_of(runtime, run_id).status == Status.FAILURE
