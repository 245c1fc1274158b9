"""Recording a run: its log lines and files as they arrive, its heartbeat, and its outcome.

Through a database outage nothing is lost: log lines and files that could not be written stay
in memory and go with the next write, or with the outcome (service.worker.outcome).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import Counter

from sqlalchemy import bindparam, insert, update

from service.infra.outage import DATABASE, outage_of, outages
from service.models import JobLogEntry, JobOutputFile, JobResult, utcnow
from service.worker.claim import RUN_ID

logger = logging.getLogger(__name__)

_INSERT_LOGS = insert(JobLogEntry)
_INSERT_FILES = insert(JobOutputFile)
_BEAT = (
    update(JobResult)
    .where(JobResult.id == RUN_ID)
    .values(heartbeat=bindparam("beat"))
    .returning(JobResult.cancel_requested)
)
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
