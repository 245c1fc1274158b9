"""Riding out outages against real servers this module owns: PostgreSQL restarted under a running
job, Redis killed under run requests, and the whole fault scenario (tests/helpers/faults.py)."""

from __future__ import annotations

import os
import signal
import uuid

import dramatiq
import pytest
from sqlalchemy import select

from service import bootstrap
from service.config import load_settings
from service.models import Job, JobLogEntry, JobResult, Status
from service.runs.requests import enqueue_job
from service.scheduling.loop import Scheduler
from service.users import create_token, create_user
from service.worker.engine import record_outcome
from service.worker.live_runs import live_runs
from service.worker.outcome import committer_for
from tests.helpers.factories import TEST_SECRET_KEY
from tests.helpers.faults import NAP_VARIABLES, Scenario
from tests.helpers.finishing import finishing, hold_row, started_runs
from tests.helpers.servers import PostgresServer, RedisServer, wait_until

QUEUES = ("high", "default", "low")


@pytest.fixture(scope="module")
def servers():
    """A PostgreSQL cluster and a Redis server of this module's own: the tests stop and start them."""
    pg = PostgresServer.temporary().init()
    redis_server = RedisServer(pg.directory.parent).start()
    try:
        yield pg, redis_server
    finally:
        redis_server.stop()
        pg.remove()


@pytest.fixture
def current(servers, tmp_path):
    pg, redis_server = servers
    if redis_server.process is None:
        redis_server.start()
    settings = load_settings({"database_url": pg.url, "redis_url": redis_server.url,
                              "data_dir": str(tmp_path), "secret_key": TEST_SECRET_KEY,
                              "heartbeat_seconds": "0.2", "resend_pending_after_seconds": "2",
                              "outage_retry_after_seconds": "7"}, environ={})
    runtime = bootstrap.configure(settings)
    runtime.db.upgrade()
    yield runtime
    bootstrap.reset()


def nap_job(runtime) -> uuid.UUID:
    with runtime.db.session() as session:
        job = Job(source="system", module_name="tests.helpers.sample_jobs", job_class_name="Nap",
                  class_path=f"system/tests.helpers.sample_jobs/Nap-{uuid.uuid4().hex[:8]}", name="Nap",
                  enabled=True, installed=True, has_sensitive_variables=False, variables=NAP_VARIABLES)
        session.add(job)
        session.flush()
        return job.id


def request_nap(runtime, milliseconds: int) -> uuid.UUID:
    job_id = nap_job(runtime)
    with runtime.db.session() as session:
        return enqueue_job(session, session.get(Job, job_id), {"milliseconds": milliseconds},
                           known_queues=QUEUES).id


def row(runtime, run_id):
    with runtime.db.session() as session:
        return session.get(JobResult, run_id)


def try_status(runtime, run_id):
    try:
        return row(runtime, run_id).status
    except Exception:  # the database is still down
        return None


def logged(runtime, run_id) -> list[str]:
    with runtime.db.session() as session:
        return session.scalars(select(JobLogEntry.message).where(JobLogEntry.job_result_id == run_id)).all()


