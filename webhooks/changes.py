"""Object change events without I/O: jobsync's own, NetBox's and Nautobot's webhook bodies in one shape.

The events blueprint checks the signature over the raw body first (``verify_netbox_signature``
or ``verify_jobsync_signature``), then calls ``parse_change_event``; job hooks match the result
by content type and action.
"""

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from webhooks.errors import PayloadInvalid
from webhooks.providers.payloads import REQUIRED, FieldErrors, load_json_object, lower_keys
from webhooks.providers.signing import verify_hmac

__all__ = [
    "ChangeEvent",
    "parse_change_event",
    "verify_jobsync_signature",
    "verify_netbox_signature",
]

Action = Literal["create", "update", "delete"]
Source = Literal["jobsync", "netbox", "nautobot"]

_ACTIONS = ("create", "update", "delete")
_EVENT_ACTIONS = {"created": "create", "updated": "update", "deleted": "delete"}
_OBJECT_TYPE = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?")
# Bookkeeping that changes on every save, so a difference there alone is no real update.
_VOLATILE_FIELDS = frozenset({"last_updated"})


@dataclass(frozen=True)
class ChangeEvent:
    """One object created, updated or deleted, whichever system reported it."""

    request_id: str | None
    action: Action
    object_type: str  # "app_label.model", or just "model" when the sender names no app
    object_id: str
    object_repr: str
    prechange: dict[str, Any] | None
    postchange: dict[str, Any] | None
    user: str | None
    time: datetime | None  # always timezone-aware
    source: Source

    @property
    def model(self) -> str:
        return self.object_type.rpartition(".")[2]

    @property
    def is_noop_update(self) -> bool:
        """Tell whether an update left the object as it was (a save with nothing changed)."""
        if self.action != "update" or self.prechange is None or self.postchange is None:
            return False
        return _significant(self.prechange) == _significant(self.postchange)

    def matches_content_type(self, content_type: str) -> bool:
        """Tell whether a hook's ``content_type`` covers this object.

        Full types must be equal; when either side is a bare model name, the models must be.
        """
        wanted = content_type.strip().lower()
        if "." in wanted and "." in self.object_type:
            return wanted == self.object_type
        return wanted.rpartition(".")[2] == self.model


def verify_netbox_signature(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Check NetBox's (and Nautobot's) ``X-Hook-Signature``: the hex HMAC-SHA512 of the raw body.

    Raises SignatureMissing or SignatureMismatch.
    """
    signature = lower_keys(headers).get("x-hook-signature")
    verify_hmac(signature, body, secret, header="X-Hook-Signature", digestmod=hashlib.sha512)


def verify_jobsync_signature(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Check our own ``X-Jobsync-Signature: sha256=<hex>`` over the raw body.

    Raises SignatureMissing or SignatureMismatch.
    """
    signature = lower_keys(headers).get("x-jobsync-signature")
    verify_hmac(signature, body, secret, header="X-Jobsync-Signature", prefix="sha256=")


def parse_change_event(body: bytes | Mapping[str, Any]) -> ChangeEvent:
    """Read a change event in jobsync's, NetBox's or Nautobot's default body.

    Raises PayloadInvalid naming each missing or bad field.
    """
    if isinstance(body, bytes | bytearray | str):
        payload = load_json_object(body)
    elif isinstance(body, Mapping):
        payload = dict(body)
    else:
        raise PayloadInvalid({"body": ["Must be a JSON object."]})
    if "action" in payload:
        return _from_jobsync(payload)
    if "event" in payload:
        return _from_webhook(payload)
    raise PayloadInvalid({"action": ["This field (or NetBox's and Nautobot's 'event') is required."]})


def _from_jobsync(payload: dict[str, Any]) -> ChangeEvent:
    errors = FieldErrors()
    action = payload.get("action")
    if action not in _ACTIONS:
        errors.add("action", "Must be one of create, update, delete.")
    object_id = _object_id(payload.get("object_id"), "object_id", errors)
    fields = {
        "request_id": _optional_str(payload.get("request_id"), "request_id", errors),
        "object_type": _object_type(payload.get("object_type"), "object_type", errors),
        "object_repr": _optional_str(payload.get("object_repr"), "object_repr", errors) or object_id,
        "prechange": _snapshot(payload.get("prechange"), "prechange", errors),
        "postchange": _snapshot(payload.get("postchange"), "postchange", errors),
        "user": _optional_str(payload.get("user"), "user", errors),
        "time": _time(payload.get("time"), "time", errors),
    }
    errors.raise_if_any()
    return ChangeEvent(action=action, object_id=object_id, source="jobsync", **fields)


