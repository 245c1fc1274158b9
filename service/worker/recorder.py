"""Recording a run: its log lines and files as they arrive, its heartbeat, and its outcome."""

from __future__ import annotations

import logging
import uuid
from collections import Counter

from sqlalchemy import bindparam, insert, update

from service.models import JobLogEntry, JobOutputFile, JobResult, Status, utcnow
from service.runs.periodic import after_finish
from service.worker.claim import RUN_ID
from service.worker.job_process import ChildOutcome

logger = logging.getLogger(__name__)

_OUTCOME_FIELDS = ("status", "completed", "result", "error", "traceback", "log_counts")
_INSERT_LOGS = insert(JobLogEntry)
_BEAT = (
    update(JobResult)
    .where(JobResult.id == RUN_ID)
    .values(heartbeat=bindparam("beat"))
    .returning(JobResult.cancel_requested)
)
# A run cancelled or declared lost meanwhile is no longer STARTED, and keeps that ending.
_STORE_OUTCOME = (
    update(JobResult)
    .where(JobResult.id == RUN_ID, JobResult.status == Status.STARTED)
    .values({name: bindparam(f"outcome_{name}") for name in _OUTCOME_FIELDS})
)
_STORE_OUTCOME_NOTING_INTERVAL = _STORE_OUTCOME.returning(JobResult.interval)


class RunRecorder:
    """Writes a run's log entries and files as they arrive, each batch in its own transaction,
    so they survive whatever the job's own work does."""

    def __init__(self, db, job_result_id: uuid.UUID):
        self.db = db
        self.job_result_id = job_result_id
        self.pending: list[dict] = []
        self.counts: Counter[str] = Counter()

    def log(self, entry: dict) -> None:
        self.counts[entry["level"]] += 1
        self.pending.append({"id": uuid.uuid4(), "job_result_id": self.job_result_id, **entry})

    def file(self, name: str, content: bytes) -> None:
        with self.db.session() as session:
            session.add(
                JobOutputFile(job_result_id=self.job_result_id, name=name, content=content, size=len(content))
            )

    def take_pending(self) -> list[dict]:
        rows, self.pending = self.pending, []
        return rows

    def flush(self) -> None:
        rows = self.take_pending()
        if rows:
            with self.db.engine.begin() as connection:
                connection.execute(_INSERT_LOGS, rows)

    def heartbeat(self) -> bool:
        """Record that the run is alive (with its new log lines); return True if asked to stop."""
        rows = self.take_pending()
        with self.db.engine.begin() as connection:
            if rows:
                connection.execute(_INSERT_LOGS, rows)
            return bool(connection.scalar(_BEAT, {"run_id": self.job_result_id, "beat": utcnow()}))


def finish(
    db, job_result_id: uuid.UUID, outcome: ChildOutcome, recorder: RunRecorder, *, periodic: bool = True
) -> None:
    """Store the outcome and, in the same transaction, what follows it (a periodic run's successor);
    a run cancelled or declared lost meanwhile keeps that ending. ``periodic=False`` says the run
    has no interval, so nothing follows it."""
    rows = recorder.take_pending()
    counts = dict(recorder.counts) or dict(outcome.log_counts or {})
    values = dict(
        status=outcome.status,
        completed=utcnow(),
        result=outcome.result,
        error=outcome.error,
        traceback=outcome.traceback,
        log_counts=counts,
    )
    parameters = {"run_id": job_result_id, **{f"outcome_{name}": values[name] for name in _OUTCOME_FIELDS}}
    if not periodic:  # the common case: two statements, no ORM session
        _store_outcome(db, rows, parameters)
        return
    try:  # the last log lines, the outcome and the successor in one transaction
        with db.session() as session:
            connection = session.connection()
            if rows:
                connection.execute(_INSERT_LOGS, rows)
            stored = connection.execute(_STORE_OUTCOME_NOTING_INTERVAL, parameters).first()
            if stored is not None and stored.interval:  # only periodic runs have anything to follow
                after_finish(session, job_result_id)
    except Exception:  # never lose the outcome because its follow-up failed
        logger.exception("run %s: could not schedule what follows it", job_result_id)
        _store_outcome(db, rows, parameters)


def _store_outcome(db, rows: list[dict], parameters: dict) -> None:
    """Write the last log lines and the outcome in one transaction."""
    with db.engine.begin() as connection:
        if rows:
            connection.execute(_INSERT_LOGS, rows)
        connection.execute(_STORE_OUTCOME, parameters)
