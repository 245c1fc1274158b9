"""Giving a run up honestly: re-queued if none of its job code ran, else FAILURE with the reason.

Used when the worker cannot finish what it holds: the database stayed down past
``db_outage_grace_seconds`` while recording an outcome, or a stopping worker's grace ran out.
A run ended meanwhile (cancelled, declared lost by the scheduler) keeps that ending.
"""

from __future__ import annotations

import logging
import threading
import uuid

from sqlalchemy import update

from service.infra.outage import OutageOutlasted, retry_through_outage
from service.models import JobLogEntry, JobResult, Status, utcnow
from service.worker.recorder import RunRecorder, write_held

logger = logging.getLogger(__name__)

#: A give-up written in the background waits this long for the database before trying again.
BACKGROUND_GRACE_SECONDS = 3600.0


def release(db, run_id: uuid.UUID, *, job_code_started: bool, reason: str,
            recorder: RunRecorder | None = None) -> bool:
    """Re-queue or fail one STARTED run now; return True if this call changed it."""
    now = utcnow()
    where = (JobResult.id == run_id, JobResult.status == Status.STARTED)
    if job_code_started:
        values = dict(status=Status.FAILURE, completed=now, error=reason)
        level = "failure"
    else:  # nothing ran: the scheduler's next tick sends it again (enqueued cleared)
        values = dict(status=Status.PENDING, started=None, heartbeat=None, worker_id=None, enqueued=None)
        level, reason = "warning", f"{reason} Re-queued: none of its job code had run."
    rows = list(recorder.pending) if recorder else []
    files = list(recorder.files) if recorder else []
    with db.engine.begin() as connection:
        if not connection.execute(update(JobResult).where(*where).values(**values)).rowcount:
            return False
        write_held(connection, rows, files)
        connection.execute(JobLogEntry.__table__.insert(), [{
            "id": uuid.uuid4(), "job_result_id": run_id, "level": level, "grouping": "run",
            "message": reason, "object": None, "created": now}])
    logger.warning("run %s: %s", run_id, reason)
    return True


def release_when_back(db, run_id: uuid.UUID, *, job_code_started: bool, reason: str,
                      recorder: RunRecorder | None = None, stop: threading.Event | None = None) -> None:
    """Release the run from a background thread as soon as the database answers again."""

    def keep_trying() -> None:
        try:
            retry_through_outage(
                lambda: release(db, run_id, job_code_started=job_code_started, reason=reason,
                                recorder=recorder),
                grace_seconds=BACKGROUND_GRACE_SECONDS, what=f"run {run_id}: releasing it", stop=stop)
        except OutageOutlasted:  # the scheduler's sweep ends it ("worker lost") once the database is back
            logger.warning("run %s: left to the scheduler's sweep", run_id)

    threading.Thread(target=keep_trying, daemon=True, name=f"jobsync-release-{run_id}").start()
