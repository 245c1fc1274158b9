"""Dramatiq actors: thin, idempotent, taking ids; one run actor per queue.

Each queue gets its own actor so that the worker's work queue orders prefetched messages by
queue: ``high`` before ``default`` before ``low`` (Dramatiq sorts by actor priority).
"""

from __future__ import annotations

import dramatiq

from service.notifications import delivery
from service.worker import engine

QUEUE_PRIORITIES = {"high": 0, "default": 10, "low": 20}
CUSTOM_QUEUE_PRIORITY = 10


def run_actor_name(queue: str) -> str:
    return f"jobsync.run.{queue}"


def declare_actors(runtime) -> dict[str, dramatiq.Actor]:
    """Declare one run actor per configured queue on the runtime's broker; return them by queue."""

    def run_job_result(job_result_id: str) -> None:
        engine.run_job_result(runtime, job_result_id)

    actors = {}
    for queue in runtime.settings.all_queues:
        actors[queue] = dramatiq.actor(
            run_job_result,
            actor_name=run_actor_name(queue),
            queue_name=queue,
            priority=QUEUE_PRIORITIES.get(queue, CUSTOM_QUEUE_PRIORITY),
            max_retries=0,
            broker=runtime.broker,
        )
    declare_notify_actor(runtime)
    return actors


def declare_notify_actor(runtime) -> dramatiq.Actor:
    """The actor that delivers one notification, retried with doubling back-off while it fails."""
    settings = runtime.settings

    def deliver_notification(delivery_id: str) -> None:
        delivery.deliver(runtime, delivery_id)

    backoff_ms = int(settings.notify_backoff_seconds * 1000)
    return dramatiq.actor(
        deliver_notification,
        actor_name=delivery.NOTIFY_ACTOR,
        queue_name=delivery.NOTIFY_QUEUE,
        priority=QUEUE_PRIORITIES["low"],
        max_retries=settings.notify_max_attempts,
        min_backoff=backoff_ms,
        max_backoff=backoff_ms * 2 ** settings.notify_max_attempts,
        retry_when=lambda retries, exc: isinstance(exc, delivery.RetryDelivery),
        broker=runtime.broker,
    )


def serve(runtime, queues: tuple[str, ...], *, threads: int | None = None, stop=None) -> None:
    """Consume ``queues`` with a Dramatiq worker until ``stop`` is set, making sure every system
    job has its periodic run waiting and pruning this host's checkouts on its own schedule."""
    import threading

    from service.infra.outage import outage_of, outages
    from service.infra.presence import PresencePublisher
    from service.runs.runners import enqueue_system_jobs
    from service.sources.cleanup import HostCleaner
    from service.worker.shutdown import stop_worker

    stop = stop or threading.Event()
    worker = dramatiq.Worker(runtime.broker, queues=set(queues),
                             worker_threads=threads or runtime.settings.worker_threads,
                             worker_timeout=1000)
    worker.start()
    presence = PresencePublisher(runtime, tuple(queues)).start()  # tells everyone which queues we serve
    cleaner = HostCleaner(runtime).start()  # hosts share no disk: each cleans its own
    try:
        try:
            enqueue_system_jobs()
        except Exception as exc:  # a backend down at start: the schedulers enqueue them too
            if outage_of(exc) is None:
                raise
            outages.down(outage_of(exc), exc)
        stop.wait()
    finally:
        cleaner.stop()
        presence.stop()
        stop_worker(runtime, worker, grace_seconds=runtime.settings.shutdown_grace_seconds)
        _log_group_commits(runtime.db)


def _log_group_commits(db) -> None:
    """Say how well this process's threads shared their claims' and outcomes' transactions."""
    import logging

    from service.worker.claim import claims_for
    from service.worker.outcome import committer_for

    claims, outcomes = claims_for(db), committer_for(db)
    logging.getLogger(__name__).info(
        "group commit: %d claims in %d statements, %d outcomes in %d transactions",
        claims.writes, claims.batches, outcomes.writes, outcomes.batches)
