import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.helpers.payloads import SECRET, changed, hex_hmac, payload, payload_json, sha256_header
from webhooks.changes import (
    ChangeEvent,
    parse_change_event,
    verify_jobsync_signature,
    verify_netbox_signature,
)
from webhooks.errors import PayloadInvalid, SignatureMismatch, SignatureMissing


def event(**fields) -> ChangeEvent:
    defaults = {
        "request_id": "r1",
        "action": "update",
        "object_type": "dcim.device",
        "object_id": "1",
        "object_repr": "edge-rtr-01",
        "prechange": {"name": "a"},
        "postchange": {"name": "b"},
        "user": "admin",
        "time": None,
        "source": "jobsync",
    }
    return ChangeEvent(**{**defaults, **fields})


def test_jobsync_body_is_read_field_for_field():
    change = parse_change_event(payload("jobsync_device_deleted"))
    assert change == ChangeEvent(
        request_id="b7a8f1de-0f43-4a3e-8f8e-2f7f1d1d6c55",
        action="delete",
        object_type="dcim.device",
        object_id="5e4f9a91-372b-46df-a50a-c26357475bee",
        object_repr="core-sw-01",
        prechange={"name": "core-sw-01", "serial": "FOC1234X0AB"},
        postchange=None,
        user="admin",
        time=datetime(2024, 4, 22, 9, 20, tzinfo=timezone(timedelta(hours=2))),
        source="jobsync",
    )


def test_an_already_decoded_body_is_accepted():
    assert parse_change_event(payload_json("jobsync_device_deleted")) == parse_change_event(
        payload("jobsync_device_deleted")
    )


def test_netbox_4_body_is_read_with_its_full_object_type():
    change = parse_change_event(payload("netbox4_device_updated"))
    assert change.source == "netbox"
    assert (change.action, change.object_type, change.object_id) == ("update", "dcim.device", "42")
    assert (change.object_repr, change.user) == ("edge-rtr-01", "jstretch")
    assert change.request_id == "0dfa8bb2-9a5a-4a4b-9d1a-4f25c9a9d3f1"
    assert change.time == datetime(2024, 6, 3, 14, 12, 8, 431207, tzinfo=UTC)
    assert change.prechange["status"] == "planned"
    assert change.postchange["status"] == "active"


def test_newer_netbox_user_and_request_id_come_from_its_request_object():
    change = parse_change_event(payload("netbox_newer_device_deleted"))
    assert (change.source, change.action, change.object_id) == ("netbox", "delete", "77")
    assert (change.user, change.request_id) == ("automation", "6a3c3c57-0e0c-4a0a-b65a-0a7b1c0c9d11")
    assert change.postchange is None


def test_older_netbox_body_knows_only_the_model():
    change = parse_change_event(payload("netbox3_site_created"))
    assert (change.source, change.action, change.object_type) == ("netbox", "create", "site")
    assert (change.object_id, change.object_repr) == ("19", "Site 1")
    assert change.prechange is None


def test_nautobot_body_is_told_apart_and_gets_its_full_object_type_from_the_data():
    change = parse_change_event(payload("nautobot_device_updated"))
    assert change.source == "nautobot"
    assert (change.action, change.object_type) == ("update", "dcim.device")
    assert change.object_id == "5e4f9a91-372b-46df-a50a-c26357475bee"
    assert (change.object_repr, change.user) == ("core-sw-01", "admin")


def test_nautobot_is_told_apart_by_its_uuid_ids_when_nothing_else_marks_it():
    data = {"id": "5e4f9a91-372b-46df-a50a-c26357475bee", "name": "core-sw-01"}
    body = changed("nautobot_device_updated", data=data, snapshots=...)
    change = parse_change_event(body)
    assert (change.source, change.object_type) == ("nautobot", "device")


