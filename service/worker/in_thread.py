"""Running in the worker's own thread: JobRunners (the service's own work) and trusted fast jobs."""

from __future__ import annotations

import logging
import threading
import traceback
import uuid
from typing import Any

from sqlalchemy.orm import joinedload

from service.jobs.logs import level_name
from service.jobs.runner import find_runner
from service.models import Job, JobResult, Status, utcnow
from service.worker.job_process import (
    ChildOutcome,
    RunRequest,
    compute_key_request,
    execute_request,
    load_class,
    request_sanitiser,
)
from service.worker.recorder import RunRecorder


class _DirectSink:
    def __init__(self, recorder: RunRecorder):
        self.recorder = recorder

    def log(self, entry) -> None:
        self.recorder.log(entry.as_row())
        if len(self.recorder.pending) >= 100:
            self.recorder.flush()

    def save_file(self, name: str, content: bytes) -> None:
        self.recorder.file(name, content)


def runs_in_thread(settings, request: RunRequest) -> bool:
    """Whether this request's code runs in the worker's thread: ``isolation: thread`` and no
    dependency folder (repository packages are never imported into the worker itself)."""
    return settings.isolation == "thread" and request.environment is None


def run_in_thread(request: RunRequest, recorder: RunRecorder) -> ChildOutcome:
    """Trusted, high-rate work: run in this worker thread (soft limit only, no crash isolation)."""
    job_class = _load_in_thread(request)
    outcome = execute_request(job_class, request, _DirectSink(recorder))
    return ChildOutcome(outcome.status, outcome.result, outcome.error, outcome.traceback, outcome.log_counts,
                        retryable=outcome.retryable, chained=outcome.chained)


def compute_key_in_thread(request: RunRequest) -> ChildOutcome:
    """Compute the job's concurrency key in this thread, as ``run_in_thread`` would run the job."""
    try:
        job_class = _load_in_thread(request)
    except Exception as exc:  # job code failing to import is the run's failure, not the worker's
        return ChildOutcome("FAILURE", error=f"Could not load job: {type(exc).__name__}: {exc}",
                            traceback=traceback.format_exc())
    answer = compute_key_request(job_class, request, request_sanitiser(request))
    return ChildOutcome(answer["status"], answer.get("result"), answer.get("error"), answer.get("traceback"))


def _load_in_thread(request: RunRequest):
    with _thread_load_lock:  # sys.modules is shared by every thread of this process
        return load_class(request, _thread_loaded_commits)


_thread_load_lock = threading.Lock()
_thread_loaded_commits: dict[str, str] = {}


def run_runner(current, result_id: uuid.UUID, recorder: RunRecorder) -> ChildOutcome:
    """Run a JobRunner (the service's and extensions' own background work) in this thread."""
    with current.db.session() as session:  # the runner gets its row as ``self.job``
        result = session.get(
            JobResult,
            result_id,
            options=[joinedload(JobResult.job).joinedload(Job.repository), joinedload(JobResult.user)],
        )
    runner_class = find_runner(result.runner)
    runner = runner_class()
    runner.runtime = current  # the service's own runners reach the database through it
    runner.logger.addHandler(_RecorderHandler(recorder))
    payload: dict[str, Any] = dict(result.input_data or {})
    try:
        value = runner.handle(result, *payload.get("args", []), **payload.get("kwargs", {}))
    except Exception as exc:  # NetBox marks these "completed"; we record the truth
        error = f"{type(exc).__name__}: {exc}"
        recorder.log(
            {"level": "error", "message": error, "grouping": "run", "object": None, "created": utcnow()}
        )
        return ChildOutcome(Status.FAILURE, None, error, traceback.format_exc(),
                            retryable=runner_class.retry_policy.retries_exception(exc))
    return ChildOutcome(Status.SUCCESS, value)


class _RecorderHandler(logging.Handler):
    def __init__(self, recorder: RunRecorder):
        super().__init__(logging.DEBUG)
        self.recorder = recorder

    def emit(self, record: logging.LogRecord) -> None:
        self.recorder.log(
            {
                "level": level_name(record.levelno),
                "message": record.getMessage(),
                "grouping": getattr(record, "grouping", "run"),
                "object": None,
                "created": utcnow(),
            }
        )
