"""GitHub: ``X-GitHub-Event``, ``X-Hub-Signature-256: sha256=<hex>``, a JSON or form-encoded body."""

from typing import Any

from webhooks.providers.base import Provider, PushEvent, push_from_fields
from webhooks.providers.signing import verify_hmac


class GitHub(Provider):
    name = "github"
    event_headers = ("x-github-event",)
    delivery_headers = ("x-github-delivery",)
    push_events = frozenset({"push"})
    ping_events = frozenset({"ping"})

    def verify(self, headers: dict[str, str], body: bytes, secret: str) -> None:
        signature = headers.get("x-hub-signature-256")
        verify_hmac(signature, body, secret, header="X-Hub-Signature-256", prefix="sha256=")

    def read_pushes(self, payload: dict[str, Any], delivery_id: str) -> list[PushEvent]:
        deleted, forced = payload.get("deleted") is True, payload.get("forced") is True
        return [push_from_fields(payload, delivery_id, deleted=deleted, forced=forced)]
