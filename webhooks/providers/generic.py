"""Our own generic push webhook, for any host or CI that can sign a small JSON body.

``X-Jobsync-Signature: sha256=<hex>`` over ``{"ref", "after", optional "before", "delivery"}``;
an optional ``X-Jobsync-Event`` (default ``push``) lets a sender ``ping``.
"""

from typing import Any

from webhooks.providers.base import Provider, PushEvent, push_from_fields
from webhooks.providers.payloads import body_digest, first_header
from webhooks.providers.signing import verify_hmac


class Generic(Provider):
    name = "generic"
    event_headers = ("x-jobsync-event",)
    delivery_headers = ("x-jobsync-delivery",)
    push_events = frozenset({"push"})
    ping_events = frozenset({"ping"})

    def matches(self, headers: dict[str, str]) -> bool:
        return any(name.startswith("x-jobsync-") for name in headers)

    def event(self, headers: dict[str, str]) -> str:
        return headers.get("x-jobsync-event") or "push"

    def verify(self, headers: dict[str, str], body: bytes, secret: str) -> None:
        signature = headers.get("x-jobsync-signature")
        verify_hmac(signature, body, secret, header="X-Jobsync-Signature", prefix="sha256=")

    def read_pushes(self, payload: dict[str, Any], delivery_id: str) -> list[PushEvent]:
        return [push_from_fields(payload, delivery_id)]

    def delivery_id(self, headers: dict[str, str], body: bytes, payload: dict[str, Any]) -> str:
        in_body = payload.get("delivery")
        in_body = in_body if isinstance(in_body, str) else None
        return first_header(headers, self.delivery_headers) or in_body or body_digest(body)
