"""Scheduling through ``/run/`` and ``/api/extras/scheduled-jobs/``: approvals, denials, dry runs."""

from datetime import timedelta

import pytest

from service.models import utcnow
from tests.helpers.api import HELLO_VARIABLES
from tests.helpers.factories import make_job


@pytest.fixture
def requester(make_caller):
    return make_caller("run_job")


@pytest.fixture
def approver(make_caller):
    return make_caller("approve_job", "run_job")


@pytest.fixture
def gated(runtime):
    """A job that needs approval (so its input must not be sensitive)."""
    with runtime.db.session() as session:
        return make_job(session, "Hello", approval_required=True, supports_dryrun=True,
                        variables=HELLO_VARIABLES).id


def run(client, caller, job_id, body):
    return client.post(f"/api/extras/jobs/{job_id}/run/", json=body, headers=caller.headers)


def later(minutes=60):
    return (utcnow() + timedelta(minutes=minutes)).isoformat()


def test_a_run_with_a_schedule_answers_the_scheduled_job_and_no_result(client, requester, hello):
    response = run(
        client,
        requester,
        hello,
        {
            "data": {"who": "later"},
            "schedule": {"name": "tonight", "interval": "future", "start_time": later()},
        },
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["job_result"] is None
    scheduled = body["scheduled_job"]
    assert scheduled["name"] == "tonight" and scheduled["interval"] == "future"
    assert scheduled["kwargs"] == {"who": "later"} and scheduled["user"]["display"] == requester.username
    listed = client.get("/api/extras/scheduled-jobs/", headers=requester.headers).get_json()
    assert [item["id"] for item in listed["results"]] == [scheduled["id"]]


def test_nautobots_custom_interval_with_a_crontab_is_a_crontab_schedule(client, requester, hello):
    body = run(
        client,
        requester,
        hello,
        {"schedule": {"name": "nightly", "interval": "custom", "crontab": "0 2 * * *"}},
    ).get_json()
    assert body["scheduled_job"]["interval"] == "crontab" and body["scheduled_job"]["crontab"] == "0 2 * * *"


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({"name": "x", "interval": "future"}, "start_time"),
        ({"name": "", "interval": "daily", "start_time": "2030-01-01T00:00:00Z"}, "name"),
        ({"name": "x", "interval": "custom"}, "every_minutes"),
        (
            {
                "name": "x",
                "interval": "daily",
                "start_time": "2030-01-01T00:00:00",
                "time_zone": "Mars/Olympus",
            },
            "time_zone",
        ),
    ],
)
def test_a_bad_schedule_is_a_400_naming_the_field(client, requester, hello, schedule, field):
    response = run(client, requester, hello, {"schedule": schedule})
    assert response.status_code == 400 and field in response.get_json()


def test_a_job_with_sensitive_variables_cannot_be_scheduled(client, runtime, requester):
    with runtime.db.session() as session:
        job_id = make_job(session, has_sensitive_variables=True).id
    response = run(
        client, requester, job_id, {"schedule": {"name": "x", "interval": "daily", "start_time": later()}}
    )
    assert response.status_code == 400 and "job" in response.get_json()


def test_a_job_needing_approval_waits_and_another_user_approves_it_into_a_run(
    client, requester, approver, gated
):
    waiting = run(client, requester, gated, {"data": {"who": "boss"}}).get_json()
    assert waiting["job_result"] is None
    scheduled = waiting["scheduled_job"]
    assert scheduled["approval_state"] == "needs_approval" and scheduled["approval_required"] is True
    queue = client.get(
        "/api/extras/scheduled-jobs/?approval_state=needs_approval", headers=approver.headers
    ).get_json()
    assert queue["count"] == 1

    own = client.post(f"{scheduled['url']}approve/", headers=requester.headers)
    assert own.status_code == 403
    approved = client.post(f"{scheduled['url']}approve/", headers=approver.headers)
    assert approved.status_code == 200
    assert approved.get_json()["approved_by_user"]["display"] == approver.username
    runs = client.get(f"/api/extras/job-results/?job_model={gated}", headers=requester.headers).get_json()
    assert [result["task_kwargs"] for result in runs["results"]] == [{"who": "boss"}]
    again = client.post(f"{scheduled['url']}approve/", headers=approver.headers)
    assert again.status_code == 409


def test_a_denied_job_is_disabled_and_never_runs(client, requester, approver, gated):
    scheduled = run(client, requester, gated, {}).get_json()["scheduled_job"]
    denied = client.post(f"{scheduled['url']}deny/", headers=approver.headers).get_json()
    assert denied["approval_state"] == "denied" and denied["enabled"] is False
    runs = client.get(f"/api/extras/job-results/?job_model={gated}", headers=approver.headers).get_json()
    assert runs["count"] == 0


def test_a_dry_run_of_a_waiting_job_needs_no_approval(client, requester, gated):
    scheduled = run(client, requester, gated, {}).get_json()["scheduled_job"]
    response = client.post(f"{scheduled['url']}dry-run/", headers=requester.headers)
    assert response.status_code == 200 and response.get_json()["dryrun"] is True


def test_a_dry_run_request_of_a_job_needing_approval_runs_at_once(client, requester, gated):
    body = run(client, requester, gated, {"dryrun": True}).get_json()
    assert body["scheduled_job"] is None and body["job_result"]["dryrun"] is True


def test_a_scheduled_job_is_deleted(client, requester, hello):
    scheduled = run(
        client, requester, hello, {"schedule": {"name": "gone", "interval": "daily", "start_time": later()}}
    ).get_json()["scheduled_job"]
    assert client.delete(scheduled["url"], headers=requester.headers).status_code == 204
    assert client.get(scheduled["url"], headers=requester.headers).status_code == 404


def test_a_schedule_states_its_catch_up_policy_and_a_bad_one_is_a_400(client, requester, hello):
    body = run(client, requester, hello, {"schedule": {"name": "hourly skip", "interval": "hourly",
                                                       "start_time": later(), "catch_up": "skip"}}).get_json()
    assert body["scheduled_job"]["catch_up"] == "skip"
    default = run(client, requester, hello, {"schedule": {"name": "hourly", "interval": "hourly",
                                                          "start_time": later()}}).get_json()
    assert default["scheduled_job"]["catch_up"] == "once"
    bad = run(client, requester, hello, {"schedule": {"name": "x", "interval": "hourly",
                                                      "start_time": later(), "catch_up": "all"}})
    assert bad.status_code == 400 and "catch_up" in str(bad.get_json())
