"""A graceful stop: take no more messages, let running jobs finish, then release what is left.

SIGTERM (``jobsync worker``) stops Dramatiq's worker threads from taking new messages (those
already fetched go back to Redis), waits up to ``shutdown_grace_seconds`` for the runs in hand,
then re-queues the runs whose job code never started and fails the others with the reason.
"""

from __future__ import annotations

import logging

from service.infra.outage import OutageOutlasted, retry_through_outage
from service.worker.live_runs import LiveRuns, live_runs
from service.worker.release import release

logger = logging.getLogger(__name__)

#: How long a stopping worker waits for the database to record the runs it gives up.
RELEASE_GRACE_SECONDS = 10.0


def stop_worker(runtime, worker, *, grace_seconds: float, runs: LiveRuns = live_runs) -> int:
    """Stop ``worker`` (a dramatiq.Worker) gracefully; return how many runs had to be released."""
    held = len(runs)
    if held:
        logger.info("stopping: waiting up to %g s for %d running job(s)", grace_seconds, held)
    worker.stop(timeout=max(1, int(grace_seconds * 1000)))
    leftover = runs.snapshot()
    reason = (f"The worker stopped before the run ended: it did not finish within "
              f"{grace_seconds:g} s (shutdown_grace_seconds).")
    for run in leftover:
        runs.remove(run.id)
        try:
            retry_through_outage(
                lambda run=run: release(runtime.db, run.id, job_code_started=not run.may_requeue,
                                        reason=reason),
                grace_seconds=RELEASE_GRACE_SECONDS, what=f"run {run.id}: releasing it on stop")
        except OutageOutlasted as exc:  # the scheduler's sweep ends it: it no longer beats
            logger.warning("%s", exc)
    return len(leftover)
