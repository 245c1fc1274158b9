"""Where events are raised: small calls from the worker, the sync, approvals and the scheduler.

Each returns at once when no rule is enabled, so runs pay one cached check, and a failure to
notify is logged, never raised into the run, sync or request that caused it.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from service.models import GitRepository, Job, JobResult, NotificationRule, Status
from service.notifications.delivery import any_rules, notify
from service.notifications.rules import Event, first_line

logger = logging.getLogger(__name__)


def run_finished(current, run, status: str, error: str | None) -> None:
    """After a worker stored a run's outcome: run failed, recovered, N consecutive failures."""
    if run.runner or run.job_id is None or status not in (Status.SUCCESS, Status.FAILURE):
        return  # service work (syncs notify on their own), or nothing to match on
    try:
        if any_rules(current.db):
            _run_finished(current, run, status, error)
    except Exception:
        logger.exception("could not notify about run %s", run.id)


def _run_finished(current, run, status: str, error: str | None) -> None:
    with current.db.session() as session:
        job = session.get(Job, run.job_id)
        if job is None:
            return
        streak_limit = 1 + max(session.scalars(select(NotificationRule.failures)).all() or [1])
        recent = session.scalars(
            select(JobResult.status)
            .where(JobResult.job_id == run.job_id, JobResult.status.in_((Status.SUCCESS, Status.FAILURE)),
                   JobResult.completed.is_not(None))
            .order_by(JobResult.completed.desc())
            .limit(streak_limit)
        ).all()
        facts = dict(job=job.class_path, job_name=job.name, grouping=job.grouping,
                     repository=job.repository.slug if job.repository_id else None, queue=run.queue,
                     run_id=str(run.id), status=status, commit=run.commit, error=first_line(error))
        for event in _run_events(job.name, status, list(recent), facts):
            notify(session, event, current.settings)


def _run_events(name: str, status: str, recent: list[str], facts: dict) -> list[Event]:
    """The events a run ending in ``status`` raises, given its job's latest statuses (newest first)."""
    if status == Status.SUCCESS:
        if len(recent) > 1 and recent[1] == Status.FAILURE:
            return [Event("run_recovered", f"{name} succeeded after a failure", **facts)]
        return []
    streak = next((i for i, value in enumerate(recent) if value != Status.FAILURE), len(recent))
    return [Event("run_failed", f"{name} failed", **facts),
            Event("consecutive_failures", f"{name} failed {streak} times in a row", failures=streak, **facts)]


def sync_failed(current, repository_id, error: str) -> None:
    """A repository's sync failed (fetch, discovery or import)."""
    try:
        if not any_rules(current.db):
            return
        with current.db.session() as session:
            repository = session.get(GitRepository, repository_id)
            if repository is None:
                return
            notify(session, Event("sync_failed", f"Sync of {repository.slug} failed",
                                  repository=repository.slug, commit=repository.current_head,
                                  error=first_line(error)), current.settings)
    except Exception:
        logger.exception("could not notify about the sync of %s", repository_id)


def approval_requested(session, schedule, settings) -> None:
    """A scheduled job waits for approval; the message leaves with ``session``'s commit."""
    job = schedule.job
    notify(session, Event("approval_requested", f"{schedule.name} waits for approval",
                          job=job.class_path, job_name=job.name, grouping=job.grouping,
                          repository=job.repository.slug if job.repository_id else None,
                          queue=schedule.queue), settings)


def queue_without_workers(current, queue: str, minutes: int) -> list:
    """No live worker has served ``queue`` for ``minutes`` whole minutes (reported once each)."""
    if not any_rules(current.db):
        return []
    with current.db.session() as session:
        return notify(session, Event("queue_without_workers", f"Queue {queue} has had no worker for "
                                     f"{minutes} minute(s)", queue=queue, minutes=minutes),
                      current.settings)
