"""A run's first step when its job's concurrency key is a function: compute the key where the job's
own code runs (its child process, or this thread under ``isolation: thread``), before any job code,
then take a slot of it or hand the run back by its policy (``service.runs.late_keys``).
"""

from __future__ import annotations

import dataclasses

from service.models import Status, utcnow
from service.runs.late_keys import Attached, attach, read_pending
from service.worker.claim import worker_id
from service.worker.in_thread import compute_key_in_thread, runs_in_thread
from service.worker.job_process import ChildOutcome, JobProcessPool, RunRequest
from service.worker.recorder import RunRecorder

#: How long a key function may take (or the job's ``time_limit``, if shorter) before its child is killed.
KEY_SECONDS = 60.0

#: What ``take_key`` returns when the run is no longer this thread's to record: waiting for its key,
#: skipped, or ended by someone else meanwhile.
HANDED_BACK = ChildOutcome(Status.PENDING)


def take_key(current, run, request: RunRequest, recorder: RunRecorder, transient: dict, *,
             pool: JobProcessPool) -> ChildOutcome | None:
    """Compute the claimed run's key and take a slot of it: None when it may run now, else the
    outcome to record (the key function failed, a cancel came) or ``HANDED_BACK``."""
    pending = read_pending(current.db, run.id)
    if pending is None:
        return HANDED_BACK
    context = {"job": run.class_path, "user": run.username, "object_type": pending.object_type,
               "object_id": pending.object_id}
    key_request = dataclasses.replace(request, key_context=context, files={}, soft_time_limit=None)
    seconds = min(KEY_SECONDS, run.time_limit or KEY_SECONDS)
    computed = _compute(current.settings, key_request, recorder, pool, seconds)
    if computed.status != Status.SUCCESS:
        return _failed(run, computed, recorder, seconds)
    if transient:  # kept for its next claim should it wait; taken back below if it runs now
        current.outbox.transient.stash(run.id, transient)
    attached = attach(current.db, pending.keyed(computed.result), worker=worker_id())
    if transient and attached in (Attached.HELD, Attached.CANCELLED):
        current.outbox.transient.take(run.id)
    if attached is Attached.HELD:
        return None
    if attached is Attached.CANCELLED:
        return ChildOutcome(Status.REVOKED, error="Cancelled before it started.")
    return HANDED_BACK


def _compute(settings, request: RunRequest, recorder: RunRecorder, pool: JobProcessPool,
             seconds: float) -> ChildOutcome:
    if runs_in_thread(settings, request):
        return compute_key_in_thread(request)
    return pool.acquire(request).run(  # the same child then runs the job: reuse_key is the run's
        request, on_log=recorder.log, on_file=recorder.file, on_tick=recorder.heartbeat,
        time_limit=seconds, tick_seconds=min(1.0, settings.heartbeat_seconds),
    )


def _failed(run, computed: ChildOutcome, recorder: RunRecorder, seconds: float) -> ChildOutcome:
    """The run ends without running its job and holding no slot, saying why in its log."""
    if computed.status == Status.REVOKED:  # cancelled while its key was computed
        return computed
    name = f"{run.job_class_name}.Meta.concurrency_key"
    if computed.killed == "time limit":
        error = f"{name} did not return within {seconds:g} s: its process was killed."
    elif computed.killed:
        error = f"The process computing {name} ended: {computed.error}"
    else:
        error = computed.error or f"{name} failed."
    error = f"Could not compute the run's concurrency key: {error}"
    recorder.log({"level": "failure", "message": error, "grouping": "run", "object": None,
                  "created": utcnow()})
    return ChildOutcome(Status.FAILURE, error=error, traceback=computed.traceback, killed=computed.killed)
