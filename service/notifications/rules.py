"""Which rules an event matches: pure functions over a rule's fields and an ``Event``."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

#: Filters a rule may set; an event matches a filter it has the same value for (None: any).
FILTERS = ("job", "grouping", "repository", "queue")


@dataclasses.dataclass(frozen=True)
class Event:
    """Something that happened, with the few facts a message tells (never a run's input)."""

    kind: str  # one of service.models.notification.EVENTS
    title: str
    job: str | None = None  # class path
    job_name: str | None = None
    grouping: str | None = None
    repository: str | None = None  # slug
    queue: str | None = None
    run_id: str | None = None
    status: str | None = None
    commit: str | None = None
    error: str | None = None  # the first line only
    failures: int | None = None  # consecutive_failures: the streak's length
    minutes: int | None = None  # queue_without_workers: whole minutes without workers


def matches(rule, event: Event) -> bool:
    """Say whether the enabled ``rule`` asks to hear about ``event``."""
    if not rule.enabled or event.kind not in (rule.events or ()):
        return False
    for name in FILTERS:
        wanted = getattr(rule, name)
        if wanted and wanted != getattr(event, name):
            return False
    if event.kind == "consecutive_failures":
        return event.failures == rule.failures  # once, when the streak reaches it
    if event.kind == "queue_without_workers":
        return event.minutes == rule.idle_minutes  # the watcher reports each whole minute once
    return True


def throttled(last_sent: datetime | None, now: datetime, min_interval_seconds: float) -> bool:
    """Say whether a rule that last sent at ``last_sent`` must hold this message back."""
    return last_sent is not None and now - last_sent < timedelta(seconds=min_interval_seconds)


def first_line(text: str | None, limit: int = 300) -> str | None:
    """The first non-empty line of an error, clipped: messages never carry whole tracebacks."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:limit]
    return None
