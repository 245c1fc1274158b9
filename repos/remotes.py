"""Validate remote URLs and refs before they reach a git command line, and scrub git's messages.

Git treats some URL and ref shapes as instructions (``ext::sh -c ...``, ``ssh://-oProxyCommand=...``,
``--upload-pack=...``), so only a small, known-safe set of forms is accepted.
"""

import re
import unicodedata
from urllib.parse import unquote, urlsplit

from service.jobs.errors import ValidationError

__all__ = [
    "MAX_REF_LENGTH",
    "MAX_URL_LENGTH",
    "remote_host",
    "scrub",
    "strip_userinfo",
    "validate_ref",
    "validate_remote_url",
]

MAX_URL_LENGTH = 2048
MAX_REF_LENGTH = 255

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_TRANSPORT_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*::")
# [user@]host:path, git's "scp-like" syntax: a colon before any slash.
_SCP_LIKE = re.compile(
    r"(?:(?P<user>[^@/:]+)@)?(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?P<path>[^/].*|/.+)"
)
_USER = re.compile(r"[A-Za-z0-9._~+-]+")
_REF_FORBIDDEN = re.compile(r"[~^:?*\[\\]")
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")

URL_HINT = "Use https://host/path, ssh://[user@]host/path or user@host:path."


def validate_remote_url(url: str, *, allow_local: bool = False) -> str:
    """Return ``url`` if git may fetch from it; raise ValidationError on "remote_url" if not."""
    problem = _remote_url_problem(url, allow_local=allow_local)
    if problem:
        raise ValidationError({"remote_url": [problem]})
    return url


def validate_ref(ref: str) -> str:
    """Return ``ref`` if it is a safe branch, tag or commit name; raise ValidationError on "branch" if not."""
    problem = _ref_problem(ref)
    if problem:
        raise ValidationError({"branch": [problem]})
    return ref


def remote_host(url: str) -> str | None:
    """Return the lower-case host git would connect to for ``url`` (None: a local path or unknown form)."""
    if not isinstance(url, str) or _TRANSPORT_PREFIX.match(url):
        return None
    scheme = _SCHEME.match(url)
    if scheme:
        if scheme.group(1).lower() not in ("https", "ssh"):
            return None
        try:
            host = urlsplit(url).hostname
        except ValueError:
            return None
        return host.lower() if host else None
    match = _SCP_LIKE.fullmatch(url)
    if not match or "/" in url.split(":", 1)[0]:
        return None
    return match.group("host").strip("[]").lower()


def strip_userinfo(text: str) -> str:
    """Remove ``user[:password]@`` from every URL in ``text``."""
    return _USERINFO.sub(r"\g<scheme>", text)


def scrub(text: str, secrets: list[str]) -> str:
    """Return ``text`` without URL userinfo or any of the known ``secrets``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return strip_userinfo(text)


def _has_unsafe_characters(text: str) -> bool:
    return any(char.isspace() or unicodedata.category(char).startswith("C") for char in text)


def _valid_user(user: str) -> bool:
    return _USER.fullmatch(user) is not None and not user.startswith("-")


def _has_parent_segment(path: str) -> bool:
    return ".." in unquote(path).replace("\\", "/").split("/")


def _remote_url_problem(url: object, *, allow_local: bool) -> str | None:
    if not isinstance(url, str) or not url:
        return "A remote URL is required."
    if len(url) > MAX_URL_LENGTH:
        return f"A remote URL has at most {MAX_URL_LENGTH} characters."
    if _has_unsafe_characters(url):
        return "A remote URL cannot contain whitespace or control characters."
    if url.startswith("-"):
        return "A remote URL cannot start with '-'."
    if _TRANSPORT_PREFIX.match(url):
        return f"Git's '<transport>::' syntax is not allowed. {URL_HINT}"
    scheme = _SCHEME.match(url)
    if scheme:
        return _url_with_scheme_problem(url, scheme.group(1).lower(), allow_local=allow_local)
    if url.startswith("/"):
        if not allow_local:
            return f"Local repositories are not allowed here. {URL_HINT}"
        return "A local path cannot contain '..' segments." if _has_parent_segment(url) else None
    return _scp_like_problem(url)


def _url_with_scheme_problem(url: str, scheme: str, *, allow_local: bool) -> str | None:
    if scheme == "file":
        if not allow_local:
            return f"file:// URLs are not allowed here. {URL_HINT}"
        path = url[len("file://") :]
        if not path.startswith("/"):
            return "A file:// URL needs an absolute path (file:///path/to/repo)."
        return "A file:// URL cannot contain '..' segments." if _has_parent_segment(path) else None
    if scheme not in ("https", "ssh"):
        return f"The {scheme}:// scheme is not allowed. {URL_HINT}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return "The remote URL is malformed."
    host = parts.hostname or ""
    if not host:
        return "The remote URL has no host."
    if host.startswith("-") or parts.netloc.startswith("-"):
        return "A remote host cannot start with '-'."
    if scheme == "https" and "@" in parts.netloc:
        return (
            "Do not put credentials in the URL; name a credential an admin configured for this host."
        )
    if scheme == "ssh" and parts.password is not None:
        return "Do not put a password in the URL; name a configured credential holding an SSH key."
    if parts.username is not None and not _valid_user(parts.username):
        return "The user name in the remote URL is not valid."
    if _has_parent_segment(parts.path):
        return "A remote URL cannot contain '..' segments."
    return None


def _scp_like_problem(url: str) -> str | None:
    match = _SCP_LIKE.fullmatch(url)
    if not match or "/" in url.split(":", 1)[0]:
        return f"The remote URL is not a recognised form. {URL_HINT}"
    user, host, path = match.group("user"), match.group("host"), match.group("path")
    if user is not None and not _valid_user(user):
        return "The user name in the remote URL is not valid."
    if host.startswith("-"):
        return "A remote host cannot start with '-'."
    if path.startswith("-"):
        return "A remote path cannot start with '-'."
    if _has_parent_segment(path):
        return "A remote URL cannot contain '..' segments."
    return None


def _ref_problem(ref: object) -> str | None:
    if not isinstance(ref, str) or not ref:
        return "A branch is required."
    if len(ref) > MAX_REF_LENGTH:
        return f"A branch name has at most {MAX_REF_LENGTH} characters."
    if _has_unsafe_characters(ref):
        return "A branch name cannot contain whitespace or control characters."
    if ref.startswith("-"):
        return "A branch name cannot start with '-'."
    if ".." in ref or "@{" in ref or ref == "@" or "::" in ref:
        return "A branch name cannot contain '..', '@{' or '::', nor be '@'."
    if _REF_FORBIDDEN.search(ref):
        return "A branch name cannot contain any of ~ ^ : ? * [ \\."
    if ref.startswith("/") or ref.endswith("/") or "//" in ref:
        return "A branch name cannot start or end with '/' or contain '//'."
    if ref.endswith(".") or any(part.startswith(".") or part.endswith(".lock") for part in ref.split("/")):
        return "A branch name component cannot start with '.', end with '.lock', nor the name end with '.'."
    return None
