"""Credentials references (``env:NAME``, ``file:/path``) and how each kind of secret reaches git.

The database stores only the reference; the secret is read when a fetch needs it and handed to git
through its environment (never a URL, ``.git/config``, a log line or an exception message).
"""

import base64
import os
import re
import shlex
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from repos.errors import CredentialsUnavailable
from service.jobs.errors import ValidationError

__all__ = ["Credentials", "credentials_environment", "resolve_credentials", "validate_credentials_reference"]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
REFERENCE_HINT = "Use env:NAME (an environment variable) or file:/absolute/path (a file holding the secret)."
BASE_SSH_COMMAND = "ssh -o BatchMode=yes"


@dataclass(frozen=True)
class Credentials:
    """A resolved secret and the reference it came from; the secret never shows in repr."""

    reference: str
    secret: str = field(repr=False)

    @property
    def is_ssh_key(self) -> bool:
        """Say whether the secret is an SSH private key rather than an HTTPS token."""
        return self.secret.lstrip().startswith("-----BEGIN") and "PRIVATE KEY-----" in self.secret

    @property
    def basic_auth_header(self) -> str:
        """Return the HTTP header carrying the token as GitHub/GitLab-style basic authentication."""
        pair = base64.b64encode(f"x-access-token:{self.secret}".encode()).decode("ascii")
        return f"Authorization: Basic {pair}"

    def redactions(self) -> list[str]:
        """Return every form of the secret that could show up in git's output."""
        header = self.basic_auth_header
        return [self.secret, header, header.rsplit(" ", 1)[1], f"x-access-token:{self.secret}"]


def validate_credentials_reference(reference: str | None) -> str | None:
    """Return ``reference`` if it has a known form (without reading it); raise ValidationError if not."""
    if reference is None or reference == "":
        return None
    if isinstance(reference, str):
        kind, _, target = reference.partition(":")
        if kind == "env" and _ENV_NAME.fullmatch(target):
            return reference
        if kind == "file" and target.startswith("/") and "\x00" not in target:
            return reference
    raise ValidationError({"credentials": [f"Unknown credentials reference form. {REFERENCE_HINT}"]})


def resolve_credentials(reference: str | None) -> Credentials | None:
    """Read the secret a reference names; raise CredentialsUnavailable if it is missing or empty."""
    if validate_credentials_reference(reference) is None:
        return None
    kind, _, target = reference.partition(":")
    if kind == "env":
        secret = os.environ.get(target, "")
        where = "environment variable"
    else:
        try:
            secret = Path(target).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            secret = ""
        where = "file"
    if not secret.strip():
        raise CredentialsUnavailable(f"Credentials reference {reference!r}: the {where} is missing or empty.")
    if "PRIVATE KEY-----" not in secret:
        secret = secret.strip()
    return Credentials(reference=reference, secret=secret)


@contextmanager
def credentials_environment(credentials: Credentials | None) -> Iterator[dict[str, str]]:
    """Yield the environment variables that hand ``credentials`` to git; remove any key file afterwards."""
    if credentials is None:
        yield {"GIT_SSH_COMMAND": BASE_SSH_COMMAND}
    elif credentials.is_ssh_key:
        with _private_key_file(credentials.secret) as key_path:
            yield {
                "GIT_SSH_COMMAND": f"{BASE_SSH_COMMAND} -o IdentitiesOnly=yes -i {shlex.quote(key_path)}",
            }
    else:
        yield {
            "GIT_SSH_COMMAND": BASE_SSH_COMMAND,
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": credentials.basic_auth_header,
        }


@contextmanager
def _private_key_file(key: str) -> Iterator[str]:
    # mkstemp creates the file 0600, which ssh insists on; ssh also needs the trailing newline.
    descriptor, path = tempfile.mkstemp(prefix="jobsync-key-")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(key.strip() + "\n")
        yield path
    finally:
        os.unlink(path)
