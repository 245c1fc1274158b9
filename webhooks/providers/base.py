"""The provider-neutral shapes every git provider parses into, and the base each provider fills in."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

from webhooks.providers.payloads import (
    FieldErrors,
    body_digest,
    check_ref,
    check_sha,
    first_header,
    is_zero_sha,
    load_payload,
)

__all__ = [
    "BRANCH_PREFIX",
    "Delivery",
    "Kind",
    "Provider",
    "PushEvent",
    "TAG_PREFIX",
    "ZERO_SHA",
    "push_from_fields",
]

ZERO_SHA = "0" * 40
BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"

Kind = Literal["push", "ping", "unsupported"]


@dataclass(frozen=True)
class PushEvent:
    """One ref moved by a push, in the same terms whichever provider sent it."""

    ref: str
    before: str | None  # None when the sender does not say (the generic payload may omit it)
    after: str
    deleted: bool = False
    forced: bool = False
    delivery_id: str = ""

    @property
    def branch(self) -> str | None:
        """The branch name when the ref is a branch, else None."""
        return self.ref.removeprefix(BRANCH_PREFIX) if self.ref.startswith(BRANCH_PREFIX) else None

    @property
    def is_tag(self) -> bool:
        return self.ref.startswith(TAG_PREFIX)


@dataclass(frozen=True)
class Delivery:
    """One webhook request: who sent it, its id for de-duplication, and the pushes it reports."""

    provider: str
    delivery_id: str
    event: str
    kind: Kind
    pushes: list[PushEvent] = field(default_factory=list)  # one per ref; empty for ping and unsupported


class Provider(ABC):
    """One git host's webhook dialect: how to recognise, verify and parse its requests.

    Every method takes headers already keyed by lower-case name.
    """

    name: str
    event_headers: tuple[str, ...]
    delivery_headers: tuple[str, ...]
    push_events: frozenset[str]
    ping_events: frozenset[str] = frozenset()

    def matches(self, headers: dict[str, str]) -> bool:
        return any(name in headers for name in self.event_headers)

    def event(self, headers: dict[str, str]) -> str:
        return first_header(headers, self.event_headers) or ""

    @abstractmethod
    def verify(self, headers: dict[str, str], body: bytes, secret: str) -> None:
        """Check the raw body's signature; raise SignatureMissing or SignatureMismatch."""

    @abstractmethod
    def read_pushes(self, payload: dict[str, Any], delivery_id: str) -> list[PushEvent]:
        """Return the pushes a push payload reports; raise PayloadInvalid naming bad fields."""

    def parse(self, headers: dict[str, str], body: bytes) -> Delivery:
        event = self.event(headers)
        if event not in self.push_events:
            kind: Kind = "ping" if event in self.ping_events else "unsupported"
            return Delivery(self.name, self.delivery_id(headers, body, {}), event, kind)
        payload = load_payload(headers, body)
        delivery_id = self.delivery_id(headers, body, payload)
        return Delivery(self.name, delivery_id, event, "push", self.read_pushes(payload, delivery_id))

    def delivery_id(self, headers: dict[str, str], body: bytes, payload: dict[str, Any]) -> str:
        """Return the sender's delivery id, else a digest of the body (a retry resends the same bytes)."""
        return first_header(headers, self.delivery_headers) or body_digest(body)


def push_from_fields(
    payload: dict[str, Any], delivery_id: str, *, deleted: bool = False, forced: bool = False
) -> PushEvent:
    """Read the GitHub-shaped ``{ref, before, after}`` that GitHub, GitLab, Gitea and ours share."""
    errors = FieldErrors()
    ref = check_ref(payload.get("ref"), "ref", errors)
    before = check_sha(payload.get("before"), "before", errors, required=False)
    after = check_sha(payload.get("after"), "after", errors)
    errors.raise_if_any()
    return PushEvent(
        ref=ref,
        before=before,
        after=after,
        deleted=deleted or is_zero_sha(after),
        forced=forced,
        delivery_id=delivery_id,
    )
