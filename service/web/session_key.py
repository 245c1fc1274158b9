"""The key that signs session cookies: never the shipped default, never short.

A production key comes from configuration (``secret_key``, at least 32 bytes). Only the embedded
default (SQLite and the in-process broker) served on a loopback address may run without one: its
first start writes a random key to ``<data_dir>/secret_key`` (mode 0600) and later starts reuse it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from service.config import Settings
from service.errors import ConfigError

DEFAULT_SECRET_KEY = "change-me"
MIN_SECRET_KEY_BYTES = 32
KEY_FILE_NAME = "secret_key"


def is_loopback(host: str | None) -> bool:
    """Say whether ``host`` (an address or ``localhost``) only accepts connections from this machine."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_embedded(settings: Settings) -> bool:
    """Say whether ``settings`` are the embedded default: SQLite and the in-process broker."""
    return settings.redis_url is None and settings.sqlalchemy_url.startswith("sqlite")


def is_strong(key: str) -> bool:
    return key != DEFAULT_SECRET_KEY and len(key.encode()) >= MIN_SECRET_KEY_BYTES


def session_secret_key(settings: Settings, *, bind_host: str | None) -> str:
    """Return the key to sign sessions with; raises ConfigError naming ``secret_key`` if there is none.

    ``bind_host`` is the address the web server listens on (None: not known, e.g. a WSGI server).
    """
    if is_strong(settings.secret_key):
        return settings.secret_key
    if is_embedded(settings) and is_loopback(bind_host):
        return _generated_key(settings.data_path / KEY_FILE_NAME)
    raise ConfigError(
        f"config key 'secret_key': set a random value of at least {MIN_SECRET_KEY_BYTES} bytes "
        "(e.g. JOBSYNC_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))'))",
        key="secret_key")


def _generated_key(path: Path) -> str:
    """Read the key stored at ``path``, creating it (0600, random) on first use."""
    try:
        key = path.read_text(encoding="utf-8").strip()
        if is_strong(key):
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    os.chmod(temporary, 0o600)
    try:
        if path.exists():  # a short or default key someone wrote by hand: replace it
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # fails if another process got there first: then use theirs
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()
