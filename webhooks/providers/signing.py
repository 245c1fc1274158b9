"""Constant-time checks of webhook signatures and tokens: the one place a secret is compared."""

import hashlib
import hmac
from collections.abc import Callable

from webhooks.errors import SignatureMismatch, SignatureMissing

__all__ = [
    "verify_hmac",
    "verify_token",
]


def verify_hmac(
    signature: str | None,
    body: bytes,
    secret: str,
    *,
    header: str,
    digestmod: Callable = hashlib.sha256,
    prefix: str = "",
) -> None:
    """Check that ``signature`` (a header's value) is ``prefix`` + the hex HMAC of the raw ``body``.

    Raises SignatureMissing when the header is absent or empty, SignatureMismatch otherwise;
    ValueError when no secret is configured, since anyone can sign with an empty key.
    """
    given = _present(signature, header).lower()
    if not given.startswith(prefix):
        raise SignatureMismatch(f"{header} must start with {prefix!r}.")
    expected = hmac.new(_key(secret), body, digestmod).hexdigest()
    _compare(given.removeprefix(prefix), expected, header)


def verify_token(token: str | None, secret: str, *, header: str) -> None:
    """Check a shared-secret token header (GitLab's way) against ``secret``.

    Raises SignatureMissing when the header is absent or empty, SignatureMismatch otherwise.
    """
    _key(secret)
    _compare(_present(token, header), secret, header)


def _present(value: str | None, header: str) -> str:
    if not value or not value.strip():
        raise SignatureMissing(f"The {header} header is missing or empty.")
    return value.strip()


def _key(secret: str) -> bytes:
    if not secret:
        raise ValueError("A webhook secret must be configured to verify requests.")
    return secret.encode()


def _compare(given: str, expected: str, header: str) -> None:
    # Bytes, not str: compare_digest refuses non-ASCII str, and a sender controls `given`.
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureMismatch(f"The {header} header does not match the request.")