@pytest.mark.parametrize(
    "mark",
    [
        {
            "snapshots": {
                "prechange": None,
                "postchange": None,
                "differences": {"removed": None, "added": None},
            }
        },
        {"data": {"id": 19, "name": "Site 1", "natural_slug": "site-1_4f2a"}},
        {"data": {"id": 19, "name": "Site 1", "object_type": "dcim.site"}},
        {"data": {"id": "363a431c-c784-40b5-8513-758cafd174ad", "name": "Site 1"}},
    ],
)
def test_each_nautobot_mark_alone_tells_nautobot_from_older_netbox(mark):
    assert parse_change_event(changed("netbox3_site_created", **mark)).source == "nautobot"


def test_object_types_are_lower_cased():
    assert (
        parse_change_event(changed("netbox4_device_updated", object_type="DCIM.Device")).object_type
        == "dcim.device"
    )


def test_a_data_object_type_naming_another_model_is_not_used():
    data = {**payload_json("nautobot_device_updated")["data"], "object_type": "dcim.interface"}
    assert parse_change_event(changed("nautobot_device_updated", data=data)).object_type == "device"


@pytest.mark.parametrize(
    ("event_name", "action"), [("created", "create"), ("updated", "update"), ("deleted", "delete")]
)
def test_webhook_events_map_to_actions(event_name, action):
    assert parse_change_event(changed("netbox4_device_updated", event=event_name)).action == action


def test_object_id_given_at_the_top_wins_over_the_data():
    assert parse_change_event(changed("netbox4_device_updated", object_id="99")).object_id == "99"


@pytest.mark.parametrize(
    ("data", "expected"),
    [({"id": 5, "display": "D", "name": "N"}, "D"), ({"id": 5, "name": "N"}, "N"), ({"id": 5}, "5")],
)
def test_object_repr_falls_back_from_display_to_name_to_id(data, expected):
    assert parse_change_event(changed("netbox4_device_updated", data=data)).object_repr == expected


def test_a_naive_time_is_taken_as_utc():
    body = changed("jobsync_device_deleted", time="2024-04-22T07:20:00")
    assert parse_change_event(body).time == datetime(2024, 4, 22, 7, 20, tzinfo=UTC)


def test_update_with_equal_snapshots_is_a_noop():
    assert event(prechange={"name": "a"}, postchange={"name": "a"}).is_noop_update


def test_update_differing_only_in_last_updated_is_a_noop():
    before = {"name": "a", "last_updated": "2024-05-30T08:00:00Z"}
    after = {"name": "a", "last_updated": "2024-06-03T14:12:08Z"}
    assert event(prechange=before, postchange=after).is_noop_update


def test_update_that_changes_a_field_is_no_noop():
    assert not parse_change_event(payload("netbox4_device_updated")).is_noop_update


@pytest.mark.parametrize(
    "change",
    [
        event(action="create", prechange=None, postchange={"name": "a"}),
        event(action="delete", prechange={"name": "a"}, postchange={"name": "a"}),
        event(prechange=None, postchange=None),
    ],
)
def test_only_an_update_with_both_snapshots_can_be_a_noop(change):
    assert not change.is_noop_update


@pytest.mark.parametrize(
    ("object_type", "content_type", "matches"),
    [
        ("dcim.device", "dcim.device", True),
        ("dcim.device", "DCIM.Device", True),
        ("dcim.device", "dcim.interface", False),
        ("dcim.device", "virtualization.device", False),
        ("device", "dcim.device", True),
        ("device", "acme_plugin.device", True),
        ("device", "dcim.site", False),
        ("dcim.device", "device", True),
    ],
)
def test_content_type_matching(object_type, content_type, matches):
    assert event(object_type=object_type).matches_content_type(content_type) is matches


def test_malformed_json_names_the_body():
    with pytest.raises(PayloadInvalid) as caught:
        parse_change_event(b'{"event": "created"')
    assert list(caught.value.fields) == ["body"]


