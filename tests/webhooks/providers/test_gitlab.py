import pytest

from tests.helpers.payloads import ZERO, changed, payload
from webhooks.errors import PayloadInvalid
from webhooks.providers import parse_delivery

EVENT_UUID = "13792a34-cac6-4fda-95a8-c58e00a3954e"
IDEMPOTENCY_KEY = "f5dd5a8a-0a63-4a1e-94a6-0a8d2ba3ac33"
PUSH = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": EVENT_UUID, "Idempotency-Key": IDEMPOTENCY_KEY}


def test_push_hook_is_read_into_one_push_event():
    delivery = parse_delivery("gitlab", PUSH, payload("gitlab_push"))
    assert (delivery.provider, delivery.event, delivery.kind) == ("gitlab", "Push Hook", "push")
    [push] = delivery.pushes
    assert (push.ref, push.branch) == ("refs/heads/main", "main")
    assert push.before == "95790bf891e76fee5e1747ab589903a6a1f80f22"
    assert push.after == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert not (push.deleted or push.forced)


def test_delivery_id_is_the_idempotency_key_which_survives_retries():
    assert parse_delivery("gitlab", PUSH, payload("gitlab_push")).delivery_id == IDEMPOTENCY_KEY


def test_delivery_id_falls_back_to_the_event_uuid_before_gitlab_17_4():
    headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": EVENT_UUID}
    assert parse_delivery("gitlab", headers, payload("gitlab_push")).delivery_id == EVENT_UUID


def test_tag_push_hook_is_a_tag_push():
    headers = {**PUSH, "X-Gitlab-Event": "Tag Push Hook"}
    delivery = parse_delivery("gitlab", headers, payload("gitlab_tag_push"))
    assert delivery.kind == "push"
    [push] = delivery.pushes
    assert push.is_tag
    assert push.ref == "refs/tags/v1.0.0"
    assert push.before == ZERO
    assert not push.deleted


def test_branch_deletion_is_recognised_by_the_zero_after():
    body = changed("gitlab_push", after=ZERO, checkout_sha=None, commits=[])
    [push] = parse_delivery("gitlab", PUSH, body).pushes
    assert push.deleted


@pytest.mark.parametrize("event", ["Merge Request Hook", "Pipeline Hook", "System Hook"])
def test_other_hooks_are_unsupported(event):
    delivery = parse_delivery("gitlab", {**PUSH, "X-Gitlab-Event": event}, b"{}")
    assert (delivery.kind, delivery.pushes) == ("unsupported", [])


def test_missing_ref_is_named():
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("gitlab", PUSH, changed("gitlab_push", ref=...))
    assert caught.value.fields == {"ref": ["This field is required."]}
