"""Turn a JobResult into a run: claim it, load the pinned code, run it, record what happened.

Knows nothing about HTTP. Called by the worker actors with a JobResult id; idempotent, because
the claim is one conditional UPDATE (PENDING -> STARTED): a message delivered twice runs once.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections import Counter
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import joinedload

from repos.checkouts import materialise_version
from service import runtime
from service.dispatch import take_sensitive_input
from service.extensions import EXTENSIONS_SOURCE, extension_module
from service.local_jobs import LOCAL_NAMESPACE
from service.models import Job, JobLogEntry, JobOutputFile, JobResult, Status, utcnow
from service.repositories import open_backend
from service.sandbox import ChildOutcome, JobProcessPool, RunRequest, execute_request, load_class

logger = logging.getLogger(__name__)

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
_pool = JobProcessPool()


def worker_id() -> str:
    return f"{WORKER_ID}:{threading.get_ident()}"


def _claim_statement(job_result_id: uuid.UUID, now: datetime):
    return (
        update(JobResult)
        .where(
            JobResult.id == job_result_id,
            JobResult.status == Status.PENDING,
            JobResult.cancel_requested.is_(False),
            (JobResult.scheduled_at.is_(None)) | (JobResult.scheduled_at <= now),
        )
        .values(
            status=Status.STARTED,
            started=now,
            heartbeat=now,
            worker_id=worker_id(),
            attempts=JobResult.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )


def claim(db, job_result_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """Atomically move a due, uncancelled PENDING result to STARTED; False if someone else did."""
    with db.session() as session:
        return session.execute(_claim_statement(job_result_id, now or utcnow())).rowcount == 1


def claim_and_load(db, job_result_id: uuid.UUID, *, now: datetime | None = None) -> JobResult | None:
    """Claim the run and load everything running it needs, in one transaction; None if not ours."""
    with db.session() as session:
        if session.execute(_claim_statement(job_result_id, now or utcnow())).rowcount != 1:
            return None
        return session.scalars(
            select(JobResult)
            .where(JobResult.id == job_result_id)
            .options(joinedload(JobResult.job).joinedload(Job.repository), joinedload(JobResult.user))
        ).one()


def _may_have_transient_input(result: JobResult) -> bool:
    """Only sensitive jobs and jobs taking files stash input beside the broker (see runs.py)."""
    job = result.job
    return job is not None and (
        job.has_sensitive_variables or any(v.get("type") == "FileVar" for v in job.variables or [])
    )


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
            with self.db.session() as session:
                session.execute(insert(JobLogEntry), rows)

    def heartbeat(self) -> bool:
        """Record that the run is alive (with its new log lines); return True if asked to stop."""
        rows = self.take_pending()
        with self.db.session() as session:
            if rows:
                session.execute(insert(JobLogEntry), rows)
            return bool(
                session.scalar(
                    update(JobResult)
                    .where(JobResult.id == self.job_result_id)
                    .values(heartbeat=utcnow())
                    .returning(JobResult.cancel_requested)
                    .execution_options(synchronize_session=False)
                )
            )


def _checkout_for(settings, job: Job, commit: str) -> str:
    """Return the checkout of ``commit``, materialising it first if this machine lacks it."""
    backend = open_backend(job.repository, settings)
    return str(
        materialise_version(
            settings.data_dir, job.repository.slug, commit, partial(backend.materialise, commit)
        )
    )


def _uploaded_files(transient: dict) -> dict:
    from service.jobs import UploadedFile

    return {
        field: UploadedFile(name=item["name"], content=base64.b64decode(item["content"]))
        for field, item in (transient.get("files") or {}).items()
    }


def build_request(settings, result: JobResult, transient: dict) -> RunRequest:
    job = result.job
    if job is None:
        raise RuntimeError("its job record was deleted")
    namespace = checkout = None
    module_name = job.module_name
    if job.source == "git":
        if job.repository is None or not result.commit:
            raise RuntimeError("its repository was removed")
        namespace, checkout = job.repository.slug, _checkout_for(settings, job, result.commit)
    elif job.source == "local":
        if not settings.jobs_root:
            raise RuntimeError("jobs_root is not configured on this worker")
        namespace, checkout = LOCAL_NAMESPACE, settings.jobs_root
    elif job.source == EXTENSIONS_SOURCE:
        module_name = extension_module(job.module_name)  # "<name>.jobs" -> "<package>.jobs"
    user = {"id": str(result.user.id), "username": result.user.username} if result.user else None
    return RunRequest(
        job_result_id=str(result.id),
        module_name=module_name,
        class_name=job.job_class_name,
        data=transient.get("data") or dict(result.input_data or {}),
        files=_uploaded_files(transient),
        dryrun=result.dryrun,
        namespace=namespace,
        checkout=checkout,
        commit=result.commit,
        user=user,
        soft_time_limit=job.soft_time_limit,
        sanitiser_patterns=settings.sanitiser_patterns,
        max_file_bytes=settings.output_file_max_bytes,
    )


def run_job_result(job_result_id: str) -> None:
    """Run one JobResult if it is still PENDING; record the outcome whatever happens."""
    current = runtime.current()
    result_id = uuid.UUID(str(job_result_id))
    result = claim_and_load(current.db, result_id)
    if result is None:
        return
    _heartbeat.ensure_running(current)
    recorder = RunRecorder(current.db, result_id)
    try:  # no session is held while the job runs: its rows were loaded by the claim
        if result.runner:
            outcome = _run_runner(current, result, recorder)
        else:
            transient = (take_sensitive_input(result_id) if _may_have_transient_input(result) else None) or {}
            request = build_request(current.settings, result, transient)
            outcome = _run_isolated(current.settings, request, recorder, result.job.time_limit)
    except Exception as exc:  # our failure to start the run must still end the run, never hang it
        logger.exception("run %s could not be started", result_id)
        outcome = ChildOutcome(
            "FAILURE", error=f"Could not start the run: {exc}", traceback=traceback.format_exc()
        )
    finish(current.db, result_id, outcome, recorder)


class _ProcessHeartbeat:
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
        while self._runtime is current and runtime._current is current:
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


_heartbeat = _ProcessHeartbeat()


def _run_isolated(settings, request: RunRequest, recorder: RunRecorder, time_limit) -> ChildOutcome:
    if settings.isolation == "thread":
        return _run_in_thread(request, recorder)
    process = _pool.acquire()
    outcome = process.run(
        request,
        on_log=recorder.log,
        on_file=recorder.file,
        on_tick=recorder.heartbeat,
        time_limit=time_limit,
        tick_seconds=min(1.0, settings.heartbeat_seconds),
    )
    if outcome.killed:
        recorder.log(
            {
                "level": "failure" if outcome.status == Status.FAILURE else "warning",
                "message": outcome.error,
                "grouping": "run",
                "object": None,
                "created": utcnow(),
            }
        )
    return outcome


class _DirectSink:
    def __init__(self, recorder: RunRecorder):
        self.recorder = recorder

    def log(self, entry) -> None:
        import dataclasses

        self.recorder.log(dataclasses.asdict(entry))
        if len(self.recorder.pending) >= 100:
            self.recorder.flush()

    def save_file(self, name: str, content: bytes) -> None:
        self.recorder.file(name, content)


def _run_in_thread(request: RunRequest, recorder: RunRecorder) -> ChildOutcome:
    """Trusted, high-rate work: run in this worker thread (soft limit only, no crash isolation)."""
    with _thread_load_lock:  # sys.modules is shared by every thread of this process
        job_class = load_class(request, _thread_loaded_commits)
    outcome = execute_request(job_class, request, _DirectSink(recorder))
    return ChildOutcome(outcome.status, outcome.result, outcome.error, outcome.traceback, outcome.log_counts)


_thread_load_lock = threading.Lock()
_thread_loaded_commits: dict[str, str] = {}


def _run_runner(current, result: JobResult, recorder: RunRecorder) -> ChildOutcome:
    """Run a JobRunner (the service's and extensions' own background work) in this thread."""
    from service.jobs.runner import find_runner

    runner = find_runner(result.runner)()
    runner.logger.addHandler(_RecorderHandler(recorder))
    payload: dict[str, Any] = dict(result.input_data or {})
    try:
        value = runner.handle(result, *payload.get("args", []), **payload.get("kwargs", {}))
        status, error, trace = Status.SUCCESS, None, None
    except Exception as exc:  # NetBox marks these "completed"; we record the truth
        value, status = None, Status.FAILURE
        error, trace = f"{type(exc).__name__}: {exc}", traceback.format_exc()
        recorder.log(
            {"level": "error", "message": error, "grouping": "run", "object": None, "created": utcnow()}
        )
    return ChildOutcome(status, value, error, trace)


class _RecorderHandler(logging.Handler):
    def __init__(self, recorder: RunRecorder):
        super().__init__(logging.DEBUG)
        self.recorder = recorder

    def emit(self, record: logging.LogRecord) -> None:
        from service.jobs.logs import level_name

        self.recorder.log(
            {
                "level": level_name(record.levelno),
                "message": record.getMessage(),
                "grouping": getattr(record, "grouping", "run"),
                "object": None,
                "created": utcnow(),
            }
        )


def finish(db, job_result_id: uuid.UUID, outcome: ChildOutcome, recorder: RunRecorder) -> None:
    """Store the outcome and, in the same transaction, what follows it (a periodic run's successor);
    a run cancelled or declared lost meanwhile keeps that ending."""
    from service.background import after_finish

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
    store = (
        update(JobResult)
        .where(JobResult.id == job_result_id, JobResult.status == Status.STARTED)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    try:  # the last log lines and the outcome in one transaction
        with db.session() as session:
            if rows:
                session.execute(insert(JobLogEntry), rows)
            stored = session.execute(store.returning(JobResult.interval)).first()
            if stored is not None and stored.interval:  # only periodic runs have anything to follow
                after_finish(session, job_result_id)
    except Exception:  # never lose the outcome because its follow-up failed
        logger.exception("run %s: could not schedule what follows it", job_result_id)
        with db.session() as session:
            if rows:
                session.execute(insert(JobLogEntry), rows)
            session.execute(store)
