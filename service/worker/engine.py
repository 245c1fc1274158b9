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
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.orm import joinedload

from repos.checkouts import materialise_version
from service import runtime
from service.extensions import EXTENSIONS_SOURCE, extension_module
from service.infra.outbox import take_sensitive_input
from service.models import GitRepository, Job, JobLogEntry, JobOutputFile, JobResult, Status, User, utcnow
from service.sources.local import LOCAL_NAMESPACE
from service.sources.repositories import open_backend
from service.worker.job_process import ChildOutcome, JobProcessPool, RunRequest, execute_request, load_class

logger = logging.getLogger(__name__)

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
_pool = JobProcessPool()


def worker_id() -> str:
    return f"{WORKER_ID}:{threading.get_ident()}"


_NOW, _RUN_ID = bindparam("claim_now"), bindparam("run_id")
_OUTCOME_FIELDS = ("status", "completed", "result", "error", "traceback", "log_counts")

# Built once: the hot path runs these for every job, and SQLAlchemy memoises a reused statement's
# cache key, so each execution goes straight to the compiled form.
_CLAIM = (
    update(JobResult)
    .where(
        JobResult.id == _RUN_ID,
        JobResult.status == Status.PENDING,
        JobResult.cancel_requested.is_(False),
        (JobResult.scheduled_at.is_(None)) | (JobResult.scheduled_at <= _NOW),
    )
    .values(
        status=Status.STARTED,
        started=_NOW,
        heartbeat=_NOW,
        worker_id=bindparam("claim_worker"),
        attempts=JobResult.attempts + 1,
    )
)

# What running a claimed result needs, as plain columns: no ORM objects on the hot path.
_RUN_COLUMNS = ("id", "runner", "interval", "commit", "dryrun", "input_data", "user_id", "job_id")
_DETAILS = (
    User.username,
    Job.source,
    Job.module_name,
    Job.job_class_name,
    Job.repository_id,
    GitRepository.slug.label("repository_slug"),
    Job.soft_time_limit,
    Job.time_limit,
    Job.has_sensitive_variables,
    Job.variables,
)


def _run_details(runs):
    """Select ``_RUN_COLUMNS`` of ``runs`` (the table, or the claim's RETURNING) with their job's details."""
    return (
        select(*(runs.c[name] for name in _RUN_COLUMNS), *_DETAILS)
        .select_from(runs)
        .outerjoin(Job, runs.c.job_id == Job.id)
        .outerjoin(GitRepository, Job.repository_id == GitRepository.id)
        .outerjoin(User, runs.c.user_id == User.id)
    )


_CLAIMED_RUN = _run_details(JobResult.__table__).where(JobResult.id == _RUN_ID)
# PostgreSQL claims and reads in one statement (UPDATE ... RETURNING in a WITH clause).
_CLAIM_RETURNING_RUN = _run_details(
    _CLAIM.returning(*(JobResult.__table__.c[name] for name in _RUN_COLUMNS)).cte("claimed")
)


def _claim_parameters(job_result_id: uuid.UUID, now: datetime | None) -> dict:
    return {"run_id": job_result_id, "claim_now": now or utcnow(), "claim_worker": worker_id()}


