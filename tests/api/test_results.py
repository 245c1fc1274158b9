"""``/api/extras/job-results/`` and ``/api/extras/job-logs/``: filters, logs, cancel, files."""

import uuid

import pytest

from service.models import JobEnvironment, JobOutputFile, JobResult, Status, User
from tests.helpers.api import add_log
from tests.helpers.factories import make_job, make_result


@pytest.fixture
def reader(make_caller):
    """May read every run (view_all_results), and holds no other permission."""
    return make_caller("view_all_results")


@pytest.fixture
def history(runtime, reader):
    """Two jobs; three runs (one per status) by two users; logs at two levels."""
    with runtime.db.session() as session:
        greet, other = make_job(session, "Hello", name="Greet"), make_job(session, "Hello", name="Other")
        someone = session.get(User, reader.user_id)
        done = make_result(session, greet, status=Status.SUCCESS, user=someone)
        failed = make_result(session, greet, status=Status.FAILURE)
        waiting = make_result(session, other, status=Status.PENDING)
        add_log(session, done, "all fine")
        add_log(session, done, "but odd", level="warning")
        add_log(session, failed, "broke", level="failure")
        session.add(JobOutputFile(job_result_id=done.id, name="report one.csv", content=b"a,b\n", size=4))
        return {"greet": greet.id, "done": done.id, "failed": failed.id, "waiting": waiting.id}


def result_ids(client, caller, query):
    page = client.get(f"/api/extras/job-results/?{query}", headers=caller.headers).get_json()
    return {uuid.UUID(item["id"]) for item in page["results"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("job_model=Greet", {"done", "failed"}),
        ("job_model={greet}", {"done", "failed"}),
        ("job_model_id={greet}", {"done", "failed"}),
        ("status=SUCCESS&status=PENDING", {"done", "waiting"}),
        ("user={username}", {"done"}),
        ("", {"done", "failed", "waiting"}),
    ],
)
def test_results_are_filtered_by_job_status_and_user(client, reader, history, query, expected):
    query = query.format(greet=history["greet"], username=reader.username)
    assert result_ids(client, reader, query) == {history[name] for name in expected}


def test_an_unknown_status_filter_is_a_400_naming_status(client, reader):
    response = client.get("/api/extras/job-results/?status=DONE", headers=reader.headers)
    assert response.status_code == 400 and "status" in response.get_json()


def test_a_result_shows_its_files_with_download_links(client, reader, history):
    result = client.get(f"/api/extras/job-results/{history['done']}/", headers=reader.headers).get_json()
    assert result["status"]["value"] == "SUCCESS" and result["job_model"]["display"] == "Greet"
    [output] = result["files"]
    assert output["name"] == "report one.csv" and output["size"] == 4
    download = client.get(output["url"], headers=reader.headers)
    assert download.status_code == 200 and download.data == b"a,b\n"
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert "attachment" in download.headers["Content-Disposition"]


def test_a_missing_file_or_result_is_a_404(client, reader, history):
    assert (
        client.get(
            f"/api/extras/job-results/{history['done']}/files/nope.txt/", headers=reader.headers
        ).status_code
        == 404
    )
    assert client.get(f"/api/extras/job-results/{uuid.uuid4()}/", headers=reader.headers).status_code == 404


def test_a_results_logs_are_a_plain_list_oldest_first(client, reader, history):
    logs = client.get(f"/api/extras/job-results/{history['done']}/logs/", headers=reader.headers).get_json()
    assert [entry["message"] for entry in logs] == ["all fine", "but odd"]
    assert logs[1]["log_level"] == "warning" and logs[1]["object_type"] == "extras.joblogentry"
    assert logs[0]["job_result"]["id"] == str(history["done"])


@pytest.mark.parametrize(
    ("query", "messages"),
    [
        ("job_result={done}", ["all fine", "but odd"]),
        ("log_level=failure", ["broke"]),
        ("log_level=warning&log_level=failure", ["but odd", "broke"]),
        ("q=FINE", ["all fine"]),
    ],
)
def test_job_logs_are_filtered_by_result_and_level(client, reader, history, query, messages):
    page = client.get(
        f"/api/extras/job-logs/?{query.format(done=history['done'])}", headers=reader.headers
    ).get_json()
    assert [entry["message"] for entry in page["results"]] == messages


