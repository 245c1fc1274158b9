import pytest

from tests.helpers.payloads import ZERO, changed, payload
from webhooks.errors import PayloadInvalid
from webhooks.providers import parse_delivery
from webhooks.providers.payloads import body_digest

SIGNED = {"X-Jobsync-Signature": "sha256=..."}


def test_generic_push_is_read_into_one_push_event():
    delivery = parse_delivery("generic", SIGNED, payload("generic_push"))
    assert (delivery.provider, delivery.event, delivery.kind) == ("generic", "push", "push")
    [push] = delivery.pushes
    assert (push.branch, push.after) == ("main", "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c")
    assert push.before == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"


def test_delivery_id_header_wins_over_the_body():
    headers = {**SIGNED, "X-Jobsync-Delivery": "from-header"}
    assert parse_delivery("generic", headers, payload("generic_push")).delivery_id == "from-header"


def test_delivery_id_comes_from_the_body_without_a_header():
    assert parse_delivery("generic", SIGNED, payload("generic_push")).delivery_id == "ci-run-8812"


def test_delivery_id_is_a_digest_of_the_body_when_neither_gives_one():
    body = changed("generic_push", delivery=...)
    assert parse_delivery("generic", SIGNED, body).delivery_id == body_digest(body)


def test_before_is_optional_and_then_unknown():
    [push] = parse_delivery("generic", SIGNED, changed("generic_push", before=...)).pushes
    assert push.before is None


def test_zero_after_is_a_deletion():
    assert parse_delivery("generic", SIGNED, changed("generic_push", after=ZERO)).pushes[0].deleted


def test_missing_ref_and_after_are_both_named():
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("generic", SIGNED, b'{"delivery": "x"}')
    assert caught.value.fields == {"ref": ["This field is required."], "after": ["This field is required."]}


def test_a_ping_event_header_makes_a_ping():
    delivery = parse_delivery("generic", {**SIGNED, "X-Jobsync-Event": "ping"}, b"{}")
    assert (delivery.kind, delivery.pushes) == ("ping", [])
