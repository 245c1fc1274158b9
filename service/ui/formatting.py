"""How values look on the pages: times, durations, commits, remotes, JSON and status colours."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask

from service.ui.markdown import render_block, render_inline

STATUS_CLASSES = {"SUCCESS": "ok", "FAILURE": "bad", "REVOKED": "muted", "STARTED": "busy", "PENDING": "wait"}
OUTCOME_CLASSES = {"accepted": "ok", "ignored": "muted", "rejected": "bad", "duplicate": "wait",
                   "completed": "ok", "partial": "warn", "failed": "bad"}


def when(moment: datetime | None) -> str:
    """Format a timestamp in UTC to the second ("" when absent)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.isoformat(sep=" ", timespec="seconds")[:19] + " UTC"  # isoformat: cheaper than strftime


def iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat() if moment else ""


def duration(seconds: float | None) -> str:
    """Format seconds as ``0.42 s``, ``3 min 05 s`` or ``2 h 07 min``."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def short_sha(sha: str | None) -> str:
    return (sha or "")[:10]


def display_remote(url: str | None) -> str:
    """Show a remote without a password or an http(s) token it might carry (ssh's ``git@`` stays)."""
    if not url:
        return ""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if at and (":" in userinfo or parts.scheme in ("http", "https")):
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def commit_url(remote: str | None, sha: str | None) -> str | None:
    """Link to a commit on the repository's web host, when its remote is an https URL."""
    if not remote or not sha:
        return None
    parts = urlsplit(display_remote(remote))
    if parts.scheme != "https" or not parts.netloc:
        return None
    path = parts.path.rstrip("/").removesuffix(".git")
    segment = "commits" if "bitbucket" in parts.netloc else "commit"
    return urlunsplit(("https", parts.netloc, f"{path}/{segment}/{sha}", "", ""))


def first_line(text: str | None) -> str:
    """A description's summary: its first non-blank line."""
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=str, ensure_ascii=False)


def status_class(status: str | None) -> str:
    return STATUS_CLASSES.get(status or "", "muted")


def outcome_class(outcome: str | None) -> str:
    return OUTCOME_CLASSES.get(outcome or "", "muted")


def register_filters(app: Flask) -> None:
    """Make the formatting functions available to every template as filters."""
    app.add_template_filter(when, "when")
    app.add_template_filter(iso, "iso")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(short_sha, "short_sha")
    app.add_template_filter(display_remote, "display_remote")
    app.add_template_filter(pretty_json, "pretty_json")
    app.add_template_filter(first_line, "first_line")
    app.add_template_filter(status_class, "status_class")
    app.add_template_filter(outcome_class, "outcome_class")
    app.add_template_filter(render_inline, "markdown_inline")
    app.add_template_filter(render_block, "markdown")
    app.add_template_global(commit_url, "commit_url")
