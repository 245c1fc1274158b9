import pytest

from service.jobs import (
    JobButtonReceiver,
    JobHookReceiver,
    ObjectData,
    ValidationError,
    register_jobs,
    run_job_for_testing,
)


def change(action="update", postchange=None):
    return {
        "action": action,
        "object_type": "dcim.device",
        "object_id": "7f1c",
        "prechange": {"name": "old"},
        "postchange": {"name": "new"} if postchange is None else postchange,
    }


class RecordingHook(JobHookReceiver):
    received: list = []

    def receive_job_hook(self, change, action, changed_object):
        self.received.append((change, action, changed_object))
        self.logger.info("saw %s", action)
        return action


class RecordingButton(JobButtonReceiver):
    received: list = []

    def receive_job_button(self, obj):
        self.received.append(obj)
        return str(obj)


@pytest.fixture(autouse=True)
def fresh_lists():
    RecordingHook.received = []
    RecordingButton.received = []


def test_job_hook_receiver_gets_the_change_action_and_post_change_data():
    record = change()
    run = run_job_for_testing(RecordingHook, {"change": record})
    assert RecordingHook.received == [(record, "update", {"name": "new"})]
    assert run.status == "SUCCESS" and run.result == "update"
    assert run.logs[0].grouping == "run"


def test_job_hook_receiver_gets_no_changed_object_on_delete():
    run_job_for_testing(RecordingHook, {"change": change("delete", postchange={})})
    assert RecordingHook.received[0][1:] == ("delete", None)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (None, "This field is required."),
        ("text", "Expected a change record object."),
        ({"action": "update"}, "The change record lacks object_type, object_id, prechange, postchange."),
        (
            {**change(), "action": "rename"},
            "Unknown action 'rename'; expected one of create, update, delete.",
        ),
        ({**change(), "postchange": "x"}, "The change record's postchange must be an object or null."),
    ],
)
def test_job_hook_receiver_refuses_a_malformed_change(payload, message):
    with pytest.raises(ValidationError) as caught:
        RecordingHook.validate_data({"change": payload})
    assert caught.value.fields == {"change": [message]}


def test_receivers_accept_only_their_internal_key():
    with pytest.raises(ValidationError) as caught:
        RecordingHook.validate_data({"change": change(), "device": 1})
    assert caught.value.fields == {"device": ["Unknown field."]}
    with pytest.raises(ValidationError) as caught:
        RecordingButton.validate_data({"change": change()})
    assert set(caught.value.fields) == {"object", "change"}


def test_receivers_show_no_variables_and_flag_their_kind_in_the_spec():
    hook, button = RecordingHook.job_spec(), RecordingButton.job_spec()
    assert hook["variables"] == [] and button["variables"] == []
    assert (hook["is_job_hook_receiver"], hook["is_job_button_receiver"]) == (True, False)
    assert (button["is_job_hook_receiver"], button["is_job_button_receiver"]) == (False, True)


def test_receivers_can_be_registered():
    register_jobs(RecordingHook, RecordingButton)


def test_job_button_receiver_gets_object_data():
    payload = {"object_type": "dcim.device", "object_id": 5, "data": {"name": "router5", "status": "active"}}
    run = run_job_for_testing(RecordingButton, {"object": payload})
    (obj,) = RecordingButton.received
    assert isinstance(obj, ObjectData)
    assert (obj.object_type, obj.id, obj.pk, obj.data) == ("dcim.device", 5, 5, payload["data"])
    assert obj.status == "active"
    assert run.result == "router5"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("text", "Expected an object with object_type, object_id and data."),
        ({"object_type": "dcim.device"}, "The object lacks object_id, data."),
        ({"object_type": "dcim.device", "object_id": 1, "data": []}, "The object's data must be an object."),
    ],
)
def test_job_button_receiver_refuses_a_malformed_object(payload, message):
    with pytest.raises(ValidationError) as caught:
        RecordingButton.validate_data({"object": payload})
    assert caught.value.fields == {"object": [message]}


def test_object_data_attribute_access_falls_back_to_data_and_then_fails_clearly():
    obj = ObjectData("dcim.site", 1, {"name": "ams1"})
    assert obj.name == "ams1"
    with pytest.raises(AttributeError, match="dcim.site object has no attribute 'missing'"):
        _ = obj.missing


def test_object_data_reads_as_its_display_name_or_type_and_id():
    assert str(ObjectData("dcim.site", 1, {"display": "Amsterdam", "name": "ams1"})) == "Amsterdam"
    assert str(ObjectData("dcim.site", 1, {"name": "ams1"})) == "ams1"
    assert str(ObjectData("dcim.site", 1)) == "dcim.site 1"
    assert repr(ObjectData("dcim.site", 1)) == "<ObjectData dcim.site 1: dcim.site 1>"


def test_object_data_compares_by_value():
    assert ObjectData("dcim.site", 1, {"a": 1}) == ObjectData("dcim.site", 1, {"a": 1})
    assert ObjectData("dcim.site", 1) != ObjectData("dcim.site", 2)


def test_job_hooks_get_attribute_access_and_nautobots_snapshots():
    seen = {}

    class Snapshots(JobHookReceiver):
        def receive_job_hook(self, change, action, changed_object):
            seen.update(action=change.action, name=changed_object.name, snapshots=change.get_snapshots())

    record = {
        "action": "update", "object_type": "dcim.device", "object_id": 7,
        "prechange": {"name": "old", "status": "active", "last_updated": "t1"},
        "postchange": {"name": "new", "status": "active", "last_updated": "t2"},
    }
    assert run_job_for_testing(Snapshots, {"change": record}).status == "SUCCESS"
    assert (seen["action"], seen["name"]) == ("update", "new")
    assert seen["snapshots"] == {
        "prechange": record["prechange"],
        "postchange": record["postchange"],
        "differences": {"removed": {"name": "old"}, "added": {"name": "new"}},
    }


def test_snapshots_of_a_create_and_a_delete_have_one_side_only():
    created = {"action": "create", "object_type": "x", "object_id": 1, "prechange": None,
               "postchange": {"a": 1}}
    deleted = {"action": "delete", "object_type": "x", "object_id": 1, "prechange": {"a": 1},
               "postchange": None}
    from service.jobs.receivers import ChangeRecord

    assert ChangeRecord(created).get_snapshots()["differences"] == {"removed": None, "added": {"a": 1}}
    assert ChangeRecord(deleted).get_snapshots()["differences"] == {"removed": {"a": 1}, "added": None}
