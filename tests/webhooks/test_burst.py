"""A burst of pushes against a real git remote, real workers, a scheduler and Redis: at most two syncs."""

import functools
import threading
import time

import dramatiq
import pytest
from sqlalchemy import select

from service import bootstrap
from service.app import create_app
from service.models import GitRepository, JobResult, Status
from service.scheduling import recovery
from service.scheduling.loop import Scheduler
from tests.helpers.git import commit, git, make_remote, push
from tests.helpers.job_sources import SELF_REGISTERING
from tests.helpers.senders import GITHUB
from tests.helpers.servers import wait_until
from tests.helpers.webhooks import SYNC_RUNNER, deliveries, sync_results

PUSHES = 50
WINDOW = 10.0  # webhook_coalesce_seconds: wide enough for the burst on a slow, shared machine (load 20)


@pytest.fixture
def burst_runtime(redis_settings):
    current = bootstrap.configure(redis_settings.replace(webhook_coalesce_seconds=WINDOW))
    yield current
    bootstrap.reset()


@pytest.fixture
def workers(burst_runtime):
    """Two worker threads and a scheduler sending due runs, as in production."""
    worker = dramatiq.Worker(burst_runtime.broker, queues={"default"}, worker_threads=2, worker_timeout=100)
    worker.start()
    scheduler = Scheduler(burst_runtime, steps=[functools.partial(recovery.send_waiting_runs, burst_runtime)])
    stop = threading.Event()

    def tick_until_stopped():
        while not stop.wait(0.05):  # the scheduler's loop, without its system jobs
            scheduler.tick()

    ticking = threading.Thread(target=tick_until_stopped)
    ticking.start()
    yield
    stop.set()
    ticking.join(timeout=10)
    worker.stop()


def test_fifty_pushes_within_the_window_cause_at_most_two_syncs_ending_at_the_last_sha(
    burst_runtime, workers, webhook_secret, tmp_path
):
    work, remote = make_remote(tmp_path / "git", SELF_REGISTERING)
    shas = [commit(work, f"push {index}") for index in range(PUSHES)]
    push(work, "main")  # the remote has every commit; each delivery below moves its branch one step
    with burst_runtime.db.session() as session:
        session.add(
            GitRepository(name="Demo", slug="demo", remote_url=str(remote), webhook_secret=webhook_secret)
        )
    client = create_app(runtime=burst_runtime).test_client()

    started = time.monotonic()
    for sha in shas:
        git(remote, "update-ref", "refs/heads/main", sha)
        body = GITHUB.body(after=sha)
        response = client.post("/webhooks/git/demo", data=body, headers=GITHUB.headers(body))
        assert response.status_code == 202, response.json
    assert time.monotonic() - started < WINDOW, "the burst outlasted the window it is meant to fit in"

    def settled():
        with burst_runtime.db.session() as session:
            head = session.scalar(select(GitRepository.current_head))
            busy = session.scalar(
                select(JobResult.id).where(
                    JobResult.runner == SYNC_RUNNER, JobResult.status.in_(Status.WAITING + Status.RUNNING)
                )
            )
        return head == shas[-1] and busy is None

    wait_until(settled, timeout=60, message="the repository to reach the last pushed sha")
    syncs = sync_results(burst_runtime)
    assert 1 <= len(syncs) <= 2, [(sync.status, sync.started) for sync in syncs]
    assert all(sync.status == Status.SUCCESS for sync in syncs), [sync.error for sync in syncs]
    records = deliveries(burst_runtime)
    assert [record.outcome for record in records] == ["accepted"] * PUSHES
    assert {record.sync_result_id for record in records} == {sync.id for sync in syncs}