def _from_webhook(payload: dict[str, Any]) -> ChangeEvent:
    """Read NetBox's or Nautobot's default webhook body (their template context, as JSON)."""
    errors = FieldErrors()
    action = _EVENT_ACTIONS.get(payload.get("event"))
    if action is None:
        errors.add("event", "Must be one of created, updated, deleted.")
    data = _mapping(payload.get("data"), "data", errors, required=True)
    snapshots = _mapping(payload.get("snapshots"), "snapshots", errors)
    # NetBox 4.4+ sends a `request` object in place of `username` and `request_id`.
    request = _mapping(payload.get("request"), "request", errors)
    id_field = "object_id" if "object_id" in payload else "data.id"
    object_id = _object_id(payload.get("object_id", data.get("id")), id_field, errors)
    fields = {
        "request_id": _optional_str(payload.get("request_id", request.get("id")), "request_id", errors),
        "object_type": _webhook_object_type(payload, data, errors),
        "object_repr": str(data.get("display") or data.get("name") or object_id),
        "prechange": _snapshot(snapshots.get("prechange"), "snapshots.prechange", errors),
        "postchange": _snapshot(snapshots.get("postchange"), "snapshots.postchange", errors),
        "user": _optional_str(payload.get("username", request.get("user")), "username", errors),
        "time": _time(payload.get("timestamp"), "timestamp", errors),
    }
    errors.raise_if_any()
    source = _guess_source(payload, data, snapshots)
    return ChangeEvent(action=action, object_id=object_id, source=source, **fields)


def _webhook_object_type(payload: dict[str, Any], data: dict[str, Any], errors: FieldErrors) -> str:
    if "object_type" in payload:  # NetBox 4
        return _object_type(payload["object_type"], "object_type", errors)
    if "model" not in payload:
        errors.add("object_type", "This field (or 'model' before NetBox 4 and in Nautobot) is required.")
        return ""
    model = _object_type(payload["model"], "model", errors)
    # Nautobot 2 serialises the full content type into the object; use it when it names the same model.
    full = data.get("object_type")
    if isinstance(full, str) and _OBJECT_TYPE.fullmatch(full.lower()) and full.lower().endswith(f".{model}"):
        return full.lower()
    return model


def _guess_source(payload: dict[str, Any], data: dict[str, Any], snapshots: dict[str, Any]) -> Source:
    """Tell NetBox from Nautobot by the marks each leaves; the bodies are otherwise alike."""
    if "object_type" in payload:  # NetBox 4 names the type at the top; Nautobot says `model`
        return "netbox"
    # Nautobot adds a `differences` snapshot and `natural_slug`/`object_type` to the data...
    if "differences" in snapshots or "natural_slug" in data or "object_type" in data:
        return "nautobot"
    # ...and keys objects by UUID, where NetBox uses integers.
    return "nautobot" if _is_uuid(data.get("id")) else "netbox"


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _significant(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in snapshot.items() if key not in _VOLATILE_FIELDS}


def _mapping(value: Any, field: str, errors: FieldErrors, *, required: bool = False) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if value is not None:
        errors.add(field, "Must be an object.")
    elif required:
        errors.add(field, REQUIRED)
    return {}


def _object_type(value: Any, field: str, errors: FieldErrors) -> str:
    if not value:
        errors.add(field, REQUIRED)
        return ""
    if not isinstance(value, str) or not _OBJECT_TYPE.fullmatch(value.strip().lower()):
        errors.add(field, "Must be 'app_label.model' or a model name.")
        return ""
    return value.strip().lower()


def _object_id(value: Any, field: str, errors: FieldErrors) -> str:
    if value is None or value == "":
        errors.add(field, REQUIRED)
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        errors.add(field, "Must be a string or an integer.")
        return ""
    return str(value)


def _optional_str(value: Any, field: str, errors: FieldErrors) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    errors.add(field, "Must be a string.")
    return None


def _snapshot(value: Any, field: str, errors: FieldErrors) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    errors.add(field, "Must be an object or null.")
    return None


def _time(value: Any, field: str, errors: FieldErrors) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        errors.add(field, "Must be an ISO 8601 date and time.")
        return None
    # Django sends aware times; a naive one can only mean UTC, its storage zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
