"""Reading untrusted webhook headers and bodies into checked values, naming each bad field."""

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from webhooks.errors import PayloadInvalid

__all__ = [
    "FieldErrors",
    "REQUIRED",
    "body_digest",
    "check_ref",
    "check_sha",
    "first_header",
    "is_zero_sha",
    "load_json_object",
    "load_payload",
    "lower_keys",
]

REQUIRED = "This field is required."
_FORM = "application/x-www-form-urlencoded"
# SHA-1 ids are 40 hex digits, SHA-256 repositories' 64; anything else never reaches git.
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# A full ref without the characters git forbids; `..` is checked apart.
_REF = re.compile(r"refs/[^\x00-\x20\x7f~^:?*\[\\]+")


class FieldErrors:
    """Collects field -> messages while reading a payload, to report every bad field at once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise PayloadInvalid(self.fields)


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """Return the headers keyed by lower-case name, since HTTP header names ignore case."""
    return {str(name).lower(): str(value).strip() for name, value in headers.items()}


def first_header(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    """Return the first non-empty value among the lower-case header ``names``."""
    return next((headers[name] for name in names if headers.get(name)), None)


def body_digest(body: bytes) -> str:
    """Return a stable id for a body, for senders that give none: a retry repeats the same bytes."""
    return hashlib.sha256(body).hexdigest()


def load_json_object(body: bytes | str) -> dict[str, Any]:
    """Decode ``body`` as a JSON object; raise PayloadInvalid naming ``body`` when it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, or absurd nesting
        raise PayloadInvalid({"body": ["Must be valid JSON."]}) from exc
    if not isinstance(data, dict):
        raise PayloadInvalid({"body": ["Must be a JSON object."]})
    return data


def load_payload(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """Decode a JSON body, or the JSON in the ``payload`` field of a form-encoded one."""
    if headers.get("content-type", "").lower().startswith(_FORM):
        try:
            values = parse_qs(body.decode(), strict_parsing=True).get("payload")
        except (ValueError, UnicodeDecodeError) as exc:
            raise PayloadInvalid({"body": ["Must be valid form data."]}) from exc
        if not values:
            raise PayloadInvalid({"payload": [REQUIRED]})
        return load_json_object(values[0])
    return load_json_object(body)


def is_zero_sha(sha: str | None) -> bool:
    """Tell whether ``sha`` is git's all-zero id, which stands for "no commit" (created or deleted)."""
    return bool(sha) and set(sha) == {"0"}


def check_sha(value: Any, field: str, errors: FieldErrors, *, required: bool = True) -> str | None:
    """Return ``value`` as a lower-case commit id, or record why it is not one."""
    if value is None or value == "":
        if required:
            errors.add(field, REQUIRED)
        return None
    if not isinstance(value, str) or not _SHA.fullmatch(value.lower()):
        errors.add(field, "Must be a 40- or 64-character hex commit id.")
        return None
    return value.lower()


def check_ref(value: Any, field: str, errors: FieldErrors) -> str | None:
    """Return ``value`` as a full ref (``refs/...``), or record why it is not one."""
    if value is None or value == "":
        errors.add(field, REQUIRED)
        return None
    if not isinstance(value, str) or not _REF.fullmatch(value) or ".." in value or value.endswith("/"):
        errors.add(field, "Must be a full git ref such as refs/heads/main.")
        return None
    return value
