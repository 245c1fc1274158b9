from urllib.parse import urlencode

import pytest

from tests.helpers.payloads import SECRET, ZERO, changed, payload, sha256_header
from webhooks.errors import PayloadInvalid
from webhooks.providers import parse_delivery, verify_signature
from webhooks.providers.payloads import body_digest

DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
PUSH = {"X-GitHub-Event": "push", "X-GitHub-Delivery": DELIVERY, "Content-Type": "application/json"}


def test_push_is_read_into_one_push_event():
    delivery = parse_delivery("github", PUSH, payload("github_push"))
    assert (delivery.provider, delivery.delivery_id, delivery.event, delivery.kind) == (
        "github",
        DELIVERY,
        "push",
        "push",
    )
    [push] = delivery.pushes
    assert push.ref == "refs/heads/main"
    assert push.branch == "main"
    assert push.before == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert push.after == "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    assert push.delivery_id == DELIVERY
    assert not (push.deleted or push.forced or push.is_tag)


def test_form_encoded_payload_is_read_like_json_and_signed_over_the_form_bytes():
    body = urlencode({"payload": payload("github_push").decode()}).encode()
    headers = {**PUSH, "Content-Type": "application/x-www-form-urlencoded", "X-Hub-Signature-256": ""}
    headers["X-Hub-Signature-256"] = sha256_header(body)
    verify_signature("github", headers, body, SECRET)
    assert (
        parse_delivery("github", headers, body).pushes
        == parse_delivery("github", PUSH, payload("github_push")).pushes
    )


def test_form_encoded_body_without_a_payload_field_names_payload():
    headers = {**PUSH, "Content-Type": "application/x-www-form-urlencoded"}
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("github", headers, b"other=1")
    assert caught.value.fields == {"payload": ["This field is required."]}


def test_branch_deletion_is_flagged_by_github_deleted_flag():
    body = changed("github_push", deleted=True, after=ZERO, commits=[], head_commit=None)
    [push] = parse_delivery("github", PUSH, body).pushes
    assert push.deleted
    assert push.after == ZERO


def test_branch_deletion_is_recognised_by_the_zero_sha_alone():
    [push] = parse_delivery("github", PUSH, changed("github_push", deleted=..., after=ZERO)).pushes
    assert push.deleted


def test_forced_push_is_flagged():
    [push] = parse_delivery("github", PUSH, changed("github_push", forced=True)).pushes
    assert push.forced


def test_tag_push_is_a_tag_and_no_branch():
    [push] = parse_delivery("github", PUSH, changed("github_push", ref="refs/tags/v1.4.0")).pushes
    assert push.is_tag
    assert push.branch is None


def test_ping_is_a_ping_with_no_pushes():
    headers = {**PUSH, "X-GitHub-Event": "ping"}
    delivery = parse_delivery("github", headers, payload("github_ping"))
    assert (delivery.kind, delivery.event, delivery.pushes) == ("ping", "ping", [])


def test_other_events_are_unsupported_and_their_body_is_not_read():
    headers = {**PUSH, "X-GitHub-Event": "issues"}
    delivery = parse_delivery("github", headers, b"{not json")
    assert (delivery.kind, delivery.event, delivery.pushes) == ("unsupported", "issues", [])
    assert delivery.delivery_id == DELIVERY


def test_malformed_json_is_invalid_and_names_the_body():
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("github", PUSH, b'{"ref": "refs/heads/main",')
    assert list(caught.value.fields) == ["body"]


def test_a_json_array_is_not_a_payload():
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("github", PUSH, b"[]")
    assert caught.value.fields == {"body": ["Must be a JSON object."]}


def test_missing_after_is_named():
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("github", PUSH, changed("github_push", after=...))
    assert caught.value.fields == {"after": ["This field is required."]}


def test_every_missing_field_is_named_at_once():
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("github", PUSH, b'{"zen": "Keep it logically awesome."}')
    assert set(caught.value.fields) == {"ref", "after"}


@pytest.mark.parametrize("after", ["--upload-pack=touch /tmp/pwned", "0d1a26e", 12345, "g" * 40])
def test_an_after_that_is_not_a_commit_id_is_refused(after):
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("github", PUSH, changed("github_push", after=after))
    assert list(caught.value.fields) == ["after"]


@pytest.mark.parametrize(
    "ref", ["main", "refs/heads/", "refs/heads/a..b", "refs/heads/has space", "refs/heads/x\n", ["refs"]]
)
def test_a_ref_that_is_not_a_full_git_ref_is_refused(ref):
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("github", PUSH, changed("github_push", ref=ref))
    assert list(caught.value.fields) == ["ref"]


def test_sha256_repositories_64_digit_ids_are_accepted():
    after = "a" * 64
    [push] = parse_delivery("github", PUSH, changed("github_push", after=after)).pushes
    assert push.after == after


def test_without_a_delivery_header_the_id_is_a_digest_of_the_body():
    body = payload("github_push")
    delivery = parse_delivery("github", {"X-GitHub-Event": "push"}, body)
    assert (
        delivery.delivery_id
        == body_digest(body)
        == parse_delivery("github", {"X-GitHub-Event": "push"}, body).delivery_id
    )


def test_form_encoded_body_that_is_not_form_data_names_the_body():
    headers = {**PUSH, "Content-Type": "application/x-www-form-urlencoded"}
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("github", headers, b"no equals sign here")
    assert list(caught.value.fields) == ["body"]


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"ref": "\xff\xfe"}'])
def test_absurdly_nested_or_non_utf8_json_is_invalid_not_a_crash(body):
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("github", PUSH, body)
    assert list(caught.value.fields) == ["body"]


def test_commit_ids_are_lower_cased():
    [push] = parse_delivery(
        "github", PUSH, changed("github_push", after="0D1A26E67D8F5EAF1F6BA5C57FC3C7D91AC0FD1C")
    ).pushes
    assert push.after == "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
