"""Turn a JobResult into a run: claim it, load the pinned code, run it, record what happened.

Knows nothing about HTTP. Called by the worker actors with the runtime and a JobResult id;
idempotent, because the claim is one conditional UPDATE: a message delivered twice runs once.
"""

from __future__ import annotations

import logging
import traceback
import uuid

from service.infra.transient_input import may_have_transient_input
from service.models import Status, utcnow
from service.worker.claim import claim_and_load
from service.worker.heartbeat import ProcessHeartbeat
from service.worker.in_thread import run_in_thread, run_runner
from service.worker.job_process import ChildOutcome, JobProcessPool, RunRequest
from service.worker.recorder import RunRecorder, finish
from service.worker.run_request import build_request

logger = logging.getLogger(__name__)

_pool = JobProcessPool()
_heartbeat = ProcessHeartbeat()


def run_job_result(current, job_result_id: str) -> None:
    """Run one JobResult if it is still PENDING; record the outcome whatever happens."""
    result_id = uuid.UUID(str(job_result_id))
    run = claim_and_load(current.db, result_id)
    if run is None:
        return
    _heartbeat.ensure_running(current)
    recorder = RunRecorder(current.db, result_id)
    try:  # no connection is held while the job runs: what it needs was read by the claim
        if run.runner:
            outcome = run_runner(current, result_id, recorder)
        else:
            transient = _take_transient_input(current, run)
            request = build_request(current.db, current.settings, run, transient)
            outcome = _run_isolated(current.settings, request, recorder, run.time_limit)
    except Exception as exc:  # our failure to start the run must still end the run, never hang it
        logger.exception("run %s could not be started", result_id)
        outcome = ChildOutcome(
            "FAILURE", error=f"Could not start the run: {exc}", traceback=traceback.format_exc()
        )
    finish(current.db, result_id, outcome, recorder, periodic=bool(run.interval))


def _take_transient_input(current, run) -> dict:
    if run.source is None or not may_have_transient_input(run.has_sensitive_variables, run.variables):
        return {}  # most runs: no round trip to the broker
    return current.outbox.transient.take(run.id) or {}


def _run_isolated(settings, request: RunRequest, recorder: RunRecorder, time_limit) -> ChildOutcome:
    if settings.isolation == "thread":
        return run_in_thread(request, recorder)
    process = _pool.acquire(request)
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
