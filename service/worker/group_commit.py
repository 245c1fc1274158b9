"""Group commit: a worker process's threads share one transaction for what they finish together.

A thread hands its write to the committer and blocks until a transaction holding it committed
(or failed). The first thread to arrive while no transaction is under way leads: it takes every
write queued so far, commits them as one batch, then wakes their threads. Threads arriving
meanwhile wait and form the next batch, led by one of them. An idle worker commits a batch of
one at once, so batching adds no latency; a busy one pays one commit for many runs.

Because ``submit`` returns only once the write is committed, the caller (a Dramatiq actor)
returns, and its message is acked, only after the transaction holding its outcome committed.

Failures stay per write: a batch that fails for a reason other than an outage is rolled back and
its writes are committed one by one, so one write's bad data cannot fail the others. An outage
fails the whole batch; each thread gets the error and retries (service.infra.outage).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from service.infra.outage import outage_of

logger = logging.getLogger(__name__)

W = TypeVar("W")


class _Waiting(Generic[W]):
    __slots__ = ("write", "done", "error")

    def __init__(self, write: W):
        self.write = write
        self.done = False
        self.error: BaseException | None = None


class GroupCommitter(Generic[W]):
    """Commits writes handed over by many threads in shared transactions (leader and followers).

    ``commit_batch(writes)`` must write them all in one transaction; ``commit_one(write)`` writes
    one alone (used when a batch fails for one write's sake).
    """

    def __init__(self, commit_batch: Callable[[Sequence[W]], None], commit_one: Callable[[W], None]):
        self._commit_batch = commit_batch
        self._commit_one = commit_one
        self._changed = threading.Condition(threading.Lock())
        self._queued: list[_Waiting[W]] = []
        self._leading = False
        #: Batches committed and the writes they held (what the tests and the benchmark read).
        self.batches = self.writes = 0

    @property
    def waiting(self) -> int:
        """Writes queued for the next transaction while one is under way."""
        with self._changed:
            return len(self._queued)

    @property
    def busy(self) -> bool:
        """A transaction is under way."""
        with self._changed:
            return self._leading

    def submit(self, write: W) -> None:
        """Return once a committed transaction holds ``write``; raise what writing it raised."""
        waiting = _Waiting(write)
        with self._changed:
            self._queued.append(waiting)
            while not waiting.done and self._leading:
                self._changed.wait()
            leading = not waiting.done  # nobody is committing: lead, taking everything queued
            if leading:
                self._leading = True
                batch, self._queued = self._queued, []
        if leading:
            try:
                self._commit(batch)
            finally:
                with self._changed:
                    self._leading = False
                    for each in batch:
                        each.done = True
                    self.batches += 1
                    self.writes += len(batch)
                    self._changed.notify_all()
        if waiting.error is not None:
            raise waiting.error

    def _commit(self, batch: list[_Waiting[W]]) -> None:
        try:
            if len(batch) == 1:
                self._commit_one(batch[0].write)
            else:
                self._commit_batch([waiting.write for waiting in batch])
        except BaseException as exc:
            if len(batch) == 1 or outage_of(exc) is not None or not isinstance(exc, Exception):
                for waiting in batch:  # every write of the batch is retried (or fails) with it
                    waiting.error = exc
                return
            logger.warning("a batch of %d writes failed (%s): writing them one by one",
                           len(batch), type(exc).__name__)
            for waiting in batch:
                waiting.error = self._try_one(waiting.write)

    def _try_one(self, write: W) -> BaseException | None:
        try:
            self._commit_one(write)
        except Exception as exc:
            return exc
        return None
