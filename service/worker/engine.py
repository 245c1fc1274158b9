"""Turn a JobResult into a run: claim it, load the pinned code, run it, record what happened.

Knows nothing about HTTP. Called by the worker actors with the runtime and a JobResult id;
idempotent, because the claim is one conditional UPDATE: a message delivered twice runs once.
Through a database outage the claim and the outcome are retried for ``db_outage_grace_seconds``;
a job that ran keeps its real outcome, held in memory until written (service.infra.outage).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
import uuid

from service.infra.outage import OutageOutlasted, outage_of, retry_through_outage
from service.infra.transient_input import may_have_transient_input
from service.models import Status, utcnow
from service.notifications import events as notify
from service.observability import metrics, tracing
from service.runs.late_keys import awaits_key
from service.worker.claim import claim_and_load, claimed_by_this_thread
from service.worker.heartbeat import ProcessHeartbeat
from service.worker.in_thread import run_in_thread, run_runner, runs_in_thread
from service.worker.job_process import ChildOutcome, JobProcessPool, RunRequest
from service.worker.late_key import HANDED_BACK, take_key
from service.worker.live_runs import live_runs
from service.worker.outcome import finish
from service.worker.recorder import RecordLimits, RunRecorder
from service.worker.release import release_when_back
from service.worker.run_request import build_request

logger = logging.getLogger(__name__)

_pool = JobProcessPool()
_heartbeat = ProcessHeartbeat()


def run_job_result(current, job_result_id: str) -> None:
    """Run one JobResult if it is still PENDING; record the outcome whatever happens."""
    result_id = uuid.UUID(str(job_result_id))
    with tracing.span("jobsync.claim", **{"jobsync.run_id": str(result_id)}):
        run = _claim(current, result_id)
    if run is None:
        return
    with tracing.span("jobsync.run", **{"jobsync.run_id": str(result_id), "jobsync.job": run.class_path,
                                        "jobsync.queue": run.queue}):
        _run_claimed(current, result_id, run)


def _run_claimed(current, result_id: uuid.UUID, run) -> None:
    began = time.monotonic()
    job = metrics.job_label(run.class_path, bool(run.job_installed))
    metrics.run_started(job, run.queue, metrics.seconds_since(run.enqueued))
    live = live_runs.add(result_id)
    try:
        _heartbeat.ensure_running(current)
        recorder = RunRecorder(current.db, result_id, RecordLimits.from_settings(current.settings))
        outcome = _execute(current, run, live, recorder)
        if outcome is None:  # could not start for want of the database: nothing ran, re-queue it
            _give_up(current, result_id, recorder, job_code_started=False,
                     reason="The database was unreachable while the run was being prepared.")
            return
        if outcome is HANDED_BACK:  # it waits for the key its job's function computed, or was skipped
            return
        record_outcome(current, result_id, outcome, recorder, periodic=bool(run.interval),
                       keyed=bool(run.concurrency_key) or awaits_key(run))
    finally:
        live_runs.remove(result_id)
    metrics.run_finished(job, run.queue, outcome.status, time.monotonic() - began)
    notify.run_finished(current, run, outcome.status, outcome.error)


def _claim(current, result_id: uuid.UUID):
    """Claim through an outage; None if the run is not ours (or the outage outlasted the grace:
    the row stays PENDING and the scheduler sends it again)."""
    attempts = 0

    def attempt():
        nonlocal attempts
        attempts += 1
        run = claim_and_load(current.db, result_id)
        if run is None and attempts > 1:  # our claim may have committed just before the line dropped
            run = claimed_by_this_thread(current.db, result_id)
        return run

    try:
        return retry_through_outage(attempt, grace_seconds=current.settings.db_outage_grace_seconds,
                                    what=f"run {result_id}: claiming it")
    except OutageOutlasted as exc:
        logger.warning("%s; the scheduler will send it again", exc)
        return None


def _execute(current, run, live, recorder: RunRecorder) -> ChildOutcome | None:
    """Run the claimed job; None when it could not start because the database is down."""
    result_id = run.id
    try:  # no connection is held while the job runs: what it needs was read by the claim
        if run.runner:
            live.job_code_started = True
            return run_runner(current, result_id, recorder)
        transient = _take_transient_input(current, run)
        live.input_taken = bool(transient)
        request = build_request(current.db, current.settings, run, transient)
        if awaits_key(run):  # its job's key function runs first, where its job code would
            refused = take_key(current, run, request, recorder, transient, pool=_pool)
            if refused is not None:
                return refused
        if tracing.active():  # the job's own spans nest under the run
            request = dataclasses.replace(request, trace_context=tracing.current_carrier())
        live.job_code_started = True
        return _run_isolated(current.settings, request, recorder, run.time_limit)
    except Exception as exc:  # our failure to start the run must still end the run, never hang it
        if outage_of(exc) is not None and live.may_requeue:
            return None
        logger.exception("run %s could not be started", result_id)
        return ChildOutcome(
            "FAILURE", error=f"Could not start the run: {exc}", traceback=traceback.format_exc()
        )


def record_outcome(
    current, result_id: uuid.UUID, outcome: ChildOutcome, recorder: RunRecorder, *, periodic: bool,
    keyed: bool,
):
    """Store the real outcome, retrying through an outage; past the grace, fail the run honestly
    once the database is back (its heartbeat stops at once, so the sweep is the backstop)."""
    grace = current.settings.db_outage_grace_seconds
    try:
        retry_through_outage(lambda: finish(current.db, result_id, outcome, recorder, periodic=periodic,
                                            keyed=keyed, known_queues=current.settings.all_queues),
                             grace_seconds=grace, what=f"run {result_id}: recording its outcome")
    except OutageOutlasted:
        _give_up(current, result_id, recorder, job_code_started=True, reason=(
            f"The run ended {outcome.status} but its outcome could not be recorded: the database "
            f"was unreachable for over {grace:g} s (db_outage_grace_seconds)."))


def _give_up(current, result_id, recorder, *, job_code_started: bool, reason: str) -> None:
    live_runs.remove(result_id)  # stop beating for it now
    release_when_back(current.db, result_id, job_code_started=job_code_started, reason=reason,
                      recorder=recorder)


def _take_transient_input(current, run) -> dict:
    if run.source is None or not may_have_transient_input(run.has_sensitive_variables, run.variables):
        return {}  # most runs: no round trip to the broker
    return current.outbox.transient.take(run.id) or {}


def _run_isolated(settings, request: RunRequest, recorder: RunRecorder, time_limit) -> ChildOutcome:
    if runs_in_thread(settings, request):
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