def test_an_unknown_log_level_is_a_400_naming_it(client, reader):
    response = client.get("/api/extras/job-logs/?log_level=loud", headers=reader.headers)
    assert response.status_code == 400 and "log_level" in response.get_json()


def test_cancelling_a_waiting_run_revokes_it(client, runtime, make_caller, history):
    runner = make_caller("run_job", "approve_job")
    response = client.post(f"/api/extras/job-results/{history['waiting']}/cancel/", headers=runner.headers)
    assert response.status_code == 200 and response.get_json()["status"]["value"] == "REVOKED"
    with runtime.db.session() as session:
        assert session.get(JobResult, history["waiting"]).status == Status.REVOKED


def test_cancelling_a_finished_run_is_a_409(client, make_caller, history):
    runner = make_caller("run_job", "approve_job")
    response = client.post(f"/api/extras/job-results/{history['done']}/cancel/", headers=runner.headers)
    assert response.status_code == 409


def test_results_are_filtered_by_a_creation_date_range(client, reader, runtime):
    from datetime import datetime, timedelta

    from service.models import utcnow

    now = utcnow()
    with runtime.db.session() as session:
        job = make_job(session)
        age = {days: make_result(session, job, created=now - timedelta(days=days)).id
               for days in (1, 10, 100)}
    since = (now - timedelta(days=30)).isoformat().replace("+", "%2B")
    until = (now - timedelta(days=5)).isoformat().replace("+", "%2B")
    assert result_ids(client, reader, f"date_created__gte={since}") == {age[1], age[10]}
    assert result_ids(client, reader, f"date_created__lte={until}") == {age[10], age[100]}
    naive = datetime.now().replace(microsecond=0).isoformat()  # no zone: read as UTC, still accepted
    answer = client.get(f"/api/extras/job-results/?date_created__lte={naive}", headers=reader.headers)
    assert answer.status_code == 200
    bad = client.get("/api/extras/job-results/?date_created__gte=yesterday", headers=reader.headers)
    assert bad.status_code == 400 and "date_created__gte" in bad.get_json()


def test_next_follows_the_rows_even_when_the_count_is_an_estimate(client, reader, runtime, monkeypatch):
    from service.infra import pages

    with runtime.db.session() as session:
        job = make_job(session)
        for _ in range(4):
            make_result(session, job)
    monkeypatch.setattr(pages, "EXACT_COUNT_LIMIT", 1)
    monkeypatch.setattr(pages, "_planner_estimate", lambda session, statement: 1)
    first = client.get("/api/extras/job-results/?limit=2", headers=reader.headers).get_json()
    assert first["next"] and len(first["results"]) == 2 and first["count"] >= 3


def test_a_result_shows_the_dependency_environment_it_ran_with(client, reader, runtime):
    with runtime.db.session() as session:
        session.add(JobEnvironment(key="ab" * 16, requirements="greeting==1.0\n",
                                   packages={"greeting": "1.0"}, platform="cpython-3.11-linux-x86_64"))
        job = make_job(session, "Hello", environment_key="ab" * 16)
        pinned = make_result(session, job, status=Status.SUCCESS, environment_key="ab" * 16)
        plain = make_result(session, job, status=Status.SUCCESS)
    shown = client.get(f"/api/extras/job-results/{pinned.id}/", headers=reader.headers).get_json()
    assert shown["environment"] == {"key": "ab" * 16, "packages": {"greeting": "1.0"}}
    assert client.get(f"/api/extras/job-results/{plain.id}/", headers=reader.headers).get_json()[
        "environment"] is None
    job_shown = client.get(f"/api/extras/jobs/{job.id}/", headers=reader.headers).get_json()
    assert job_shown["environment_key"] == "ab" * 16


def test_a_results_logs_page_with_limit_and_offset(client, reader, history):
    url = f"/api/extras/job-results/{history['done']}/logs/"
    first = client.get(f"{url}?limit=1", headers=reader.headers).get_json()
    assert first["count"] == 2 and [entry["message"] for entry in first["results"]] == ["all fine"]
    second = client.get(first["next"], headers=reader.headers).get_json()
    assert [entry["message"] for entry in second["results"]] == ["but odd"] and second["next"] is None
