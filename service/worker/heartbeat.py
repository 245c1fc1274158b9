"""The worker process's heartbeat: one thread stamping every run this process holds."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import update

from service.models import JobResult, Status, utcnow
from service.worker.claim import WORKER_ID

logger = logging.getLogger(__name__)


class ProcessHeartbeat:
    """One thread per worker process stamping every run it holds, whatever runs them."""

    def __init__(self):
        self._thread: threading.Thread | None = None
        self._runtime = None
        self._lock = threading.Lock()

    def ensure_running(self, current) -> None:
        with self._lock:
            if self._runtime is not current or self._thread is None or not self._thread.is_alive():
                self._runtime = current
                self._thread = threading.Thread(
                    target=self._beat, args=(current,), daemon=True, name="jobsync-heartbeat"
                )
                self._thread.start()

    def _beat(self, current) -> None:
        prefix = f"{WORKER_ID}:%"
        # Stop once this process is reconfigured or shut down: a new runtime starts its own thread.
        while self._runtime is current and not current.closed:
            time.sleep(current.settings.heartbeat_seconds)
            try:
                with current.db.session() as session:
                    session.execute(
                        update(JobResult)
                        .where(JobResult.status == Status.STARTED, JobResult.worker_id.like(prefix))
                        .values(heartbeat=utcnow())
                    )
            except Exception:  # a missed beat is retried next time; the thread must live on
                logger.warning("heartbeat update failed", exc_info=True)