def test_a_body_with_neither_action_nor_event_names_action():
    with pytest.raises(PayloadInvalid) as caught:
        parse_change_event(b'{"object_type": "dcim.device"}')
    assert list(caught.value.fields) == ["action"]


def test_an_unknown_webhook_event_is_named():
    with pytest.raises(PayloadInvalid) as caught:
        parse_change_event(changed("netbox4_device_updated", event="job_started"))
    assert list(caught.value.fields) == ["event"]


def test_webhook_data_without_an_id_names_data_id():
    with pytest.raises(PayloadInvalid) as caught:
        parse_change_event(changed("netbox4_device_updated", data={"name": "x"}))
    assert caught.value.fields == {"data.id": ["This field is required."]}


def test_webhook_body_without_object_type_or_model_names_object_type():
    with pytest.raises(PayloadInvalid) as caught:
        parse_change_event(changed("netbox4_device_updated", object_type=...))
    assert list(caught.value.fields) == ["object_type"]


def test_jobsync_body_names_every_missing_field():
    with pytest.raises(PayloadInvalid) as caught:
        parse_change_event(b'{"action": "rename"}')
    assert set(caught.value.fields) == {"action", "object_type", "object_id"}


@pytest.mark.parametrize(
    ("name", "fields", "bad"),
    [
        ("netbox4_device_updated", {"timestamp": "yesterday"}, "timestamp"),
        ("netbox4_device_updated", {"object_type": "dcim device"}, "object_type"),
        (
            "netbox4_device_updated",
            {"snapshots": {"prechange": [1], "postchange": None}},
            "snapshots.prechange",
        ),
        ("netbox4_device_updated", {"data": [42]}, "data"),
        ("netbox4_device_updated", {"request": "GET /"}, "request"),
        ("jobsync_device_deleted", {"object_id": True}, "object_id"),
        ("jobsync_device_deleted", {"user": 7}, "user"),
        ("jobsync_device_deleted", {"postchange": "gone"}, "postchange"),
    ],
)
def test_bad_values_are_named(name, fields, bad):
    with pytest.raises(PayloadInvalid) as caught:
        parse_change_event(changed(name, **fields))
    assert bad in caught.value.fields


def test_a_json_list_is_not_a_change_event():
    with pytest.raises(PayloadInvalid):
        parse_change_event(json.dumps([payload_json("jobsync_device_deleted")]).encode())
    with pytest.raises(PayloadInvalid):
        parse_change_event([payload_json("jobsync_device_deleted")])


def test_netbox_signature_is_the_hmac_sha512_of_the_raw_body():
    body = payload("netbox4_device_updated")
    verify_netbox_signature({"X-Hook-Signature": hex_hmac(body, digest=hashlib.sha512)}, body, SECRET)


def test_netbox_signature_with_another_secret_is_refused():
    body = payload("netbox4_device_updated")
    with pytest.raises(SignatureMismatch):
        verify_netbox_signature({"X-Hook-Signature": hex_hmac(body, "x", hashlib.sha512)}, body, SECRET)


def test_netbox_signature_made_with_sha256_is_refused():
    body = payload("netbox4_device_updated")
    with pytest.raises(SignatureMismatch):
        verify_netbox_signature({"X-Hook-Signature": hex_hmac(body)}, body, SECRET)


def test_netbox_request_without_a_signature_is_refused():
    with pytest.raises(SignatureMissing):
        verify_netbox_signature(
            {"Content-Type": "application/json"}, payload("netbox4_device_updated"), SECRET
        )


def test_jobsync_signature_is_checked_over_the_raw_body():
    body = payload("jobsync_device_deleted")
    verify_jobsync_signature({"x-jobsync-signature": sha256_header(body)}, body, SECRET)
    with pytest.raises(SignatureMismatch):
        verify_jobsync_signature({"X-Jobsync-Signature": sha256_header(body, "x")}, body, SECRET)
    with pytest.raises(SignatureMissing):
        verify_jobsync_signature({}, body, SECRET)
