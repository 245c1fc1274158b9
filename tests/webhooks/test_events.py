"""POST /webhooks/events: who may send, which hooks run, and what each event stores."""

import hashlib
import hmac
import json
import uuid

import pytest
from sqlalchemy import select

from service.models import JobHook, JobResult, ObjectChangeEvent, Status
from service.worker.engine import run_job_result
from tests.helpers.factories import make_job
from tests.helpers.payloads import changed, payload, payload_json
from tests.helpers.webhooks import EVENTS_SECRET, count

URL = "/webhooks/events"
RECEIVERS = "tests.helpers.receivers"


def netbox_signature(body: bytes, secret: str = EVENTS_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def send_signed(client, body: bytes, secret: str = EVENTS_SECRET):
    return client.post(
        URL,
        data=body,
        headers={"Content-Type": "application/json", "X-Hook-Signature": netbox_signature(body, secret)},
    )


def jobsync_event(action="update", object_type="dcim.device", *, request_id=None, user="alice", **fields):
    event = {
        "request_id": request_id or str(uuid.uuid4()),
        "action": action,
        "object_type": object_type,
        "object_id": "42",
        "object_repr": "edge-rtr-01",
        "user": user,
        "prechange": None if action == "create" else {"status": "planned"},
        "postchange": None if action == "delete" else {"status": "active"},
    }
    event.update(fields)
    return json.dumps(event).encode()


@pytest.fixture
def add_hook(runtime):
    """Create a hook (on a new EchoChange job unless one is given); return its id and its job's."""

    def add(name="hook", content_types=("dcim.device",), job=None, **fields):
        with runtime.db.session() as session:
            job = job or make_job(session, "EchoChange", module_name=RECEIVERS, is_job_hook_receiver=True)
            flags = {"type_create": True, "type_update": True, "type_delete": True, **fields}
            hook = JobHook(name=name, content_types=list(content_types), job=job, **flags)
            session.add(hook)
            session.flush()
            return hook.id, job.id

    return add


def runs(runtime) -> list[JobResult]:
    with runtime.db.session() as session:
        return list(session.scalars(select(JobResult).order_by(JobResult.created)))


def stored_events(runtime) -> list[ObjectChangeEvent]:
    with runtime.db.session() as session:
        return list(session.scalars(select(ObjectChangeEvent)))


def test_a_signed_netbox_4_event_runs_each_matching_hook_once(client, runtime, add_hook):
    first, _ = add_hook("first")
    second, _ = add_hook("second")
    add_hook("sites only", content_types=["dcim.site"])
    response = send_signed(client, payload("netbox4_device_updated"))
    assert response.status_code == 202, response.json
    assert response.json["outcome"] == "accepted" and len(response.json["job_results"]) == 2
    assert {entry["hook"] for entry in response.json["matched"]} == {str(first), str(second)}
    results = runs(runtime)
    assert {str(result.id) for result in results} == set(response.json["job_results"])
    assert {(result.status, result.object_type, result.object_id) for result in results} == {
        (Status.PENDING, "dcim.device", "42")
    }
    assert results[0].input_data["change"]["postchange"]["status"] == "active"


def test_a_hook_run_gets_the_change_action_and_changed_object(client, runtime, add_hook):
    add_hook()
    [result_id] = send_signed(client, payload("netbox4_device_updated")).json["job_results"]
    run_job_result(runtime, result_id)
    with runtime.db.session() as session:
        result = session.get(JobResult, uuid.UUID(result_id))
    assert result.status == Status.SUCCESS, result.error
    assert result.result["action"] == "update" and result.result["changed_object"]["status"] == "active"


def test_a_delete_hands_the_hook_no_changed_object(client, runtime, add_hook):
    add_hook()
    [result_id] = send_signed(client, payload("jobsync_device_deleted")).json["job_results"]
    run_job_result(runtime, result_id)
    with runtime.db.session() as session:
        assert session.get(JobResult, uuid.UUID(result_id)).result["changed_object"] is None


def test_a_nautobot_event_naming_only_its_model_matches_hooks_on_the_full_type(client, runtime, add_hook):
    add_hook("device hook", content_types=["dcim.device"])
    add_hook("interface hook", content_types=["dcim.interface"])
    data = payload_json("nautobot_device_updated")["data"]
    data.pop("object_type", None)  # as older Nautobot and NetBox 3 send it: the model name alone
    response = send_signed(client, changed("nautobot_device_updated", data=data))
    assert [entry["name"] for entry in response.json["matched"]] == ["device hook"]
    assert stored_events(runtime)[0].source == "nautobot"


def test_a_netbox_3_site_event_matches_a_hook_on_dcim_site(client, runtime, add_hook):
    add_hook("site hook", content_types=["dcim.site"])
    response = send_signed(client, payload("netbox3_site_created"))
    assert (response.status_code, len(response.json["job_results"])) == (202, 1)


def test_jobsync_form_sent_with_an_api_token_runs_hooks_as_that_user(client, runtime, add_hook, token_for):
    add_hook()
    key = token_for("netbox")
    response = client.post(URL, data=jobsync_event(), headers={"Authorization": f"Token {key}"})
    assert response.status_code == 202
    with runtime.db.session() as session:
        assert session.scalar(select(JobResult)).user.username == "netbox"
    assert stored_events(runtime)[0].sender == "netbox"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "signature_missing"),
        ({"X-Hook-Signature": "0" * 128}, 401, "signature_mismatch"),
        ({"Authorization": "Token not-a-real-key"}, 401, "not_authenticated"),
        ({"Authorization": "Bearer abc"}, 401, "not_authenticated"),
    ],
)
def test_events_without_valid_credentials_are_refused(client, runtime, add_hook, headers, status, code):
    add_hook()
    response = client.post(URL, data=jobsync_event(), headers=headers)
    assert (response.status_code, response.json["error"]["code"]) == (status, code)
    assert runs(runtime) == [] and stored_events(runtime) == []


