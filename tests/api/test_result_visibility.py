"""Object-level access to runs: own runs, others' runs without their input, view_all_results."""

import pytest

from service.models import JobOutputFile, JobResult, ObjectChangeEvent, Status, User
from tests.helpers.api import add_log
from tests.helpers.factories import make_job, make_result

RESULTS = "/api/extras/job-results/"


@pytest.fixture
def owner(make_caller):
    return make_caller("run_job")


@pytest.fixture
def runs(runtime, owner):
    """The owner's run (with input, a log line and a file) and a service runner's run."""
    with runtime.db.session() as session:
        job = make_job(session, "Hello")
        mine = make_result(session, job, user=session.get(User, owner.user_id), status=Status.PENDING,
                           input_data={"who": "secret-ish"})
        add_log(session, mine, "owner's line")
        session.add(JobOutputFile(job_result_id=mine.id, name="out.txt", content=b"x", size=1))
        runner = JobResult(name="Sync", class_path="sync:Sync", runner="sync:Sync", queue="default",
                           input_data={"args": ["repo-id"], "kwargs": {}})
        session.add(runner)
        session.flush()
        return {"mine": mine.id, "runner": runner.id}


def ids(client, caller, url=RESULTS):
    return {row["id"] for row in client.get(url, headers=caller.headers).get_json()["results"]}


def test_a_user_without_permissions_sees_only_their_own_runs(client, make_caller, runs):
    nobody = make_caller()
    assert ids(client, nobody) == set()
    for path in ("", "logs/", "files/out.txt/"):
        assert client.get(f"{RESULTS}{runs['mine']}/{path}", headers=nobody.headers).status_code == 404
    assert client.get("/api/extras/job-logs/", headers=nobody.headers).get_json()["count"] == 0


def test_the_owner_sees_their_run_with_its_input_logs_and_files(client, owner, runs):
    assert str(runs["mine"]) in ids(client, owner)
    shown = client.get(f"{RESULTS}{runs['mine']}/", headers=owner.headers).get_json()
    assert shown["task_kwargs"] == {"who": "secret-ish"}
    assert client.get(f"{RESULTS}{runs['mine']}/logs/", headers=owner.headers).get_json()[0]["message"]
    assert client.get(f"{RESULTS}{runs['mine']}/files/out.txt/", headers=owner.headers).data == b"x"


def test_another_run_job_user_sees_job_runs_without_their_input_and_no_runner_runs(client, make_caller, runs):
    colleague = make_caller("run_job")
    assert ids(client, colleague) == {str(runs["mine"])}
    shown = client.get(f"{RESULTS}{runs['mine']}/", headers=colleague.headers).get_json()
    assert shown["task_kwargs"] is None
    assert client.get(f"{RESULTS}{runs['runner']}/", headers=colleague.headers).status_code == 404


def test_view_all_results_sees_every_run_and_its_input(client, make_caller, runs):
    auditor = make_caller("view_all_results")
    assert ids(client, auditor) == {str(runs["mine"]), str(runs["runner"])}
    shown = client.get(f"{RESULTS}{runs['mine']}/", headers=auditor.headers).get_json()
    assert shown["task_kwargs"] == {"who": "secret-ish"}


def test_cancelling_another_users_run_needs_approve_job(client, runtime, make_caller, owner, runs):
    colleague = make_caller("run_job")
    response = client.post(f"{RESULTS}{runs['mine']}/cancel/", headers=colleague.headers)
    assert response.status_code == 403 and "approve_job" in response.get_json()["error"]["message"]
    with runtime.db.session() as session:
        assert session.get(JobResult, runs["mine"]).status == Status.PENDING
    approver = make_caller("run_job", "approve_job")
    assert client.post(f"{RESULTS}{runs['mine']}/cancel/", headers=approver.headers).status_code == 200


def test_the_owner_cancels_their_own_run(client, owner, runs):
    response = client.post(f"{RESULTS}{runs['mine']}/cancel/", headers=owner.headers)
    assert response.status_code == 200 and response.get_json()["status"]["value"] == "REVOKED"


def test_object_change_events_need_view_all_results(client, runtime, make_caller):
    with runtime.db.session() as session:
        session.add(ObjectChangeEvent(request_id="r1", action="update", object_type="dcim.device",
                                      object_id="1", postchange={"secret": "value"}, matched=[]))
    url = "/api/extras/object-change-events/"
    assert client.get(url, headers=make_caller("run_job").headers).status_code == 403
    assert client.get(url, headers=make_caller("view_all_results").headers).get_json()["count"] == 1
