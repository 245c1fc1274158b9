"""Limits on unauthenticated webhook traffic: requests per source address, and unknown-slug counts.

Kept in the process's memory: a limit per web process is enough to stop one address filling the
database with rejected deliveries, and costs no round trip before the request is refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from service.errors import TooManyRequests

#: Addresses remembered at most; the oldest windows are forgotten first when more arrive.
MAX_ADDRESSES = 10_000
WINDOW_SECONDS = 60.0


class AddressRateLimit:
    """Allow each source address ``per_minute`` requests per fixed one-minute window."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def check(self, address: str | None) -> None:
        """Count one request from ``address``; raises TooManyRequests over the limit."""
        now, key = self._clock(), address or "unknown"
        with self._lock:
            started, count = self._windows.pop(key, (now, 0))
            if now - started >= WINDOW_SECONDS:
                started, count = now, 0
            self._windows[key] = (started, count + 1)  # re-inserted: newest last
            while len(self._windows) > MAX_ADDRESSES:
                self._windows.pop(next(iter(self._windows)))
        if count + 1 > self.per_minute:
            raise TooManyRequests(
                f"More than {self.per_minute} webhook requests a minute from this address "
                "(webhook_requests_per_minute); try again later."
            )


class UnknownSlugCounter:
    """Counts deliveries for repositories that do not exist: counted, never stored."""

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()

    def add(self) -> int:
        with self._lock:
            self.count += 1
            return self.count
