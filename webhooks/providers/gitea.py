"""Gitea and Forgejo: ``X-Gitea-Event`` / ``X-Forgejo-Event``, a bare hex HMAC-SHA256 signature.

Both also send ``X-GitHub-Event``, so detection must try this provider before GitHub. Forgejo
sends its ``X-Forgejo-*`` headers beside Gitea's; we prefer Forgejo's when present.
"""

from typing import Any

from webhooks.providers.base import Provider, PushEvent, push_from_fields
from webhooks.providers.signing import verify_hmac

_SIGNATURE_HEADERS = {"x-forgejo-signature": "X-Forgejo-Signature", "x-gitea-signature": "X-Gitea-Signature"}


class Gitea(Provider):
    name = "gitea"
    event_headers = ("x-forgejo-event", "x-gitea-event")
    delivery_headers = ("x-forgejo-delivery", "x-gitea-delivery")
    push_events = frozenset({"push"})

    def verify(self, headers: dict[str, str], body: bytes, secret: str) -> None:
        # They send the header even when no secret is set, empty: verify_hmac refuses that as missing.
        name = next((name for name in _SIGNATURE_HEADERS if name in headers), "x-gitea-signature")
        verify_hmac(headers.get(name), body, secret, header=_SIGNATURE_HEADERS[name])

    def read_pushes(self, payload: dict[str, Any], delivery_id: str) -> list[PushEvent]:
        return [push_from_fields(payload, delivery_id)]
