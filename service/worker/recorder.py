"""Recording a run: its log lines and files as they arrive, its heartbeat, and its outcome.

Through a database outage nothing is lost: log lines and files that could not be written stay
in memory and go with the next write, and ``finish`` can be retried until it succeeds
(service.worker.engine retries it for ``db_outage_grace_seconds``).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import Counter

from sqlalchemy import bindparam, insert, update

from service.infra.outage import DATABASE, outage_of, outages
from service.models import JobLogEntry, JobOutputFile, JobResult, Status, utcnow
from service.runs.chains import start_next
from service.runs.concurrency import release
from service.runs.periodic import after_finish
from service.runs.retries import schedule_retry
from service.worker.claim import RUN_ID
from service.worker.job_process import ChildOutcome

logger = logging.getLogger(__name__)

_OUTCOME_FIELDS = ("status", "completed", "result", "error", "traceback", "log_counts")
_INSERT_LOGS = insert(JobLogEntry)
_INSERT_FILES = insert(JobOutputFile)
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


@dataclasses.dataclass(frozen=True)
class RecordLimits:
    """How much one run may write (settings ``log_line_max_chars``, ``log_lines_max_per_run`` and
    ``output_files_max_per_run``): a runaway job fills neither the database nor the run's page."""

    line_chars: int = 10_000
    lines: int = 1_000_000
    files: int = 100

    @classmethod
    def from_settings(cls, settings) -> RecordLimits:
        return cls(line_chars=settings.log_line_max_chars, lines=settings.log_lines_max_per_run,
                   files=settings.output_files_max_per_run)


class RunRecorder:
    """Writes a run's log entries and files as they arrive, each batch in its own transaction,
    so they survive whatever the job's own work does; holds them while the database is down."""

    def __init__(self, db, job_result_id: uuid.UUID, limits: RecordLimits = RecordLimits()):
        self.db = db
        self.job_result_id = job_result_id
        self.limits = limits
        self.pending: list[dict] = []
        self.files: list[dict] = []  # output files not yet written (the database was down)
        self.counts: Counter[str] = Counter()
        self.lines = self.dropped = self.file_count = 0

    def log(self, entry: dict) -> None:
        self.lines += 1
        if self.lines > self.limits.lines:
            self.dropped += 1
            if self.dropped == 1:
                self._add({**entry, "level": "warning", "message": (
                    f"Further log lines are dropped: a run may log {self.limits.lines} lines"
                    " (log_lines_max_per_run).")})
            return
        message = entry.get("message") or ""
        if len(message) > self.limits.line_chars:
            entry = {**entry, "message": f"{message[:self.limits.line_chars]}… (cut: the line had "
                                         f"{len(message)} characters; log_line_max_chars)"}
        self._add(entry)

    def _add(self, entry: dict) -> None:
        self.counts[entry["level"]] += 1
        self.pending.append({"id": uuid.uuid4(), "job_result_id": self.job_result_id, **entry})

    def file(self, name: str, content: bytes) -> None:
        self.file_count += 1
        if self.file_count > self.limits.files:
            self._add({"level": "error", "grouping": "run", "created": utcnow(), "object": None,
                       "message": f"The file {name!r} was not stored: a run may store {self.limits.files}"
                                  " files (output_files_max_per_run)."})
            return
        self.files.append(
            {"id": uuid.uuid4(), "job_result_id": self.job_result_id, "name": name, "content": content,
             "size": len(content), "created": utcnow()}
        )
        self._write_held(beat=False)

    def take_pending(self) -> list[dict]:
        rows, self.pending = self.pending, []
        return rows

    def flush(self) -> None:
        self._write_held(beat=False)

    def heartbeat(self) -> bool:
        """Record that the run is alive (with its new log lines); return True if asked to stop.

        While the database is down the lines stay held and the run goes on (False).
        """
        return bool(self._write_held(beat=True))

    def _write_held(self, *, beat: bool):
        rows, files = self.pending, self.files
        self.pending, self.files = [], []
        try:
            with self.db.engine.begin() as connection:
                write_held(connection, rows, files)
                if beat:
                    return connection.scalar(_BEAT, {"run_id": self.job_result_id, "beat": utcnow()})
        except Exception as exc:
            if outage_of(exc) is None:
                raise
            outages.down(DATABASE, exc)
            self.pending, self.files = rows + self.pending, files + self.files  # keep them, in order
            return None
        return None


def write_held(connection, rows: list[dict], files: list[dict]) -> None:
    if rows:
        connection.execute(_INSERT_LOGS, rows)
    if files:
        connection.execute(_INSERT_FILES, files)


def finish(
    db, job_result_id: uuid.UUID, outcome: ChildOutcome, recorder: RunRecorder, *, periodic: bool = True,
    keyed: bool = True, known_queues: tuple[str, ...] = (),
) -> None:
    """Store the outcome and, in the same transaction, what follows it (a periodic run's successor,
    the release of its concurrency key, its next attempt); a run cancelled or declared lost meanwhile
    keeps that ending. ``periodic=False`` says the run has no interval, ``keyed=False`` that it holds
    no key; ``known_queues`` are where runs its job chains to may go."""
    rows, files = list(recorder.pending), list(recorder.files)  # kept until written: finish may be retried
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
    # A failure by a retried exception, or by a job process that died, may have a next attempt.
    died = outcome.killed == "died"
    retry = outcome.status == Status.FAILURE and (outcome.retryable or died)
    chain = known_queues if outcome.chained else None
    if not periodic and not keyed and not retry and chain is None:  # the common case: no ORM session
        _store_outcome(db, rows, files, parameters)
    else:
        _store_outcome_and_successor(db, job_result_id, rows, files, parameters, keyed=keyed,
                                     retry=retry, lost=died, chain=chain)
    recorder.pending, recorder.files = recorder.pending[len(rows):], recorder.files[len(files):]


def _store_outcome_and_successor(
    db, job_result_id, rows: list[dict], files: list[dict], parameters: dict, *, keyed: bool,
    retry: bool = False, lost: bool = False, chain: tuple[str, ...] | None = None,
):
    try:  # the last log lines, the outcome and the successor in one transaction
        with db.session() as session:
            connection = session.connection()
            write_held(connection, rows, files)
            stored = connection.execute(_STORE_OUTCOME_NOTING_INTERVAL, parameters).first()
            if stored is not None and keyed:
                release(session, job_result_id)
            retried = stored is not None and retry and schedule_retry(
                session, job_result_id, lost=lost, now=parameters["outcome_completed"]) is not None
            if stored is not None and chain is not None:
                start_next(session, job_result_id, known_queues=chain, retrying=retried)
            if stored is not None and stored.interval:  # only periodic runs have anything to follow
                after_finish(session, job_result_id)
    except Exception as exc:  # never lose the outcome (the scheduler frees a slot left behind)
        if outage_of(exc) is not None:
            raise  # retried whole by the caller
        logger.exception("run %s: could not schedule what follows it", job_result_id)
        _store_outcome(db, rows, files, parameters)


def _store_outcome(db, rows: list[dict], files: list[dict], parameters: dict) -> None:
    """Write the last log lines, files and the outcome in one transaction."""
    with db.engine.begin() as connection:
        write_held(connection, rows, files)
        connection.execute(_STORE_OUTCOME, parameters)
