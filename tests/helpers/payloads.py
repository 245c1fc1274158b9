"""Realistic webhook bodies (trimmed from each provider's documented examples) and signing helpers."""

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).resolve().parents[1] / "webhooks" / "providers" / "payloads"
SECRET = "It's a Secret to Everybody"
ZERO = "0" * 40


def payload(name: str) -> bytes:
    """Return a stored body's raw bytes, exactly as a provider would send them."""
    return (PAYLOADS / f"{name}.json").read_bytes()


def payload_json(name: str) -> dict[str, Any]:
    return json.loads(payload(name))


def changed(name: str, **fields: Any) -> bytes:
    """Return a stored body with top-level fields replaced (a field set to ... is removed)."""
    data = payload_json(name)
    for field, value in fields.items():
        if value is ...:
            data.pop(field, None)
        else:
            data[field] = value
    return json.dumps(data).encode()


def hex_hmac(body: bytes, secret: str = SECRET, digest=hashlib.sha256) -> str:
    return hmac.new(secret.encode(), body, digest).hexdigest()


def sha256_header(body: bytes, secret: str = SECRET) -> str:
    return f"sha256={hex_hmac(body, secret)}"
