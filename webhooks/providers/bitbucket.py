"""Bitbucket Cloud (``repo:push``) and Bitbucket Data Center (``repo:refs_changed``).

Both send ``X-Event-Key`` and ``X-Hub-Signature: sha256=<hex>``, and one request may report
several refs, so each change becomes its own PushEvent.
"""

from typing import Any

from webhooks.errors import PayloadInvalid
from webhooks.providers.base import BRANCH_PREFIX, TAG_PREFIX, ZERO_SHA, Provider, PushEvent
from webhooks.providers.payloads import REQUIRED, FieldErrors, check_ref, check_sha, is_zero_sha
from webhooks.providers.signing import verify_hmac

# Cloud always sends these; Data Center never does.
_CLOUD_HEADERS = ("x-request-uuid", "x-hook-uuid")
_SERVER_EVENTS = frozenset({"repo:refs_changed", "diagnostics:ping"})
_CLOUD_REF_PREFIXES = {"branch": BRANCH_PREFIX, "tag": TAG_PREFIX}


def is_data_center(headers: dict[str, str]) -> bool:
    """Tell Data Center from Cloud: by Cloud's own headers first, then by event key, then X-Request-Id."""
    if any(name in headers for name in _CLOUD_HEADERS):
        return False
    key = headers.get("x-event-key", "")
    # X-Request-Id comes last: proxies add it too, so it only decides what the event key leaves open.
    return key in _SERVER_EVENTS or key.startswith("pr:") or "x-request-id" in headers


class _Bitbucket(Provider):
    event_headers = ("x-event-key",)

    def verify(self, headers: dict[str, str], body: bytes, secret: str) -> None:
        signature = headers.get("x-hub-signature")
        verify_hmac(signature, body, secret, header="X-Hub-Signature", prefix="sha256=")


class BitbucketCloud(_Bitbucket):
    name = "bitbucket-cloud"
    delivery_headers = ("x-request-uuid",)
    push_events = frozenset({"repo:push"})

    def matches(self, headers: dict[str, str]) -> bool:
        return super().matches(headers) and not is_data_center(headers)

    def read_pushes(self, payload: dict[str, Any], delivery_id: str) -> list[PushEvent]:
        push = payload.get("push")
        changes = push.get("changes") if isinstance(push, dict) else None
        return [
            _cloud_change(change, f"push.changes[{index}]", delivery_id)
            for index, change in enumerate(_non_empty_list(changes, "push.changes"))
        ]


class BitbucketServer(_Bitbucket):
    name = "bitbucket-server"
    delivery_headers = ("x-request-id",)
    push_events = frozenset({"repo:refs_changed"})
    ping_events = frozenset({"diagnostics:ping"})

    def matches(self, headers: dict[str, str]) -> bool:
        return super().matches(headers) and is_data_center(headers)

    def read_pushes(self, payload: dict[str, Any], delivery_id: str) -> list[PushEvent]:
        changes = _non_empty_list(payload.get("changes"), "changes")
        return [
            _server_change(change, f"changes[{index}]", delivery_id) for index, change in enumerate(changes)
        ]


def _non_empty_list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise PayloadInvalid({field: ["Must be a non-empty list of changes."]})
    return value


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadInvalid({field: ["Must be an object."]})
    return value


def _cloud_change(change: Any, path: str, delivery_id: str) -> PushEvent:
    """Read one of Cloud's ``push.changes``: ``new`` is null for a deletion, ``old`` for a creation."""
    change = _object(change, path)
    new, old = change.get("new"), change.get("old")
    if new is None and old is None:
        raise PayloadInvalid({f"{path}.new": [REQUIRED]})
    errors = FieldErrors()
    side, side_path = (new, f"{path}.new") if new is not None else (old, f"{path}.old")
    ref = _cloud_ref(_object(side, side_path), side_path, errors)
    after = _cloud_hash(new, f"{path}.new", errors) if new is not None else ZERO_SHA
    before = _cloud_hash(old, f"{path}.old", errors) if old is not None else ZERO_SHA
    errors.raise_if_any()
    return PushEvent(
        ref=ref,
        before=before,
        after=after,
        deleted=new is None or change.get("closed") is True,
        forced=change.get("forced") is True,
        delivery_id=delivery_id,
    )


def _cloud_ref(side: dict[str, Any], path: str, errors: FieldErrors) -> str | None:
    prefix = _CLOUD_REF_PREFIXES.get(side.get("type"))
    if prefix is None:
        errors.add(f"{path}.type", "Must be 'branch' or 'tag'.")
        return None
    name = side.get("name")
    if not name:
        errors.add(f"{path}.name", REQUIRED)
        return None
    return check_ref(f"{prefix}{name}" if isinstance(name, str) else name, f"{path}.name", errors)


def _cloud_hash(side: Any, path: str, errors: FieldErrors) -> str | None:
    target = _object(side, path).get("target")
    return check_sha(target.get("hash") if isinstance(target, dict) else None, f"{path}.target.hash", errors)


def _server_change(change: Any, path: str, delivery_id: str) -> PushEvent:
    """Read one of Data Center's ``changes``: type ADD, UPDATE or DELETE, with from/to hashes."""
    change = _object(change, path)
    errors = FieldErrors()
    ref_object = change.get("ref") if isinstance(change.get("ref"), dict) else {}
    ref = check_ref(change.get("refId") or ref_object.get("id"), f"{path}.refId", errors)
    before = check_sha(change.get("fromHash"), f"{path}.fromHash", errors)
    after = check_sha(change.get("toHash"), f"{path}.toHash", errors)
    errors.raise_if_any()
    return PushEvent(
        ref=ref,
        before=before,
        after=after,
        deleted=change.get("type") == "DELETE" or is_zero_sha(after),
        delivery_id=delivery_id,
    )
