"""Group commit: a worker process's threads share one transaction for what they write together.

Both a run's claim and its outcome go through a committer (service.worker.claim,
service.worker.outcome). A thread hands its write to the committer and blocks until a transaction
holding it committed
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
import weakref
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from service.infra.outage import outage_of

logger = logging.getLogger(__name__)

W = TypeVar("W")
R = TypeVar("R")


class _Waiting(Generic[W]):
    __slots__ = ("write", "done", "error", "result", "turn")

    def __init__(self, write: W):
        self.write = write
        self.done = False
        self.error: BaseException | None = None
        self.result = None
        # Released once for this thread alone: its write is done, or it leads the next batch. (One
        # lock each instead of a shared condition: a batch's end wakes no thread it does not concern.)
        self.turn = threading.Lock()
        self.turn.acquire()


class GroupCommitter(Generic[W, R]):
    """Commits writes handed over by many threads in shared transactions (leader and followers).

    ``commit_batch(writes)`` must write them all in one transaction and return each write's result
    in order (or None when writes have none); ``commit_one(write)`` writes one alone and returns its
    result (used for a batch of one, and when a batch fails for one write's sake).
    """

    def __init__(self, commit_batch: Callable[[Sequence[W]], Sequence[R] | None],
                 commit_one: Callable[[W], R]):
        self._commit_batch = commit_batch
        self._commit_one = commit_one
        self._lock = threading.Lock()
        self._queued: list[_Waiting[W]] = []
        self._leading = False
        #: Batches committed and the writes they held (what the tests and the benchmark read).
        self.batches = self.writes = 0

    @property
    def waiting(self) -> int:
        """Writes queued for the next transaction while one is under way."""
        with self._lock:
            return len(self._queued)

    @property
    def busy(self) -> bool:
        """A transaction is under way."""
        with self._lock:
            return self._leading

    def submit(self, write: W) -> R | None:
        """Return ``write``'s result once a committed transaction holds it; raise what writing it raised."""
        waiting = _Waiting(write)
        with self._lock:
            self._queued.append(waiting)
            follow, self._leading = self._leading, True
        if follow:
            waiting.turn.acquire()  # until a leader committed it, or made this thread the next leader
        if not waiting.done:  # lead: commit everything queued, then hand leadership on
            with self._lock:
                batch, self._queued = self._queued, []
            try:
                self._commit(batch)
            finally:
                with self._lock:
                    self.batches += 1
                    self.writes += len(batch)
                    following = self._queued[0] if self._queued else None
                    self._leading = following is not None
                for each in batch:
                    each.done = True
                    if each is not waiting:
                        each.turn.release()
                if following is not None:
                    following.turn.release()
        if waiting.error is not None:
            raise waiting.error
        return waiting.result

    def _commit(self, batch: list[_Waiting[W]]) -> None:
        try:
            if len(batch) == 1:
                batch[0].result = self._commit_one(batch[0].write)
            else:
                results = self._commit_batch([waiting.write for waiting in batch])
                for waiting, result in zip(batch, results or [None] * len(batch), strict=True):
                    waiting.result = result
        except BaseException as exc:
            if len(batch) == 1 or outage_of(exc) is not None or not isinstance(exc, Exception):
                for waiting in batch:  # every write of the batch is retried (or fails) with it
                    waiting.error = exc
                return
            logger.warning("a batch of %d writes failed (%s): writing them one by one",
                           len(batch), type(exc).__name__)
            for waiting in batch:
                self._try_one(waiting)

    def _try_one(self, waiting: _Waiting[W]) -> None:
        try:
            waiting.result = self._commit_one(waiting.write)
        except Exception as exc:
            waiting.error = exc


class Committers(Generic[W, R]):
    """The committer of each database in this process, shared by its threads, made on first use.

    ``commit_batch(db, writes)`` and ``commit_one(db, write)`` as GroupCommitter takes them.
    """

    def __init__(self, commit_batch: Callable[..., Sequence[R] | None], commit_one: Callable[..., R]):
        self._commit_batch, self._commit_one = commit_batch, commit_one
        self._committers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, db) -> GroupCommitter[W, R]:
        with self._lock:
            committer = self._committers.get(db)
            if committer is None:
                database = weakref.ref(db)  # the registry must not keep the database alive
                committer = self._committers[db] = GroupCommitter(
                    lambda writes: self._commit_batch(database(), writes),
                    lambda write: self._commit_one(database(), write))
            return committer
