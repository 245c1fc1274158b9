"""``/api/extras/job-hooks/`` and ``/api/extras/job-buttons/``: create, change, delete, refuse."""

import pytest

from tests.helpers.api import add_button, add_hook
from tests.helpers.factories import make_job


@pytest.fixture
def editor(make_caller):
    return make_caller("change_job")


@pytest.fixture
def receivers(runtime):
    with runtime.db.session() as session:
        return {
            "hook": make_job(session, "Hello", is_job_hook_receiver=True),
            "button": make_job(session, "Hello", is_job_button_receiver=True),
            "plain": make_job(session, "Hello"),
        }


def hook_body(receivers, **fields):
    return {
        "name": "sync devices",
        "content_types": ["dcim.device"],
        "job": str(receivers["hook"].id),
        "type_create": True,
        **fields,
    }


def button_body(receivers, **fields):
    return {
        "name": "reboot",
        "content_types": ["dcim.device"],
        "job": receivers["button"].class_path,
        "text": "Reboot",
        **fields,
    }


def test_a_job_hook_is_created_read_changed_and_deleted(client, editor, receivers):
    created = client.post("/api/extras/job-hooks/", json=hook_body(receivers), headers=editor.headers)
    assert created.status_code == 201
    hook = created.get_json()
    assert hook["job"]["id"] == str(receivers["hook"].id) and hook["object_type"] == "extras.jobhook"
    assert hook["enabled"] is True and hook["type_update"] is False

    changed = client.patch(hook["url"], json={"type_update": True, "enabled": False}, headers=editor.headers)
    assert changed.status_code == 200
    assert changed.get_json()["type_update"] is True and changed.get_json()["enabled"] is False
    assert client.get(hook["url"], headers=editor.headers).get_json()["type_update"] is True

    assert client.delete(hook["url"], headers=editor.headers).status_code == 204
    assert client.get(hook["url"], headers=editor.headers).status_code == 404


def test_a_job_button_is_created_changed_and_deleted(client, editor, receivers):
    created = client.post(
        "/api/extras/job-buttons/", json=button_body(receivers, button_class="danger"), headers=editor.headers
    )
    assert created.status_code == 201
    button = created.get_json()
    assert button["button_class"] == "danger" and button["confirmation"] is True
    changed = client.patch(button["url"], json={"text": "Reboot now", "weight": 5}, headers=editor.headers)
    assert changed.get_json()["text"] == "Reboot now" and changed.get_json()["weight"] == 5
    assert client.delete(button["url"], headers=editor.headers).status_code == 204


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"job": "plain"}, "job"),
        ({"job": "no/such/Job"}, "job"),
        ({"type_create": False}, "type_create"),
        ({"content_types": []}, "content_types"),
        ({"content_types": ["Not A Type"]}, "content_types"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
    ],
)
def test_a_bad_job_hook_is_a_400_naming_the_field(client, editor, receivers, fields, field):
    if fields.get("job") == "plain":
        fields = {"job": str(receivers["plain"].id)}
    response = client.post(
        "/api/extras/job-hooks/", json=hook_body(receivers, **fields), headers=editor.headers
    )
    assert response.status_code == 400 and field in response.get_json()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"job": "plain"}, "job"),
        ({"button_class": "shiny"}, "button_class"),
        ({"text": ""}, "text"),
        ({"weight": "heavy"}, "weight"),
    ],
)
def test_a_bad_job_button_is_a_400_naming_the_field(client, editor, receivers, fields, field):
    if fields.get("job") == "plain":
        fields = {"job": str(receivers["plain"].id)}
    response = client.post(
        "/api/extras/job-buttons/", json=button_body(receivers, **fields), headers=editor.headers
    )
    assert response.status_code == 400 and field in response.get_json()


def test_names_are_unique_on_create_and_on_rename(client, runtime, editor, receivers):
    with runtime.db.session() as session:
        add_hook(session, receivers["hook"], "taken")
        other = add_hook(session, receivers["hook"], "other").id
        add_button(session, receivers["button"], "taken")
    duplicate = client.post(
        "/api/extras/job-hooks/", json=hook_body(receivers, name="taken"), headers=editor.headers
    )
    assert duplicate.status_code == 400 and "name" in duplicate.get_json()
    rename = client.patch(f"/api/extras/job-hooks/{other}/", json={"name": "taken"}, headers=editor.headers)
    assert rename.status_code == 400 and "name" in rename.get_json()
    button = client.post(
        "/api/extras/job-buttons/", json=button_body(receivers, name="taken"), headers=editor.headers
    )
    assert button.status_code == 400 and "name" in button.get_json()


def test_a_job_may_be_given_as_a_nested_object(client, editor, receivers):
    body = hook_body(receivers, job={"id": str(receivers["hook"].id), "display": "Hello"})
    assert client.post("/api/extras/job-hooks/", json=body, headers=editor.headers).status_code == 201


def test_hooks_and_buttons_are_filtered_by_job_and_enabled(client, runtime, reader, receivers):
    with runtime.db.session() as session:
        add_hook(session, receivers["hook"], "on")
        add_hook(session, receivers["hook"], "off", enabled=False)
        add_button(session, receivers["button"], "press")
    page = client.get("/api/extras/job-hooks/?enabled=false", headers=reader.headers).get_json()
    assert [hook["name"] for hook in page["results"]] == ["off"]
    query = f"job={receivers['button'].class_path}"
    page = client.get(f"/api/extras/job-buttons/?{query}", headers=reader.headers).get_json()
    assert [button["name"] for button in page["results"]] == ["press"]


@pytest.mark.parametrize("kind", ["hook", "button"])
def test_a_job_requiring_approval_cannot_be_a_receiver(client, runtime, editor, receivers, kind):
    with runtime.db.session() as session:
        gated = make_job(session, "Hello", approval_required=True,
                         **{f"is_job_{kind}_receiver": True})
    body = (hook_body if kind == "hook" else button_body)(receivers, job=str(gated.id))
    response = client.post(f"/api/extras/job-{kind}s/", json=body, headers=editor.headers)
    assert response.status_code == 400 and "requires approval" in response.get_json()["job"][0]
