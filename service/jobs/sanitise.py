"""Redact credentials from text before it is logged, stored or shown.

Best effort, like Nautobot's ``sanitize()``: the patterns target the shapes secrets take in
URLs, key/value pairs, HTTP headers and well-known token formats, and leave ordinary prose alone.
"""

import re
from collections.abc import Callable, Iterable
from typing import Any

REDACTED = "********"

_SECRET_KEY = r"[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key)[\w-]*"
# A value already redacted, followed by its end: leave it alone so sanitising twice is harmless.
_ALREADY_REDACTED = r"\*{8}(?:[\s\"'&,;}]|$)"

DEFAULT_PATTERNS: list[tuple[str, str]] = [
    # https://user:secret@host -> https://user:********@host (any scheme; the password may hold '@').
    (r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s/@:]+):([^\s/]+)@", rf"\1\2:{REDACTED}@"),
    # https://TOKEN@host: over HTTP(S) a lone userinfo is a token (ssh://git@host is left alone).
    (r"(?i)\b(https?://)(?!\*{8}@)([^\s/@:]+)@", rf"\1{REDACTED}@"),
    # Authorization: Token|Bearer|Basic <credential>
    (r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?(?:token|bearer|basic)\s+)[^\s\"',;]+", rf"\1{REDACTED}"),
    # password="...", "token": 'a b c': a quoted value is redacted whole, spaces included.
    (rf"(?i)\b({_SECRET_KEY})([\"']?\s*[:=]\s*)([\"'])(?!\*{{8}}\3)[^\"'\n]*\3", rf"\1\2\3{REDACTED}\3"),
    # password=..., token: ..., api_key: ..., client_secret=...
    (
        rf"(?i)\b({_SECRET_KEY})([\"']?\s*[:=]\s*)(?![\"']|{_ALREADY_REDACTED})[^\s\"'&,;}}]+",
        rf"\1\2{REDACTED}",
    ),
    # GitHub tokens (classic and fine-grained) and GitLab personal access tokens.
    (r"\b(gh[pousr]_)[A-Za-z0-9]{16,}", rf"\1{REDACTED}"),
    (r"\b(github_pat_)[A-Za-z0-9_]{16,}", rf"\1{REDACTED}"),
    (r"\b(glpat-)[A-Za-z0-9_-]{16,}", rf"\1{REDACTED}"),
]

Replacement = str | Callable[[re.Match[str]], str]


class Sanitiser:
    """Callable that applies ``(regex, replacement)`` pairs, in order, to every text it is given."""

    def __init__(self, patterns: Iterable[tuple[str | re.Pattern[str], Replacement]] = DEFAULT_PATTERNS):
        self.patterns = [(re.compile(pattern), replacement) for pattern, replacement in patterns]

    def __call__(self, text: Any) -> str:
        text = "" if text is None else str(text)
        for pattern, replacement in self.patterns:
            text = pattern.sub(replacement, text)
        return text
