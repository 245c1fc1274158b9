"""GET /metrics: what a known workload leaves in it matches the database; who may scrape it."""

import pytest
from sqlalchemy import func, select

from service.models import GitRepository, JobResult, Status, WebhookDelivery
from service.worker.engine import run_job_result
from tests.helpers.factories import make_job, make_result
from tests.helpers.git import head, make_remote
from tests.helpers.metrics import scrape
from tests.helpers.senders import GITHUB, SECRET
from tests.helpers.webhooks import SECRET_VARIABLE

RUNS, FAILURES = 4, 2


@pytest.fixture
def thread_runtime(settings):
    from service import bootstrap

    current = bootstrap.configure(settings.replace(isolation="thread"))
    yield current
    bootstrap.reset()


@pytest.fixture
def app(thread_runtime):
    from service.app import create_app

    return create_app(runtime=thread_runtime)


def run_jobs(runtime, class_name, count, **fields):
    with runtime.db.session() as session:
        job = make_job(session, class_name, **fields)
        ids = [make_result(session, job, input_data={"who": "x"} if class_name == "Hello" else {}).id
               for _ in range(count)]
        class_path = job.class_path
    for result_id in ids:
        run_job_result(runtime, str(result_id))
    return class_path


def push_and_sync(runtime, client, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    work, remote = make_remote(tmp_path, {"jobs/__init__.py": ""})
    with runtime.db.session() as session:
        session.add(GitRepository(name="Demo", slug="demo", remote_url=str(remote), branch="main",
                                  webhook_secret=f"env:{SECRET_VARIABLE}"))
    body = GITHUB.body(after=head(work))
    response = client.post("/webhooks/git/demo", data=body, headers=GITHUB.headers(body, delivery_id="d-1"))
    assert response.status_code == 202, response.json
    run_job_result(runtime, response.json["job_result_id"])


def test_the_scrape_after_a_known_workload_matches_the_database(
        thread_runtime, client, tmp_path, monkeypatch):
    before = scrape(client)
    hello = run_jobs(thread_runtime, "Hello", RUNS - FAILURES)
    raises = run_jobs(thread_runtime, "Raises", FAILURES)
    push_and_sync(thread_runtime, client, tmp_path, monkeypatch)
    after = scrape(client)

    def delta(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)

    with thread_runtime.db.session() as session:
        counts = select(JobResult.status, func.count()).group_by(JobResult.status)
        by_status = dict(session.execute(counts).all())
        accepted = session.scalar(select(func.count()).where(WebhookDelivery.outcome == "accepted"))
    assert by_status == {Status.SUCCESS: RUNS - FAILURES + 1, Status.FAILURE: FAILURES}  # + the sync
    for status, count in by_status.items():
        assert delta("jobsync_runs_finished_total", status=status) == count
    assert delta("jobsync_runs_started_total") == sum(by_status.values())
    assert delta("jobsync_runs_finished_total", job=hello, status=Status.SUCCESS) == RUNS - FAILURES
    assert delta("jobsync_runs_finished_total", job=raises, status=Status.FAILURE) == FAILURES
    assert delta("jobsync_run_duration_seconds_count", job=raises) == FAILURES
    assert delta("jobsync_run_start_latency_seconds_count", queue="default") == 1  # only the sync was sent
    assert delta("jobsync_webhook_deliveries_total", provider="github", outcome="accepted") == accepted == 1
    assert delta("jobsync_syncs_total", repository="demo", outcome="changed") == 1
    assert delta("jobsync_sync_duration_seconds_count", repository="demo") == 1
    assert delta("jobsync_sync_lag_seconds_count", repository="demo") == 1


def test_runs_of_a_job_no_longer_installed_are_labelled_other(thread_runtime, client):
    before = scrape(client).value("jobsync_runs_finished_total", job="other")
    run_jobs(thread_runtime, "Hello", 1, installed=False)
    assert scrape(client).value("jobsync_runs_finished_total", job="other") == before + 1


def test_queue_gauges_count_due_pending_runs_and_their_age(thread_runtime, client):
    with thread_runtime.db.session() as session:
        job = make_job(session)
        for _ in range(3):
            make_result(session, job, queue="low")
    metrics = scrape(client)
    assert metrics.value("jobsync_queue_depth", queue="low") == 3
    assert metrics.value("jobsync_queue_depth", queue="high") == 0
    assert metrics.value("jobsync_queue_oldest_pending_seconds", queue="low") >= 0
    assert metrics.value("jobsync_queue_workers", queue="low") == 0


def test_a_scraper_outside_the_allowed_networks_is_refused_without_the_token(
        thread_runtime, client, monkeypatch):
    monkeypatch.setenv("METRICS_TEST_TOKEN", "scrape-me")
    thread_runtime.settings = thread_runtime.settings.replace(metrics_token="env:METRICS_TEST_TOKEN")
    outside = {"REMOTE_ADDR": "10.9.8.7"}
    refused = client.get("/metrics", environ_base=outside)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "permission_denied"
    wrong = client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    allowed = client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer scrape-me"})
    assert allowed.status_code == 200 and b"jobsync_runs_started_total" in allowed.data
    assert client.get("/metrics").status_code == 200  # 127.0.0.1 is allowed by default


def test_the_scrape_still_answers_when_the_database_is_down(thread_runtime, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(thread_runtime.db, "session", down)
    metrics = scrape(client)  # 200, with every process metric
    assert not any(sample.name.startswith("jobsync_queue_") for sample in metrics.samples)
