import pytest

from tests.helpers.payloads import ZERO, changed, payload
from webhooks.errors import PayloadInvalid
from webhooks.providers import parse_delivery

GITEA = {
    "X-GitHub-Event": "push",
    "X-Gitea-Event": "push",
    "X-Gitea-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473",
}
FORGEJO = {
    **GITEA,
    "X-Forgejo-Event": "push",
    "X-Forgejo-Delivery": "9f0e3c7a-6f87-4a53-9d7e-1f1d0b3c2a10",
}


def test_gitea_push_is_read_into_one_push_event():
    delivery = parse_delivery("gitea", GITEA, payload("gitea_push"))
    assert (delivery.delivery_id, delivery.event, delivery.kind) == (
        GITEA["X-Gitea-Delivery"],
        "push",
        "push",
    )
    [push] = delivery.pushes
    assert push.branch == "develop"
    assert push.after == "bffeb74224043ba2feb48d137756c8a9331c449a"


def test_forgejo_delivery_id_comes_from_its_own_header():
    delivery = parse_delivery("gitea", FORGEJO, payload("gitea_push"))
    assert delivery.delivery_id == FORGEJO["X-Forgejo-Delivery"]
    assert delivery.pushes[0].delivery_id == FORGEJO["X-Forgejo-Delivery"]


def test_forgejo_event_comes_from_its_own_header():
    headers = {**FORGEJO, "X-Forgejo-Event": "issues"}
    assert parse_delivery("gitea", headers, payload("gitea_push")).kind == "unsupported"


@pytest.mark.parametrize("event", ["create", "delete", "pull_request", "release"])
def test_events_other_than_push_are_unsupported(event):
    delivery = parse_delivery("gitea", {**GITEA, "X-Gitea-Event": event}, b"{}")
    assert (delivery.kind, delivery.event) == ("unsupported", event)


def test_branch_deletion_is_recognised_by_the_zero_after():
    [push] = parse_delivery("gitea", GITEA, changed("gitea_push", after=ZERO, commits=[])).pushes
    assert push.deleted


def test_missing_after_is_named():
    with pytest.raises(PayloadInvalid) as caught:
        parse_delivery("gitea", GITEA, changed("gitea_push", after=None))
    assert caught.value.fields == {"after": ["This field is required."]}
