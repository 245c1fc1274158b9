"""Run a job in-process and inspect everything it did: for job authors' tests and ours."""

from dataclasses import dataclass, field
from typing import Any

from .base import Job
from .lifecycle import execute
from .logs import LogEntry


@dataclass
class MemorySink:
    """A sink keeping log entries and created files in memory."""

    logs: list[LogEntry] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)

    def log(self, entry: LogEntry) -> None:
        self.logs.append(entry)

    def save_file(self, name: str, content: bytes) -> None:
        self.files[name] = content


@dataclass(frozen=True)
class TestRun:
    """What one test run produced: the outcome plus the logs and files the sink received."""

    __test__ = False  # a result, not a pytest test class

    status: str
    result: Any
    error: str | None
    traceback: str | None
    logs: list[LogEntry]
    files: dict[str, bytes]
    log_counts: dict[str, int]
    dryrun: bool = False

    def messages(self, level: str | None = None) -> list[str]:
        """Return the logged messages, optionally only those at ``level``."""
        return [entry.message for entry in self.logs if level is None or entry.level == level]


def run_job_for_testing(
    job_class: type[Job],
    data: dict | None = None,
    dryrun: bool | None = False,
    user: Any = None,
    **options: Any,
) -> TestRun:
    """Run ``job_class`` with ``data`` through the real lifecycle driver and return a TestRun.

    Extra keyword options (``files``, ``sanitiser``, ``max_file_bytes``, ``job_result``,
    ``task_id``) are passed on to ``execute``.
    """
    sink = MemorySink()
    outcome = execute(job_class, data, sink=sink, dryrun=dryrun, user=user, **options)
    return TestRun(
        status=outcome.status,
        result=outcome.result,
        error=outcome.error,
        traceback=outcome.traceback,
        logs=sink.logs,
        files=sink.files,
        log_counts=outcome.log_counts,
        dryrun=outcome.dryrun,
    )
