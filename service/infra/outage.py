"""Telling a backend outage from a bug, riding one out, and logging it once per transition.

An outage is an error that says the database or Redis could not be reached or dropped the
connection (a restart, a failover, a network cut): retrying later may succeed. Anything else is
a bug or bad data and is never retried here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from dramatiq.errors import BrokerConnectionError as DramatiqConnectionError
from sqlalchemy import exc as sa_exc

from service.errors import BrokerUnavailable, DatabaseUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

DATABASE, BROKER = "database", "redis"
#: First and longest pause between two attempts while a backend is down.
FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 2.0


def outage_of(exc: BaseException) -> str | None:
    """Return which backend ``exc`` says is down ("database" or "redis"), or None if it is no outage."""
    if isinstance(exc, DatabaseUnavailable):
        return DATABASE
    if isinstance(exc, BrokerUnavailable):
        return BROKER
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return DATABASE
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return DATABASE
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, DramatiqConnectionError)):
        return BROKER
    return None


def as_service_error(exc: BaseException) -> DatabaseUnavailable | BrokerUnavailable | None:
    """Translate an outage into our own named error (503 at the HTTP edge); None if it is no outage."""
    backend = outage_of(exc)
    if backend == DATABASE:
        if isinstance(exc, DatabaseUnavailable):
            return exc
        return DatabaseUnavailable("The database is unavailable.")
    if backend == BROKER:
        return exc if isinstance(exc, BrokerUnavailable) else BrokerUnavailable("The broker is unavailable.")
    return None


class OutageLog:
    """Log one line when a backend goes down and one when it is back, not one per failed call."""

    def __init__(self, log: logging.Logger = logger):
        self._log = log
        self._down: dict[str, str] = {}
        self._lock = threading.Lock()

    def down(self, backend: str, exc: BaseException) -> None:
        with self._lock:
            if backend in self._down:
                return
            self._down[backend] = type(exc).__name__
        self._log.warning("%s unavailable (%s): retrying", backend, type(exc).__name__)

    def up(self, backend: str) -> None:
        with self._lock:
            if self._down.pop(backend, None) is None:
                return
        self._log.warning("%s available again", backend)

    def all_up(self) -> None:
        for backend in list(self._down):
            self.up(backend)

    def is_down(self, backend: str) -> bool:
        return backend in self._down

    def forget(self) -> None:
        """Forget every outage without logging (tests start from a clean slate)."""
        with self._lock:
            self._down.clear()


#: The process's log of outage transitions (one per process: the transitions are the process's).
outages = OutageLog()


class OutageOutlasted(Exception):  # noqa: N818 - a state, like the leaves of service.errors
    """A backend stayed down longer than the time we were given to wait for it."""

    def __init__(self, what: str, seconds: float, cause: BaseException):
        super().__init__(f"{what}: the {outage_of(cause)} stayed unreachable for over {seconds:g} s")
        self.cause = cause


def retry_through_outage(
    operation: Callable[[], T],
    *,
    grace_seconds: float,
    what: str,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``operation`` until it succeeds, retrying outages with backoff for ``grace_seconds``.

    Raises OutageOutlasted when the outage lasts longer (or ``stop`` is set meanwhile); any other
    error at once.
    """
    deadline = clock() + grace_seconds
    pause, failed = FIRST_BACKOFF_SECONDS, None
    while True:
        try:
            value = operation()
        except Exception as exc:
            backend = outage_of(exc)
            if backend is None:
                raise
            outages.down(backend, exc)
            failed = backend
            remaining = deadline - clock()
            if remaining <= 0 or (stop is not None and stop.is_set()):
                raise OutageOutlasted(what, grace_seconds, exc) from exc
            (stop or threading.Event()).wait(min(pause, remaining))
            pause = min(pause * 2, MAX_BACKOFF_SECONDS)
            continue
        if failed is not None:
            outages.up(failed)
        return value
