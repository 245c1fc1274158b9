"""Extension queues are served and reported; a run on a queue nobody serves carries a warning."""

import os
import threading
import uuid

import pytest
from sqlalchemy import select

from service.bootstrap import configure
from service.config import BUILTIN_QUEUES
from service.infra.presence import live_workers, queue_warning
from service.models import Job, JobResult, Status
from service.runs.requests import enqueue_job
from service.users import create_token, create_user
from service.worker import actors
from tests.helpers.extensions import ACME, cli_environment, start_jobsync, stop
from tests.helpers.factories import make_user
from tests.helpers.servers import RedisServer, wait_until
from tests.helpers.ui import FAST_HASH, log_in, post

ALL_QUEUES = [*BUILTIN_QUEUES, "acme.reports"]
REPORT = "extensions/acme.jobs/InventoryReport"


@pytest.fixture
def embedded_worker(runtime):
    """Start a worker thread in this process on the queues asked for; stop it at the end."""
    stops = []

    def start(*queues: str):
        stop_event = threading.Event()
        thread = threading.Thread(target=actors.serve, args=(runtime, queues),
                                  kwargs={"threads": 1, "stop": stop_event}, daemon=True)
        thread.start()
        stops.append((stop_event, thread))
        wait_until(lambda: queue_warning(runtime, queues[0]) is None, message=f"a worker on {queues[0]}")
        return stop_event, thread

    yield start
    for stop_event, thread in stops:
        stop_event.set()
        thread.join(timeout=30)


@pytest.fixture
def run_caller(runtime):
    with runtime.db.session() as session:
        user = create_user(session, f"runner-{uuid.uuid4().hex[:6]}", permissions=["run_job"])
        _, key = create_token(session, user)
    return {"Authorization": f"Token {key}"}


def test_a_run_on_a_queue_no_worker_serves_is_queued_with_a_warning_naming_it(
        runtime, client, acme_jobs, run_caller, embedded_worker):
    url = f"/api/extras/jobs/{acme_jobs['InventoryReport']}/run/"
    response = client.post(url, headers=run_caller, json={"data": {"site": "ams"}})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["job_result"]["status"]["value"], body["job_result"]["queue"]) == ("PENDING", "acme.reports")
    assert "'acme.reports'" in body["warning"] and "No live worker" in body["warning"]

    embedded_worker("acme.reports")
    response = client.post(url, headers=run_caller, json={"data": {"site": "nyc"}})
    assert response.status_code == 201 and response.get_json()["warning"] is None


def test_the_ui_warns_when_a_run_waits_for_a_worker(runtime, app, acme_jobs):
    with runtime.db.session() as session:
        make_user(session, "carol", password_hash=FAST_HASH, permissions=["run_job"])
    browser = app.test_client()
    assert log_in(browser, "carol").status_code == 302
    job_page = browser.get(f"/jobs/{acme_jobs['InventoryReport']}/").get_data(as_text=True)
    assert "Live workers: acme.reports 0" in job_page
    response = post(browser, f"/jobs/{acme_jobs['InventoryReport']}/run", {"site": "ams"},
                    follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="flash flash-warning"' in page
    assert "No live worker serves queue &#39;acme.reports&#39;" in page
    assert 'class="queue-warning"' in page  # the result page says so while the run waits


def test_status_and_readyz_report_live_workers_per_queue(runtime, client, run_caller, embedded_worker):
    status = client.get("/api/status/", headers=run_caller).get_json()
    assert status["workers-running"] == 0 and status["workers"]["queues"]["acme.reports"] == 0
    assert status["queues"] == ALL_QUEUES and status["extensions"] == {"acme": "1.0.0"}

    workers = [embedded_worker("acme.reports", "default")]
    status = client.get("/api/status/", headers=run_caller).get_json()
    assert status["workers-running"] == 1
    assert status["workers"]["queues"] == {"high": 0, "default": 1, "low": 0, "acme.reports": 1}
    [process] = status["workers"]["processes"]
    assert (process["pid"], process["queues"]) == (os.getpid(), ["acme.reports", "default"])
    readyz = client.get("/readyz").get_json()
    assert readyz["workers"] == {"high": 0, "default": 1, "low": 0, "acme.reports": 1}

    stop_event, thread = workers[0]  # a worker that stops withdraws its presence at once
    stop_event.set()
    thread.join(timeout=30)
    assert live_workers(runtime) == [] and "'default'" in queue_warning(runtime, "default")


def test_worker_figures_are_unknown_rather_than_an_error_while_redis_is_down(settings, tmp_path):
    from service.app import create_app

    redis_server = RedisServer(tmp_path).start()
    try:
        runtime = configure(settings.replace(redis_url=redis_server.url))
        with runtime.db.session() as session:
            _, key = create_token(session, create_user(session, "watcher"))
        client = create_app(runtime=runtime).test_client()
        redis_server.stop()
        response = client.get("/api/status/", headers={"Authorization": f"Token {key}"})
        assert response.status_code == 200
        assert (response.get_json()["workers-running"], response.get_json()["workers"]) == (None, None)
        assert client.get("/readyz").get_json()["workers"] is None
        assert queue_warning(runtime, "default") is None  # unknown: never fails a run already queued
    finally:
        redis_server.stop()


@pytest.mark.redis
def test_worker_processes_serve_and_report_extension_queues(redis_settings, cli_env):
    runtime = configure(redis_settings.replace(heartbeat_seconds=0.2))
    env = cli_environment(cli_env, extensions=f"[{ACME}]", redis_url=redis_settings.redis_url,
                          heartbeat_seconds="0.2")
    only_acme = start_jobsync(env, "worker", "acme.reports", "--threads", "1")
    every_queue = start_jobsync(env, "worker", "--threads", "1")
    try:
        def presence():
            found = {record.pid: record.queues for record in live_workers(runtime)}
            return found if {only_acme.pid, every_queue.pid} <= set(found) else None

        queues = wait_until(presence, timeout=60, message="both workers' heartbeats")
        assert queues[only_acme.pid] == ("acme.reports",) and list(queues[every_queue.pid]) == ALL_QUEUES
        stop(every_queue)
        assert every_queue.pid not in {record.pid for record in live_workers(runtime)}
        assert queue_warning(runtime, "acme.reports") is None and "'high'" in queue_warning(runtime, "high")

        with runtime.db.session() as session:
            report = session.scalar(select(Job).where(Job.class_path == REPORT))
            report.enabled = True
            queues = runtime.settings.all_queues
            result_id = enqueue_job(session, report, {"site": "ams"}, known_queues=queues).id

        def finished():
            with runtime.db.session() as session:
                result = session.get(JobResult, result_id)
                return result if result.status in (Status.SUCCESS, Status.FAILURE) else None

        result = wait_until(finished, timeout=60, message="the run on acme.reports to finish")
        assert (result.status, result.queue, result.result) == (Status.SUCCESS, "acme.reports",
                                                                {"site": "ams", "items": 3}), result.error
        assert result.worker_id.split(":")[1] == str(only_acme.pid)
    finally:
        errors = stop(only_acme) + stop(every_queue)
    assert "Traceback" not in errors, errors