@pytest.fixture
def worker(current):
    worker = dramatiq.Worker(current.broker, queues=set(QUEUES), worker_threads=2, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop(timeout=30_000)


def stop_postgres_while_it_runs(current, servers, run_id, *, until_given_up: bool = False) -> None:
    """Stop PostgreSQL once the run started; start it again once the job ended and its outcome met
    the outage (or, ``until_given_up``, once the worker gave the run up past the grace)."""
    pg, _ = servers
    wait_until(lambda: row(current, run_id).status == Status.STARTED and live_runs.get(run_id) is not None,
               timeout=60, message="the run to start")
    outcomes = committer_for(current.db)
    tried = outcomes.batches
    pg.stop()
    if until_given_up:
        wait_until(lambda: live_runs.get(run_id) is None, timeout=60,
                   message="the worker to give the run up past the grace")
    else:
        wait_until(lambda: outcomes.batches > tried, timeout=60,
                   message="the job to end and its outcome to meet the outage")
    pg.start()


def test_a_job_that_ends_while_postgresql_is_down_keeps_its_real_outcome_and_logs(current, servers, worker):
    run_id = request_nap(current, 500)
    stop_postgres_while_it_runs(current, servers, run_id)
    wait_until(lambda: try_status(current, run_id) in Status.FINAL, timeout=60, message="the run to end")
    result = row(current, run_id)
    assert (result.status, result.result, result.error) == (Status.SUCCESS, "rested", None)
    assert "executing" in logged(current, run_id)


def test_past_the_grace_a_run_ends_failure_with_an_honest_reason_once_the_database_is_back(
        current, servers, worker):
    current.settings = current.settings.replace(db_outage_grace_seconds=1)
    run_id = request_nap(current, 300)
    stop_postgres_while_it_runs(current, servers, run_id, until_given_up=True)
    wait_until(lambda: try_status(current, run_id) in Status.FINAL, timeout=60, message="the run to end")
    result = row(current, run_id)
    assert result.status == Status.FAILURE
    assert "ended SUCCESS but its outcome could not be recorded" in result.error
    assert "db_outage_grace_seconds" in result.error
    assert "executing" in logged(current, run_id)  # the job's own lines were kept


def test_a_batch_of_outcomes_cut_by_an_outage_is_retried_and_keeps_every_outcome(current, servers):
    pg, _ = servers
    leader, *followers = started_runs(current.db, 5)
    committer, errors = committer_for(current.db), {}

    def record(run_id, outcome, recorder):
        record_outcome(current, run_id, outcome, recorder, periodic=False, keyed=False)

    connection = current.db.engine.connect()
    hold_row(connection, leader)
    threads = [finishing(current.db, leader, "led", errors, record)]
    wait_until(lambda: committer.busy, message="the leader to be committing")
    threads += [finishing(current.db, run_id, "followed", errors, record) for run_id in followers]
    wait_until(lambda: committer.waiting == len(followers), message="the others to queue behind it")
    tried = committer.batches
    pg.stop()  # the lock holder's connection and the batch under way go down with the server
    wait_until(lambda: committer.batches > tried, timeout=60, message="the batch under way to fail")
    pg.start()
    connection.invalidate()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == {} and committer.writes > 1 + len(followers)  # some were tried again
    for run_id in [leader, *followers]:
        result = row(current, run_id)
        assert (result.status, result.result) == (Status.SUCCESS, "led" if run_id == leader else "followed")
        assert logged(current, run_id) == [f"line of {run_id}"]


def api_caller(runtime) -> str:
    with runtime.db.session() as session:
        user = create_user(session, f"client-{uuid.uuid4().hex[:6]}", permissions=["run_job"])
        _, key = create_token(session, user, write_enabled=True)
        return key


def test_the_api_answers_503_with_retry_after_while_postgresql_is_down(current, servers):
    from service.app import create_app

    pg, _ = servers
    job_id, token = nap_job(current), api_caller(current)
    client = create_app(runtime=current).test_client()
    headers = {"Authorization": f"Token {token}"}
    # a pooled connection first, which the stop makes stale
    assert client.get(f"/api/extras/jobs/{job_id}/", headers=headers).status_code == 200
    pg.stop()
    try:
        for _ in range(3):  # a stale pooled connection, then refused connections: all 503
            response = client.post(f"/api/extras/jobs/{job_id}/run/", headers=headers, json={})
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "7"
            assert response.get_json()["error"]["code"] == "database_unavailable"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["down"] == ["database"]
    finally:
        pg.start()
    assert client.post(f"/api/extras/jobs/{job_id}/run/", headers=headers, json={}).status_code == 201


def test_with_redis_down_a_run_request_is_accepted_and_runs_once_redis_is_back(current, servers, worker):
    from service.app import create_app

    _, redis_server = servers
    job_id, token = nap_job(current), api_caller(current)
    client = create_app(runtime=current).test_client()
    os.kill(redis_server.process.pid, signal.SIGKILL)
    redis_server.process.wait(timeout=10)
    redis_server.process = None
    try:
        response = client.post(f"/api/extras/jobs/{job_id}/run/", json={"data": {"milliseconds": 10}},
                               headers={"Authorization": f"Token {token}", "Idempotency-Key": "once"})
        assert response.status_code == 201
        assert response.get_json()["job_result"]["status"]["value"] == "PENDING"
        ready = client.get("/readyz").get_json()
        assert ready["down"] == ["redis"]
    finally:
        redis_server.start()
    run_id = uuid.UUID(response.get_json()["job_result"]["id"])
    assert row(current, run_id).enqueued is None  # marked unsent: the next tick re-sends it
    assert Scheduler(current).tick() >= 1
    wait_until(lambda: row(current, run_id).status in Status.FINAL, timeout=60, message="the run to end")
    assert row(current, run_id).status == Status.SUCCESS


@pytest.mark.timeout(600)  # four faults, each settled in turn: about two minutes on two busy cores
def test_the_fault_scenario_loses_duplicates_strands_and_fails_nothing():
    """PostgreSQL restart, Redis kill and restart, a SIGKILLed and a SIGTERMed worker, all under a
    stream of API run requests (bench/faults.py prints the same figures)."""
    with Scenario() as scenario:
        report = scenario.run_all()
    text = "\n".join(report.lines())
    assert report.accepted > 0, text
    assert report.lost == 0 and report.stuck == 0 and report.duplicated == 0, text
    assert report.responses_500 == 0, text + "\n" + "\n".join(report.errors)
    assert report.failed_unexpected == [], text + "\n" + "\n".join(report.failed_unexpected[:5])
    assert report.refused_but_created == 0 and report.unaccepted_rows == 0, text
    assert report.succeeded + report.failed_expected == report.accepted, text