def claim(db, job_result_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """Atomically move a due, uncancelled PENDING result to STARTED; False if someone else did."""
    with db.engine.begin() as connection:
        return connection.execute(_CLAIM, _claim_parameters(job_result_id, now)).rowcount == 1


def claim_and_load(db, job_result_id: uuid.UUID, *, now: datetime | None = None) -> Row | None:
    """Claim the run and read what running it needs, atomically; None if not ours."""
    parameters = _claim_parameters(job_result_id, now)
    if db.is_sqlite:  # no UPDATE inside WITH: two statements in one transaction
        with db.engine.begin() as connection:
            if connection.execute(_CLAIM, parameters).rowcount != 1:
                return None
            return connection.execute(_CLAIMED_RUN, parameters).one()
    with db.autocommit_engine.connect() as connection:  # one statement is its own transaction
        return connection.execute(_CLAIM_RETURNING_RUN, parameters).first()


def _may_have_transient_input(run: Row) -> bool:
    """Only sensitive jobs and jobs taking files stash input beside the broker (see runs.py)."""
    return run.source is not None and (
        run.has_sensitive_variables or any(v.get("type") == "FileVar" for v in run.variables or [])
    )


_INSERT_LOGS = insert(JobLogEntry)
_BEAT = (
    update(JobResult)
    .where(JobResult.id == _RUN_ID)
    .values(heartbeat=bindparam("beat"))
    .returning(JobResult.cancel_requested)
)
# A run cancelled or declared lost meanwhile is no longer STARTED, and keeps that ending.
_STORE_OUTCOME = (
    update(JobResult)
    .where(JobResult.id == _RUN_ID, JobResult.status == Status.STARTED)
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


def _checkout_for(db, settings, run: Row) -> str:
    """Return the checkout of the run's commit, materialising it first if this machine lacks it."""

    def fill(directory) -> None:  # only when missing: the repository row is read just then
        with db.session() as session:
            repository = session.get(GitRepository, run.repository_id)
            if repository is None:
                raise RuntimeError("its repository was removed")
            backend = open_backend(repository, settings)
        backend.materialise(run.commit, directory)

    return str(materialise_version(settings.data_dir, run.repository_slug, run.commit, fill))


def _uploaded_files(transient: dict) -> dict:
    from service.jobs import UploadedFile

    return {
        field: UploadedFile(name=item["name"], content=base64.b64decode(item["content"]))
        for field, item in (transient.get("files") or {}).items()
    }


def build_request(db, settings, run: Row, transient: dict) -> RunRequest:
    if run.source is None:
        raise RuntimeError("its job record was deleted")
    namespace = checkout = None
    module_name = run.module_name
    if run.source == "git":
        if run.repository_slug is None or not run.commit:
            raise RuntimeError("its repository was removed")
        namespace, checkout = run.repository_slug, _checkout_for(db, settings, run)
    elif run.source == "local":
        if not settings.jobs_root:
            raise RuntimeError("jobs_root is not configured on this worker")
        namespace, checkout = LOCAL_NAMESPACE, settings.jobs_root
    elif run.source == EXTENSIONS_SOURCE:
        module_name = extension_module(run.module_name)  # "<name>.jobs" -> "<package>.jobs"
    user = {"id": str(run.user_id), "username": run.username} if run.username is not None else None
    return RunRequest(
        job_result_id=str(run.id),
        module_name=module_name,
        class_name=run.job_class_name,
        data=transient.get("data") or dict(run.input_data or {}),
        files=_uploaded_files(transient),
        dryrun=run.dryrun,
        namespace=namespace,
        checkout=checkout,
        commit=run.commit,
        user=user,
        soft_time_limit=run.soft_time_limit,
        sanitiser_patterns=settings.sanitiser_patterns,
        max_file_bytes=settings.output_file_max_bytes,
    )


def run_job_result(job_result_id: str) -> None:
    """Run one JobResult if it is still PENDING; record the outcome whatever happens."""
    current = runtime.current()
    result_id = uuid.UUID(str(job_result_id))
    run = claim_and_load(current.db, result_id)
    if run is None:
        return
    _heartbeat.ensure_running(current)
    recorder = RunRecorder(current.db, result_id)
    try:  # no connection is held while the job runs: what it needs was read by the claim
        if run.runner:
            outcome = _run_runner(current, result_id, recorder)
        else:
            transient = (take_sensitive_input(result_id) if _may_have_transient_input(run) else None) or {}
            request = build_request(current.db, current.settings, run, transient)
            outcome = _run_isolated(current.settings, request, recorder, run.time_limit)
    except Exception as exc:  # our failure to start the run must still end the run, never hang it
        logger.exception("run %s could not be started", result_id)
        outcome = ChildOutcome(
            "FAILURE", error=f"Could not start the run: {exc}", traceback=traceback.format_exc()
        )
    finish(current.db, result_id, outcome, recorder, periodic=bool(run.interval))


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
        self.recorder.log(entry.as_row())
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


def _run_runner(current, result_id: uuid.UUID, recorder: RunRecorder) -> ChildOutcome:
    """Run a JobRunner (the service's and extensions' own background work) in this thread."""
    from service.jobs.runner import find_runner

    with current.db.session() as session:  # the runner gets its row as ``self.job``
        result = session.get(
            JobResult,
            result_id,
            options=[joinedload(JobResult.job).joinedload(Job.repository), joinedload(JobResult.user)],
        )
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


def finish(
    db, job_result_id: uuid.UUID, outcome: ChildOutcome, recorder: RunRecorder, *, periodic: bool = True
) -> None:
    """Store the outcome and, in the same transaction, what follows it (a periodic run's successor);
    a run cancelled or declared lost meanwhile keeps that ending. ``periodic=False`` says the run
    has no interval, so nothing follows it."""
    from service.runs.runners import after_finish

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
