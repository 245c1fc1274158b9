"""Requesting runs: validate, choose the queue, write the PENDING JobResult, send after commit."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.errors import Conflict, JobNotRunnable, NotFound, ValidationError
from service.infra import transient_input
from service.infra.outbox import forget_transient_input_after_commit
from service.jobs.schema import validate_with_schema
from service.models import Job, JobResult, Status, User, utcnow
from service.runs import approval, concurrency
from service.runs.pending import add_pending, insert_pending, pending_row
from service.runs.pinned import resolve_source_commit


def get_job(session: Session, ref: str | uuid.UUID) -> Job:
    """Find a job by UUID or class path; raises NotFound."""
    job = None
    try:
        job = session.get(Job, uuid.UUID(str(ref)))
    except ValueError:
        job = session.scalar(select(Job).where(Job.class_path == str(ref)))
    if job is None:
        raise NotFound(f"No job {ref}.")
    return job


def choose_queue(job: Job, requested: str | None, known_queues: tuple[str, ...]) -> str:
    """The requested queue if the job allows it, else the job's first queue, else ``default``.

    Names pass through ``queue_aliases`` (when ``known_queues`` carries them, as ``all_queues``
    does); a queue no worker serves is refused before anything is written.
    """
    resolve = getattr(known_queues, "resolve", str)
    allowed = [resolve(name) for name in job.task_queues] or list(known_queues)
    queue = resolve(requested) if requested else (allowed[0] if job.task_queues else "default")
    if requested and queue not in allowed:
        raise ValidationError(
            {
                "task_queue": [
                    f"{requested!r} is not a queue this job may use (choose from {', '.join(allowed)})."
                ]
            }
        )
    if queue not in known_queues:
        raise ValidationError(
            {
                "task_queue": [
                    f"No worker serves queue {queue!r}, which job {job.class_path} asks for; add it to "
                    "the queues setting or map it with queue_aliases (e.g. {celery: default})."
                ]
            }
        )
    return queue


def check_runnable(job: Job) -> None:
    if not job.installed:
        raise JobNotRunnable(f"Job {job.class_path} is not installed.")
    if not job.enabled:
        raise JobNotRunnable(f"Job {job.class_path} is not enabled.")


@dataclasses.dataclass(frozen=True)
class PreparedRun:
    """A checked run request: its JobResult's column values and what must not be stored."""

    row: dict[str, Any]
    transient: dict | None  # sensitive values and uploads: see service.infra.transient_input


def prepare_run(
    session: Session,
    job: Job,
    data: dict[str, Any] | None = None,
    *,
    known_queues: tuple[str, ...],
    user: User | None = None,
    queue: str | None = None,
    dryrun: bool | None = None,
    files: dict | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    ignore_singleton_lock: bool = False,
    internal_data: dict[str, Any] | None = None,
    upload_max_bytes: int | None = None,
    source_commit: str | None = None,
    approved: bool = False,
) -> PreparedRun:
    """Check a run request and build its PENDING row; nothing is written.

    ``internal_data`` is input the service fills in itself (a job hook's ``change``, a job button's
    ``object``): the stored schema lists user variables only, so it is not checked against it; the
    worker validates it with the job class's own internal variables.

    ``ignore_singleton_lock`` (an admin's override) runs it past the singleton lock and without its
    concurrency key. ``approved`` says another user approved this run (a schedule in ``approved``);
    without it a job that requires approval only starts as a dry run it honours
    (``service.runs.approval``).
    ``source_commit`` runs the job at another commit its repository synced (full or short sha).

    Raises JobNotRunnable (disabled or uninstalled), ValidationError naming each bad field
    (ApprovalRequired among them), or Conflict for a singleton job already waiting or running.
    """
    check_runnable(job)
    commit = resolve_source_commit(session, job, source_commit) if source_commit else job.commit
    _check_upload_sizes(files, upload_max_bytes)
    data = dict(data or {})
    validate_with_schema(job.variables, data, files)  # raises ValidationError({field: [...]})
    data.update(internal_data or {})
    queue = choose_queue(job, queue, known_queues)
    if job.is_singleton and not ignore_singleton_lock:
        active = session.scalar(
            select(JobResult.id)
            .where(JobResult.job_id == job.id, JobResult.status.in_((Status.PENDING, Status.STARTED)))
            .limit(1)
        )
        if active is not None:
            raise Conflict(f"Job {job.class_path} is a singleton and already has run {active} in progress.")
    dryrun = approval.runs_dry(job, dryrun)
    approval.check_may_start(job, dryrun, approved=approved)
    sensitive = job.has_sensitive_variables
    row = pending_row(
        now=utcnow(),
        job_id=job.id,
        name=job.name,
        class_path=job.class_path,
        user_id=user.id if user is not None else None,
        queue=queue,
        commit=commit,
        environment_key=job.environment_key if commit == job.commit else None,
        dryrun=dryrun,
        object_type=object_type,
        object_id=object_id,
        input_data=None if sensitive else data,
        **concurrency.run_columns(job, data, user=user, object_type=object_type, object_id=object_id,
                                  override=ignore_singleton_lock),
    )
    # Sensitive input and uploaded files never touch the database (see service.infra.transient_input).
    return PreparedRun(row, transient_input.pack(data if sensitive else None, files))


def _check_upload_sizes(files: dict | None, limit: int | None) -> None:
    """Refuse uploads over ``upload_max_bytes``: they wait in memory beside the broker until the run."""
    too_big = {
        name: [f"The file is {size} bytes; uploads may be at most {limit} bytes (upload_max_bytes)."]
        for name, upload in (files or {}).items()
        if limit is not None and (size := len(getattr(upload, "content", upload))) > limit
    }
    if too_big:
        raise ValidationError(too_big)


def enqueue_job(session: Session, job: Job, data: dict[str, Any] | None = None, **options: Any) -> JobResult:
    """Create a PENDING run of ``job`` and send it once ``session`` commits.

    Takes ``prepare_run``'s options and raises its errors; no row is written when it raises.
    """
    prepared = prepare_run(session, job, data, **options)
    return add_pending(session, prepared.row, prepared.transient, job=job, user=options.get("user"))


def insert_runs(session: Session, runs: list[PreparedRun]) -> None:
    """Write prepared runs in one INSERT (no ORM unit of work) and send them once ``session`` commits.

    For fan-outs (one change event starting many hook jobs), where the ORM's per-object
    bookkeeping would cost more than the rows themselves.
    """
    insert_pending(session, [(run.row, run.transient) for run in runs])


def request_cancel(session: Session, job_result_id: uuid.UUID) -> JobResult:
    """Cancel a run: a PENDING one is REVOKED at once; a STARTED one is stopped by its worker."""
    result = session.get(JobResult, job_result_id)
    if result is None:
        raise NotFound(f"No job result {job_result_id}.")
    if result.is_final:
        raise Conflict(f"Job result {job_result_id} already finished ({result.status}).")
    revoked = session.execute(
        update(JobResult)
        .where(JobResult.id == result.id, JobResult.status == Status.PENDING)
        .values(
            status=Status.REVOKED,
            completed=utcnow(),
            cancel_requested=True,
            error="Cancelled before it started.",
        )
    ).rowcount
    if revoked:
        forget_transient_input_after_commit(session, result.id)
    else:
        session.execute(update(JobResult).where(JobResult.id == result.id).values(cancel_requested=True))
    session.refresh(result)
    return result
