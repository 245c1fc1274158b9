"""``/api/extras/jobs/``: filters, lookups by UUID or class path, PATCH, variables."""

import pytest

from service.models import Job
from tests.helpers.factories import make_job


@pytest.fixture
def catalogue(runtime):
    with runtime.db.session() as session:
        jobs = {
            "report": make_job(
                session, "Hello", name="Daily report", grouping="Reports", description="Mails"
            ),
            "hidden": make_job(session, "Hello", name="Secret", grouping="Ops", hidden=True),
            "gone": make_job(session, "Hello", name="Old", grouping="Ops", installed=False, enabled=False),
            "hook": make_job(session, "Hello", name="On change", grouping="Ops", is_job_hook_receiver=True),
        }
        return {key: (job.id, job.class_path) for key, job in jobs.items()}


def names(client, caller, query=""):
    page = client.get(f"/api/extras/jobs/?{query}", headers=caller.headers).get_json()
    return sorted(job["name"] for job in page["results"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Daily report", "Old", "On change", "Secret"]),
        ("grouping=Ops", ["Old", "On change", "Secret"]),
        ("grouping=Ops&grouping=Reports", ["Daily report", "Old", "On change", "Secret"]),
        ("installed=false", ["Old"]),
        ("enabled=True", ["Daily report", "On change", "Secret"]),
        ("hidden=1", ["Secret"]),
        ("is_job_hook_receiver=true", ["On change"]),
        ("is_job_button_receiver=true", []),
        ("q=mail", ["Daily report"]),
        ("q=REPORT", ["Daily report"]),
        ("q=%25", []),
    ],
)
def test_jobs_are_filtered_as_nautobot_filters_them(client, reader, catalogue, query, expected):
    assert names(client, reader, query) == expected


def test_a_job_is_found_by_uuid_and_by_class_path(client, reader, catalogue):
    job_id, class_path = catalogue["report"]
    by_id = client.get(f"/api/extras/jobs/{job_id}/", headers=reader.headers).get_json()
    by_path = client.get(f"/api/extras/jobs/{class_path}/", headers=reader.headers).get_json()
    assert by_id == by_path
    assert by_id["id"] == str(job_id) and by_id["object_type"] == "extras.job"
    assert (
        by_id["url"] == f"http://localhost/api/extras/jobs/{job_id}/" and by_id["display"] == "Daily report"
    )


def test_an_unknown_job_is_a_404(client, reader):
    assert client.get("/api/extras/jobs/no/such/Job/", headers=reader.headers).status_code == 404


def test_patch_enables_a_job(client, runtime, make_caller, catalogue):
    job_id, _ = catalogue["gone"]
    editor = make_caller("change_job")
    response = client.patch(f"/api/extras/jobs/{job_id}/", json={"enabled": True}, headers=editor.headers)
    assert response.status_code == 200 and response.get_json()["enabled"] is True
    with runtime.db.session() as session:
        assert session.get(Job, job_id).enabled is True


def test_setting_an_overridable_attribute_turns_its_override_flag_on(client, runtime, admin, catalogue):
    job_id, _ = catalogue["report"]
    body = client.patch(
        f"/api/extras/jobs/{job_id}/", json={"grouping": "Nightly"}, headers=admin.headers
    ).get_json()
    assert body["grouping"] == "Nightly" and body["grouping_override"] is True


def test_an_override_flag_sent_with_its_attribute_is_stored_as_sent(client, admin, catalogue):
    job_id, _ = catalogue["report"]
    body = client.patch(
        f"/api/extras/jobs/{job_id}/",
        json={"time_limit": 30, "time_limit_override": False},
        headers=admin.headers,
    ).get_json()
    assert body["time_limit"] == 30 and body["time_limit_override"] is False


def test_clearing_an_override_flag_alone_keeps_the_value_until_the_next_sync(client, admin, catalogue):
    job_id, _ = catalogue["report"]
    client.patch(f"/api/extras/jobs/{job_id}/", json={"name": "Renamed"}, headers=admin.headers)
    body = client.patch(
        f"/api/extras/jobs/{job_id}/", json={"name_override": False}, headers=admin.headers
    ).get_json()
    assert body["name"] == "Renamed" and body["name_override"] is False


def test_read_only_fields_in_a_patch_are_ignored(client, admin, catalogue):
    job_id, _ = catalogue["report"]
    body = client.patch(
        f"/api/extras/jobs/{job_id}/", json={"installed": False, "module_name": "x"}, headers=admin.headers
    ).get_json()
    assert body["installed"] is True and body["module_name"] != "x"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"approval_required": True}, "approval_required"),
        ({"task_queues": ["nowhere"]}, "task_queues"),
        ({"time_limit": -1}, "time_limit"),
        ({"name": ""}, "name"),
        ({"enabled": "sometimes"}, "enabled"),
    ],
)
def test_a_bad_patch_is_a_400_naming_the_field(client, admin, catalogue, change, field):
    job_id, _ = catalogue["report"]  # has sensitive variables by default, so it cannot need approval
    make = client.patch(
        f"/api/extras/jobs/{job_id}/", json={"has_sensitive_variables": True}, headers=admin.headers
    )
    assert make.status_code == 200
    response = client.patch(f"/api/extras/jobs/{job_id}/", json=change, headers=admin.headers)
    assert response.status_code == 400 and field in response.get_json()


def test_variables_are_listed_as_nautobot_lists_them(client, runtime, reader):
    with runtime.db.session() as session:
        job_id = make_job(
            session,
            variables=[
                {
                    "name": "who",
                    "type": "StringVar",
                    "label": "Who",
                    "description": "Whom to greet",
                    "required": True,
                    "default": None,
                    "min_length": 2,
                    "max_length": None,
                    "regex": None,
                },
                {
                    "name": "colour",
                    "type": "ChoiceVar",
                    "label": "Colour",
                    "description": "",
                    "required": False,
                    "default": "red",
                    "choices": [["red", "Red"], ["blue", "Blue"]],
                },
            ],
        ).id
    variables = client.get(f"/api/extras/jobs/{job_id}/variables/", headers=reader.headers).get_json()
    assert variables[0] == {
        "name": "who",
        "type": "StringVar",
        "label": "Who",
        "help_text": "Whom to greet",
        "required": True,
        "default": None,
        "min_length": 2,
        "max_length": None,
        "regex": None,
    }
    assert variables[1]["choices"] == [["red", "Red"], ["blue", "Blue"]]
