"""Job buttons: POST /api/extras/job-buttons/<id>/run/ and listing a content type's buttons."""

import uuid

import pytest

from service.models import JobButton, JobResult, Status
from service.worker.engine import run_job_result
from tests.helpers.factories import make_job
from tests.helpers.webhooks import count

RECEIVERS = "tests.helpers.receivers"
DEVICE = {"name": "edge-rtr-01", "serial": "JN1234ABCD"}


@pytest.fixture
def add_button(runtime):
    """Create a button (on a new, enabled EchoObject job unless told otherwise); return its id."""

    def add(name="describe", content_types=("dcim.device",), job_fields=None, **fields):
        with runtime.db.session() as session:
            job = make_job(
                session,
                "EchoObject",
                module_name=RECEIVERS,
                **{"is_job_button_receiver": True, **(job_fields or {})},
            )
            button = JobButton(
                name=name, content_types=list(content_types), job=job, text=name.title(), **fields
            )
            session.add(button)
            session.flush()
            return button.id

    return add


@pytest.fixture
def auth(token_for):
    return {"Authorization": f"Token {token_for('operator', permissions=('run_job',))}"}


def press(client, button_id, auth, object_type="dcim.device", object_id=42, data=DEVICE):
    body = {"object_type": object_type, "object_id": object_id, "object": data}
    return client.post(f"/api/extras/job-buttons/{button_id}/run/", json=body, headers=auth)


def test_pressing_a_button_runs_receive_job_button_with_the_object(client, runtime, add_button, auth):
    response = press(client, add_button(), auth)
    assert response.status_code == 201, response.json
    result_id = uuid.UUID(response.json["job_result"]["id"])
    with runtime.db.session() as session:
        result = session.get(JobResult, result_id)
        assert (result.status, result.object_type, result.object_id) == (Status.PENDING, "dcim.device", "42")
        assert result.user.username == "operator"
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        result = session.get(JobResult, result_id)
    assert result.status == Status.SUCCESS, result.error
    assert result.result == {"object_type": "dcim.device", "id": 42, "name": "edge-rtr-01"}


def test_a_type_the_button_does_not_cover_answers_400_naming_it(client, runtime, add_button, auth):
    response = press(client, add_button(content_types=["dcim.site"]), auth, object_type="dcim.device")
    assert response.status_code == 400
    assert "does not apply to dcim.device" in response.json["error"]["fields"]["object_type"][0]
    assert count(runtime, JobResult) == 0


@pytest.mark.parametrize(
    ("job_fields", "problem"),
    [
        ({"enabled": False}, "is disabled"),
        ({"installed": False}, "is not installed"),
        ({"is_job_button_receiver": False, "is_job_hook_receiver": True}, "is not a job button receiver"),
    ],
)
def test_a_job_that_is_not_an_enabled_button_receiver_answers_400(
    client, runtime, add_button, auth, job_fields, problem
):
    response = press(client, add_button(job_fields=job_fields), auth)
    assert response.status_code == 400
    assert problem in response.json["error"]["fields"]["job"][0]
    assert count(runtime, JobResult) == 0


def test_a_disabled_button_answers_400(client, runtime, add_button, auth):
    response = press(client, add_button(enabled=False), auth)
    assert response.status_code == 400 and "button" in response.json["error"]["fields"]


def test_a_missing_object_id_answers_400_naming_it(client, runtime, add_button, auth):
    response = press(client, add_button(), auth, object_id=None)
    assert response.status_code == 400 and "object_id" in response.json["error"]["fields"]


def test_pressing_needs_the_run_job_permission(client, runtime, add_button, token_for):
    headers = {"Authorization": f"Token {token_for('viewer', permissions=())}"}
    assert press(client, add_button(), headers).status_code == 403


def test_an_unknown_button_answers_404(client, runtime, auth):
    assert press(client, uuid.uuid4(), auth).status_code == 404


def test_listing_by_content_type_shows_only_that_types_buttons(client, runtime, add_button, auth):
    add_button("device button", content_types=["dcim.device", "dcim.rack"])
    add_button("site button", content_types=["dcim.site"])
    response = client.get("/api/extras/job-buttons/?content_type=dcim.device", headers=auth)
    assert response.status_code == 200
    assert [button["name"] for button in response.json["results"]] == ["device button"]


def test_a_button_whose_job_requires_approval_is_refused_naming_the_job(client, runtime, add_button, auth):
    button_id = add_button(job_fields={"approval_required": True})
    response = press(client, button_id, auth)
    assert response.status_code == 400 and "requires approval" in response.json["job"][0]
    assert count(runtime, JobResult) == 0
