"""Chains: when a run ends, start the jobs its job names in ``on_success_run`` / ``on_failure_run``.

Each hop is a PENDING run written in the transaction that records the ending (so none is lost or
doubled), linked to the run that started it by ``triggered_by``. A job with an ``upstream``
variable receives ``{"id": ..., "result": ...}`` of that run. Loops are refused at sync
(service.sources.chains). A hop that cannot start (job missing, disabled, bad input) is noted
on the run that ended, which keeps its outcome.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import ServiceError
from service.models import Job, JobLogEntry, JobResult, Status, utcnow
from service.runs.pending import add_pending
from service.runs.requests import prepare_run


def start_next(session: Session, job_result_id: uuid.UUID, *, known_queues: tuple[str, ...],
               retrying: bool = False) -> list[JobResult]:
    """Start the runs that follow an ended run; ``retrying`` says a failure will be tried again."""
    ended = session.get(JobResult, job_result_id)
    if ended is None or ended.job is None:
        return []
    if ended.status == Status.SUCCESS:
        targets = ended.job.on_success_run or []
    elif ended.status == Status.FAILURE and not retrying:
        targets = ended.job.on_failure_run or []
    else:
        return []  # cancelled, or a failure with another attempt to come
    started = []
    for class_path in targets:
        run = _start_one(session, ended, class_path, known_queues)
        if run is not None:
            started.append(run)
    return started


def _start_one(session: Session, ended: JobResult, class_path: str, known_queues) -> JobResult | None:
    job = session.scalar(select(Job).where(Job.class_path == class_path))
    if job is None:
        return _note(session, ended, f"Chained job {class_path} not started: no such job.")
    names = {variable.get("name") for variable in job.variables or ()}
    data = {"upstream": {"id": str(ended.id), "result": ended.result}} if "upstream" in names else {}
    try:
        with session.begin_nested():
            prepared = prepare_run(session, job, data, known_queues=known_queues, user=ended.user,
                                   dryrun=ended.dryrun or None)
    except ServiceError as exc:
        return _note(session, ended, f"Chained job {class_path} not started: {exc}")
    prepared.row["triggered_by"] = ended.id
    run = add_pending(session, prepared.row, prepared.transient, job=job, user=ended.user)
    _note(session, ended, f"Started chained job {class_path}: run {run.id}.", level="info")
    return run


def _note(session: Session, ended: JobResult, message: str, level: str = "warning") -> None:
    session.add(JobLogEntry(job_result_id=ended.id, level=level, grouping="run", message=message,
                            created=utcnow()))
    return None


def triggered_runs(session: Session, result: JobResult) -> list:
    """Return the runs a run's ending started (id, name, status), for its page."""
    return session.execute(
        select(JobResult.id, JobResult.name, JobResult.status)
        .where(JobResult.triggered_by == result.id).order_by(JobResult.created)
    ).all()