def test_a_token_without_run_job_is_refused_with_403(client, runtime, token_for):
    key = token_for("viewer", permissions=())
    response = client.post(URL, data=jobsync_event(), headers={"Authorization": f"Token {key}"})
    assert (response.status_code, response.json["error"]["code"]) == (403, "permission_denied")


def test_a_wrong_signature_is_refused_even_beside_a_valid_token(client, runtime, token_for):
    body = jobsync_event()
    headers = {"Authorization": f"Token {token_for()}", "X-Hook-Signature": netbox_signature(body, "wrong")}
    assert client.post(URL, data=body, headers=headers).status_code == 401


def test_our_own_sha256_signature_is_accepted(client, runtime, add_hook):
    add_hook()
    body = jobsync_event()
    signature = "sha256=" + hmac.new(EVENTS_SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = client.post(URL, data=body, headers={"X-Jobsync-Signature": signature})
    assert response.status_code == 202
    assert stored_events(runtime)[0].sender == "signed with X-Jobsync-Signature"


def test_without_a_readable_events_secret_signatures_are_not_enough(client, runtime, add_hook, monkeypatch):
    monkeypatch.delenv("JOBSYNC_TEST_EVENTS_SECRET")
    response = send_signed(client, payload("netbox4_device_updated"))
    assert (response.status_code, response.json["error"]["code"]) == (401, "not_authenticated")


@pytest.mark.parametrize("action", ["create", "update", "delete"])
def test_only_hooks_whose_flag_covers_the_action_run(client, runtime, add_hook, action):
    for flag in ("type_create", "type_update", "type_delete"):
        add_hook(flag, **{name: name == flag for name in ("type_create", "type_update", "type_delete")})
    response = send_signed(client, jobsync_event(action))
    assert [entry["name"] for entry in response.json["matched"]] == [f"type_{action}"]


def test_hooks_on_other_content_types_do_not_run(client, runtime, add_hook):
    add_hook("circuits", content_types=["circuits.circuit", "ipam.prefix"])
    response = send_signed(client, jobsync_event())
    assert response.json["outcome"] == "ignored" and response.json["matched"] == []
    assert "No enabled job hook matches update of dcim.device" in response.json["reason"]
    assert count(runtime, JobResult) == 0


def test_a_disabled_hook_does_not_run(client, runtime, add_hook):
    add_hook(enabled=False)
    assert send_signed(client, jobsync_event()).json["matched"] == []


def test_a_repeated_event_runs_nothing_new(client, runtime, add_hook):
    add_hook()
    body = payload("netbox4_device_updated")
    first, again = send_signed(client, body), send_signed(client, body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json["outcome"] == "duplicate" and again.json["job_results"] == []
    assert count(runtime, JobResult) == 1 and count(runtime, ObjectChangeEvent) == 1


def test_the_same_request_on_another_object_is_a_new_event(client, runtime, add_hook):
    add_hook()
    request_id = str(uuid.uuid4())
    send_signed(client, jobsync_event(request_id=request_id))
    other = send_signed(client, jobsync_event(request_id=request_id, object_id="43"))
    assert other.json["outcome"] == "accepted" and count(runtime, JobResult) == 2


def test_events_without_a_request_id_are_deduplicated_by_their_content(client, runtime, add_hook):
    add_hook()
    body = jobsync_event(request_id=None)
    body = json.dumps({key: value for key, value in json.loads(body).items() if key != "request_id"}).encode()
    assert [send_signed(client, body).json["outcome"] for _ in range(2)] == ["accepted", "duplicate"]


def test_a_no_op_update_runs_only_hooks_that_ask_for_it(client, runtime, add_hook):
    add_hook("quiet")
    add_hook("eager", run_on_noop_update=True)
    same = {"status": "active", "last_updated": "2024-06-03T14:00:00Z"}
    body = jobsync_event(prechange=same, postchange={**same, "last_updated": "2024-06-03T15:00:00Z"})
    response = send_signed(client, body)
    matched = {entry["name"]: entry for entry in response.json["matched"]}
    assert "job_result" in matched["eager"]
    assert "no-op" in matched["quiet"]["skipped"] and "job_result" not in matched["quiet"]


def test_changes_made_by_the_hook_account_fire_no_hooks(client, runtime, add_hook):
    add_hook()
    response = send_signed(client, changed("netbox4_device_updated", username="jobsync"))
    assert (response.json["outcome"], response.json["job_results"]) == ("ignored", [])
    assert "hooks do not fire on their own changes" in stored_events(runtime)[0].reason


def test_changes_reported_by_a_hook_run_under_its_own_id_fire_no_hooks(client, runtime, add_hook):
    add_hook()
    [hook_run] = send_signed(client, jobsync_event()).json["job_results"]
    response = send_signed(client, jobsync_event(request_id=hook_run, object_id="99"))
    assert response.json["outcome"] == "ignored" and hook_run in response.json["reason"]
    assert count(runtime, JobResult) == 1


def test_a_request_id_of_a_run_that_is_not_a_hooks_still_fires_hooks(client, runtime, add_hook):
    add_hook()
    with runtime.db.session() as session:
        plain_run = JobResult(job=make_job(session), name="Hello", class_path="x", queue="default")
        session.add(plain_run)
        session.flush()
        plain_id = str(plain_run.id)
    assert send_signed(client, jobsync_event(request_id=plain_id)).json["outcome"] == "accepted"


@pytest.mark.parametrize(
    ("job_fields", "reason"),
    [
        ({"enabled": False}, "is disabled"),
        ({"installed": False}, "is not installed"),
        ({"is_job_hook_receiver": False}, "is not a job hook receiver"),
    ],
)
def test_hooks_whose_job_cannot_run_are_skipped_and_the_event_says_why(
    client, runtime, add_hook, job_fields, reason
):
    with runtime.db.session() as session:
        fields = {"is_job_hook_receiver": True, **job_fields}
        job = make_job(session, "EchoChange", module_name=RECEIVERS, **fields)
    add_hook("broken", job=job)
    add_hook("working")
    response = send_signed(client, jobsync_event())
    assert len(response.json["job_results"]) == 1
    [event] = stored_events(runtime)
    skipped = {entry["name"]: entry.get("skipped") for entry in event.matched}
    assert reason in skipped["broken"] and skipped["working"] is None


def test_two_hooks_on_one_singleton_job_start_one_run_per_event(client, runtime, add_hook):
    with runtime.db.session() as session:
        job = make_job(session, "EchoChange", module_name=RECEIVERS, is_job_hook_receiver=True,
                       is_singleton=True)
    add_hook("first", job=job)
    add_hook("second", job=job)
    response = send_signed(client, jobsync_event())
    assert len(response.json["job_results"]) == 1 and len(runs(runtime)) == 1
    [event] = stored_events(runtime)
    skipped = {entry["name"]: entry.get("skipped") for entry in event.matched}
    assert skipped["first"] is None and "is a singleton" in skipped["second"]


def test_an_event_stores_who_sent_it_what_matched_and_which_runs_started(client, runtime, add_hook):
    hook_id, _ = add_hook()
    response = send_signed(client, payload("netbox4_device_updated"))
    [event] = stored_events(runtime)
    assert (event.sender, event.source, event.user) == ("signed with X-Hook-Signature", "netbox", "jstretch")
    assert (event.action, event.object_type, event.object_id) == ("update", "dcim.device", "42")
    assert event.matched == [
        {"hook": str(hook_id), "name": "hook", "job_result": response.json["job_results"][0]}
    ]
    assert str(event.id) == response.json["event_id"]


def test_fan_out_writes_every_run_and_the_event_in_one_transaction(client, runtime, add_hook, monkeypatch):
    from service.triggers import hooks

    for index in range(3):
        add_hook(f"hook {index}")
    real_prepare, calls = hooks.prepare_run, []

    def fail_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("database went away")
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(hooks, "prepare_run", fail_on_the_third)
    assert send_signed(client, jobsync_event()).status_code == 500
    assert count(runtime, JobResult) == 0 and count(runtime, ObjectChangeEvent) == 0


def test_a_body_over_the_limit_answers_413(client, runtime):
    body = b" " * (runtime.settings.webhook_max_bytes + 1)
    assert send_signed(client, body).status_code == 413


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"[1, 2]", "body"),
        (jobsync_event(action="rename"), "action"),
        (changed("netbox4_device_updated", data=...), "data"),
        (jobsync_event(object_id="x" * 101), "object_id"),
    ],
)
def test_malformed_events_answer_400_naming_the_field(client, runtime, body, field):
    response = send_signed(client, body)
    assert response.status_code == 400 and field in response.json["error"]["fields"]


def test_change_events_and_the_hook_runs_they_start_are_counted(client, runtime, add_hook):
    from prometheus_client import REGISTRY

    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0

    events = value("jobsync_change_events_total", outcome="accepted")
    hook_runs = value("jobsync_hook_runs_total")
    add_hook("first")
    add_hook("second")
    assert send_signed(client, payload("netbox4_device_updated")).status_code == 202
    assert value("jobsync_change_events_total", outcome="accepted") == events + 1
    assert value("jobsync_hook_runs_total") == hook_runs + 2


def test_a_hook_whose_job_requires_approval_starts_no_run(client, runtime, add_hook):
    with runtime.db.session() as session:
        job = make_job(session, "EchoChange", module_name=RECEIVERS, is_job_hook_receiver=True,
                       approval_required=True, supports_dryrun=True)
    add_hook(job=job)
    body = send_signed(client, jobsync_event()).json
    assert [entry.get("job_result") for entry in body["matched"]] == [None]
    assert "requires approval" in body["matched"][0]["skipped"]
    assert runs(runtime) == []
