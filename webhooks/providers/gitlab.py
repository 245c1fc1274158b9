"""GitLab: ``X-Gitlab-Event: Push Hook`` or ``Tag Push Hook``, a shared ``X-Gitlab-Token`` (no HMAC)."""

from typing import Any

from webhooks.providers.base import Provider, PushEvent, push_from_fields
from webhooks.providers.signing import verify_token


class GitLab(Provider):
    name = "gitlab"
    event_headers = ("x-gitlab-event",)
    # Idempotency-Key (GitLab 17.4+) stays the same across retries; the event UUID is the older id.
    delivery_headers = ("idempotency-key", "x-gitlab-event-uuid")
    push_events = frozenset({"Push Hook", "Tag Push Hook"})

    def verify(self, headers: dict[str, str], body: bytes, secret: str) -> None:
        verify_token(headers.get("x-gitlab-token"), secret, header="X-Gitlab-Token")

    def read_pushes(self, payload: dict[str, Any], delivery_id: str) -> list[PushEvent]:
        # GitLab flags a deletion only by the all-zero `after`, which push_from_fields reads.
        return [push_from_fields(payload, delivery_id)]
