"""Named credentials, pinned to hosts, and how each kind of secret reaches git.

Admins define credentials in configuration (``credentials: {name: {secret: env:NAME | file:/path,
hosts: [...]}}``); a repository stores only a credential's name. The secret is read when a fetch
needs it, only for a remote whose host the credential is pinned to, and handed to git through its
environment (never a URL, ``.git/config``, a log line or an exception message).
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

from repos.errors import CredentialNotPinned, CredentialsUnavailable
from repos.remotes import remote_host
from service.jobs.errors import ValidationError

__all__ = [
    "Credentials",
    "credentials_environment",
    "resolve_credentials",
    "resolve_named_credentials",
    "validate_credential_name",
    "validate_credentials_reference",
]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CREDENTIAL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
OLD_REFERENCE_HINT = ("Credentials references (env:NAME, file:/path) are no longer accepted on a repository: "
                      "an admin defines a named credential pinned to the remote's host under `credentials:` "
                      "in the configuration, and the repository names it.")
REFERENCE_HINT = "Use env:NAME (an environment variable) or file:/absolute/path (a file holding the secret)."
BASE_SSH_COMMAND = "ssh -o BatchMode=yes"


@dataclass(frozen=True)
class Credentials:
    """A resolved secret and the reference it came from; the secret never shows in repr."""

    reference: str  # the credential's name (or, for settings such as events_secret, the reference)
    secret: str = field(repr=False)
    hosts: tuple[str, ...] | None = None  # the hosts it may be sent to; None: not a git credential

    def allows(self, remote_url: str) -> bool:
        """Say whether this credential may be sent to ``remote_url``'s host."""
        host = remote_host(remote_url)
        return self.hosts is not None and host is not None and host in self.hosts

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


def validate_credential_name(name: str | None, definitions: dict, remote_url: str | None) -> str | None:
    """Return ``name`` if it names a configured credential pinned to ``remote_url``'s host.

    Raises ValidationError on "credentials" otherwise (naming only configured names and hosts).
    """
    if name is None or name == "":
        return None
    if not isinstance(name, str) or not CREDENTIAL_NAME.fullmatch(name):
        old_form = isinstance(name, str) and ":" in name
        message = OLD_REFERENCE_HINT if old_form else "A credential name has letters, digits, '.', '_', '-'."
        raise ValidationError({"credentials": [message]})
    definition = definitions.get(name)
    if definition is None:
        known = ", ".join(sorted(definitions)) or "none are configured"
        # The value is not echoed: someone may have typed the secret itself here.
        raise ValidationError({"credentials": [f"No credential has this name (configured: {known})."]})
    host = remote_host(remote_url or "")
    if host is None or host not in _hosts(definition):
        raise ValidationError({"credentials": [
            f"Credential {name!r} is pinned to {', '.join(_hosts(definition))}, not to this remote's host."]})
    return name


def resolve_named_credentials(name: str | None, definitions: dict, remote_url: str) -> Credentials | None:
    """Read the secret of the configured credential ``name`` for a fetch from ``remote_url``.

    Raises CredentialsUnavailable (unknown name, an old reference, an unreadable secret) or
    CredentialNotPinned (the remote's host is not one of the credential's hosts).
    """
    if not name:
        return None
    if ":" in name:
        raise CredentialsUnavailable(OLD_REFERENCE_HINT)
    definition = definitions.get(name)
    if definition is None:
        raise CredentialsUnavailable(f"No credential named {name!r} is configured.")
    hosts = _hosts(definition)
    if remote_host(remote_url) not in hosts:
        raise CredentialNotPinned(f"Credential {name!r} is not pinned to this remote's host; it is sent only "
                                  f"to {', '.join(hosts)}.")
    try:
        resolved = resolve_credentials(definition["secret"])
    except (CredentialsUnavailable, ValidationError):
        # Say nothing of whether a file exists or a variable is set: only that this name cannot be used.
        raise CredentialsUnavailable(f"The secret of credential {name!r} cannot be read.") from None
    return Credentials(reference=name, secret=resolved.secret, hosts=hosts)


def _hosts(definition: dict) -> tuple[str, ...]:
    return tuple(host.lower() for host in definition.get("hosts", ()))


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
        # No redirects: git would send the header on to wherever the pinned host redirects it.
        yield {
            "GIT_SSH_COMMAND": BASE_SSH_COMMAND,
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": credentials.basic_auth_header,
            "GIT_CONFIG_KEY_1": "http.followRedirects",
            "GIT_CONFIG_VALUE_1": "false",
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
