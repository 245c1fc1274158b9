"""The worker process's heartbeat: one thread stamping the runs this process is really executing."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import bindparam, update

from service.infra.outage import DATABASE, outage_of, outages
from service.models import JobResult, Status, utcnow
from service.worker.live_runs import LiveRuns, live_runs

logger = logging.getLogger(__name__)

_BEAT_LIVE = (
    update(JobResult)
    .where(JobResult.id.in_(bindparam("live_ids", expanding=True)), JobResult.status == Status.STARTED)
    .values(heartbeat=bindparam("beat"))
)


def beat(db, runs: LiveRuns = live_runs) -> int:
    """Stamp every live run's heartbeat once; return how many rows were stamped."""
    ids = runs.alive_ids()
    if not ids:
        return 0
    with db.engine.begin() as connection:
        return connection.execute(_BEAT_LIVE, {"live_ids": ids, "beat": utcnow()}).rowcount


class ProcessHeartbeat:
    """One thread per worker process stamping the runs listed in ``live_runs`` whose thread lives.

    Never the runs a worker id merely names: a run whose thread died, or whose outcome the worker
    gave up recording, must stop beating so the scheduler's sweep can end it.
    """

    def __init__(self, runs: LiveRuns = live_runs):
        self.runs = runs
        self._thread: threading.Thread | None = None
        self._runtime = None
        self._lock = threading.Lock()
        self._wake = threading.Event()

    def ensure_running(self, current) -> None:
        with self._lock:
            if self._runtime is not current or self._thread is None or not self._thread.is_alive():
                self._runtime = current
                self._thread = threading.Thread(
                    target=self._beat, args=(current,), daemon=True, name="jobsync-heartbeat"
                )
                self._thread.start()

    def _beat(self, current) -> None:
        # Stop once this process is reconfigured or shut down (checked after each wait, before any
        # beat): a new runtime starts its own thread.
        while True:
            self._wake.wait(current.settings.heartbeat_seconds)
            if self._runtime is not current or current.closed:
                return
            self.beat_once(current)

    def beat_once(self, current) -> None:
        """Stamp the live runs once. A failed beat notes the outage; only a beat that reached the
        database says it is back (with nothing to stamp, the database was not asked)."""
        if not self.runs.alive_ids():
            return
        try:
            beat(current.db, self.runs)
        except Exception as exc:  # a missed beat is retried next time; the thread must live on
            if outage_of(exc) is None:
                logger.warning("heartbeat update failed", exc_info=True)
            else:
                outages.down(DATABASE, exc)
            return
        if outages.is_down(DATABASE):
            outages.up(DATABASE)
