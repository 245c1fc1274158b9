import json

import pytest

from tests.helpers.payloads import ZERO, payload, payload_json
from webhooks.errors import PayloadInvalid
from webhooks.providers import parse_delivery

CLOUD = {
    "X-Event-Key": "repo:push",
    "X-Hook-UUID": "{cedbe0f1-0a4b-4d47-8a57-9ec9a8f3c5b8}",
    "X-Request-UUID": "{afe7d94b-5bf9-4c5f-bb45-d6bd05ee53a1}",
}
SERVER = {"X-Event-Key": "repo:refs_changed", "X-Request-Id": "3b3e6e6e-2f3c-4e1e-9f63-0b6f4b9a6c51"}
HEAD = "178864a7d521b6f5e720b386b2c2b0ef8563e0dc"


def cloud_body(**change_fields) -> bytes:
    """The Cloud push body with its first change's fields replaced."""
    data = payload_json("bitbucket_cloud_push")
    data["push"]["changes"][0].update(change_fields)
    return json.dumps(data).encode()


def test_cloud_push_with_several_changes_gives_one_push_event_each():
    delivery = parse_delivery("bitbucket-cloud", CLOUD, payload("bitbucket_cloud_push"))
    assert (delivery.delivery_id, delivery.event, delivery.kind) == (
        CLOUD["X-Request-UUID"],
        "repo:push",
        "push",
    )
    branch, tag = delivery.pushes
    assert (branch.ref, branch.branch) == ("refs/heads/main", "main")
    assert branch.before == "10a4d4e3af0c2daf86d429c22f6a8c34d8a6ab91"
    assert branch.after == "3138828e2feff32376cab42750f90143220ff1c4"
    assert (tag.ref, tag.is_tag, tag.before) == ("refs/tags/v1.2.0", True, ZERO)
    assert {push.delivery_id for push in delivery.pushes} == {CLOUD["X-Request-UUID"]}


def test_cloud_branch_deletion_has_a_null_new_and_keeps_the_old_ref():
    [push] = parse_delivery("bitbucket-cloud", CLOUD, payload("bitbucket_cloud_branch_deleted")).pushes
    assert push.deleted
    assert push.ref == "refs/heads/feature/old-idea"
    assert (push.before, push.after) == ("4c8e6d03e075d808b9241ec760087e114d6d0ccf", ZERO)


def test_cloud_change_closed_by_bitbucket_is_a_deletion():
    assert parse_delivery("bitbucket-cloud", CLOUD, cloud_body(closed=True)).pushes[0].deleted


def test_cloud_forced_flag_is_kept():
    assert parse_delivery("bitbucket-cloud", CLOUD, cloud_body(forced=True)).pushes[0].forced


def test_cloud_missing_target_hash_is_named_by_its_path():
    body = cloud_body(new={"type": "branch", "name": "main", "target": {"type": "commit"}})
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("bitbucket-cloud", CLOUD, body)
    assert caught.value.fields == {"push.changes[0].new.target.hash": ["This field is required."]}


def test_cloud_ref_types_other_than_branch_or_tag_are_refused():
    body = cloud_body(new={"type": "bookmark", "name": "main", "target": {"hash": HEAD}})
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("bitbucket-cloud", CLOUD, body)
    assert list(caught.value.fields) == ["push.changes[0].new.type"]


def test_cloud_change_with_neither_old_nor_new_is_refused():
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("bitbucket-cloud", CLOUD, cloud_body(new=None, old=None))
    assert list(caught.value.fields) == ["push.changes[0].new"]


@pytest.mark.parametrize("body", [b'{"push": {"changes": []}}', b'{"push": null}', b"{}"])
def test_cloud_push_without_changes_names_push_changes(body):
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("bitbucket-cloud", CLOUD, body)
    assert list(caught.value.fields) == ["push.changes"]


def test_cloud_events_other_than_repo_push_are_unsupported():
    delivery = parse_delivery("bitbucket-cloud", {**CLOUD, "X-Event-Key": "pullrequest:created"}, b"{}")
    assert delivery.kind == "unsupported"


def test_data_center_refs_changed_gives_one_push_event_per_change():
    delivery = parse_delivery("bitbucket-server", SERVER, payload("bitbucket_server_refs_changed"))
    assert (delivery.delivery_id, delivery.event, delivery.kind) == (
        SERVER["X-Request-Id"],
        "repo:refs_changed",
        "push",
    )
    update, tag, removed = delivery.pushes
    assert (update.ref, update.before, update.after) == (
        "refs/heads/master",
        "ecddabb624f6f5ba43816f5926e580a5f680a932",
        HEAD,
    )
    assert not update.deleted
    assert (tag.is_tag, tag.before, tag.deleted) == (True, ZERO, False)
    assert (removed.branch, removed.deleted, removed.after) == ("spike", True, ZERO)


def test_data_center_delete_type_alone_marks_a_deletion():
    data = payload_json("bitbucket_server_refs_changed")
    data["changes"] = [{**data["changes"][0], "type": "DELETE"}]
    [push] = parse_delivery("bitbucket-server", SERVER, json.dumps(data).encode()).pushes
    assert push.deleted


def test_data_center_zero_to_hash_alone_marks_a_deletion():
    data = payload_json("bitbucket_server_refs_changed")
    data["changes"] = [{**data["changes"][0], "toHash": ZERO}]
    [push] = parse_delivery("bitbucket-server", SERVER, json.dumps(data).encode()).pushes
    assert push.deleted


def test_data_center_ref_id_is_read_from_the_ref_when_ref_id_is_absent():
    data = payload_json("bitbucket_server_refs_changed")
    del data["changes"][0]["refId"]
    [push, *_] = parse_delivery("bitbucket-server", SERVER, json.dumps(data).encode()).pushes
    assert push.ref == "refs/heads/master"


def test_data_center_missing_to_hash_is_named_by_its_path():
    data = payload_json("bitbucket_server_refs_changed")
    del data["changes"][1]["toHash"]
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("bitbucket-server", SERVER, json.dumps(data).encode())
    assert caught.value.fields == {"changes[1].toHash": ["This field is required."]}


def test_data_center_diagnostics_ping_is_a_ping():
    headers = {**SERVER, "X-Event-Key": "diagnostics:ping"}
    delivery = parse_delivery("bitbucket-server", headers, b'{"test": true}')
    assert (delivery.kind, delivery.pushes) == ("ping", [])


def test_data_center_other_events_are_unsupported():
    delivery = parse_delivery("bitbucket-server", {**SERVER, "X-Event-Key": "pr:opened"}, b"{}")
    assert delivery.kind == "unsupported"
