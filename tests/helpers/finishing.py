"""Finishing runs from threads of their own, as a worker's threads do, to watch them commit together."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import update

from service.models import JobResult, Status, utcnow
from service.worker.job_process import ChildOutcome
from service.worker.recorder import RunRecorder
from tests.helpers.factories import make_job, make_result


def started_runs(db, count: int) -> list:
    """``count`` STARTED runs of a new job."""
    with db.session() as session:
        job = make_job(session)
        return [make_result(session, job, status=Status.STARTED, started=utcnow()).id for _ in range(count)]


def hold_row(connection, run_id) -> None:
    """Write-lock ``run_id`` (on SQLite: the database) in ``connection``'s transaction."""
    connection.execute(update(JobResult).where(JobResult.id == run_id).values(heartbeat=utcnow()))


def finishing(db, run_id, result, errors: dict, record: Callable) -> threading.Thread:
    """Call ``record(run_id, outcome, recorder)`` with one log line and ``result`` in a new thread;
    whatever it raises lands in ``errors[run_id]``."""
    recorder = RunRecorder(db, run_id)
    recorder.log({"level": "info", "message": f"line of {run_id}", "grouping": "run", "object": None,
                  "created": utcnow()})

    def run() -> None:
        try:
            record(run_id, ChildOutcome(Status.SUCCESS, result), recorder)
        except Exception as exc:
            errors[run_id] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread
