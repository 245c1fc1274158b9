"""Syncing a repository: fetch -> checkout -> discover (child process) -> apply the plan to Job rows.

The sync itself is a JobRunner (``SyncRepository``) with its own JobResult and log, so it is
queued, coalesced (``enqueue_once`` per repository), recorded and retried like any other work.

Syncs of one repository run one at a time on every host (a database lease, ``sync_lock_seconds``),
and never move it backwards: if another sync installed a head while this one ran, this one's commit
is applied only when ancestry says it is newer; finishing order decides nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from repos.checkouts import materialise_version
from repos.discover import discover
from repos.errors import DependencyError, RepositoryError
from repos.reconcile import SyncPlan
from service.errors import ServiceError, ValidationError
from service.infra import leases
from service.jobs import JobRunner
from service.jobs.backends import DataBackend
from service.jobs.runner import runner_path
from service.models import GitRepository, JobResult, WebhookDelivery, utcnow
from service.notifications import events as notify
from service.observability import metrics
from service.runs.runners import (
    DEFAULT_QUEUE,
    RunnerCall,
    build_call,
    enqueue_runner,
    enqueue_runner_once,
    lock_identity,
)
from service.sources.apply import apply_discovery, describe_plan
from service.sources.chains import refuse_chain_loops
from service.sources.cleanup import prune_repository
from service.sources.environments import prepare_for_checkout
from service.sources.repositories import open_backend

SYNC_STATUS_COMPLETED = "completed"
SYNC_STATUS_PARTIAL = "partial"
SYNC_STATUS_FAILED = "failed"


class SyncFailed(ServiceError):
    """The sync could not complete; the repository keeps its last good head and jobs."""

    code = "sync_failed"


class SyncRepository(JobRunner):
    """Bring a repository's Job rows in line with the head of its branch."""

    runner_name = "jobsync.sync_repository"  # stored in JobResult.runner: never change it

    class Meta:
        name = "Sync repository"

    def run(self, repository_id: str, dryrun: bool = False) -> dict[str, Any]:
        return observed_sync(self.runtime, uuid.UUID(repository_id), dryrun=dryrun, logger=self.logger)


def observed_sync(current, repository_id: uuid.UUID, *, dryrun: bool = False, logger=None) -> dict[str, Any]:
    """``sync_repository``, measured (duration, outcome, push-to-installed lag) and notified on failure."""
    began = time.monotonic()
    slug = _slug(current.db, repository_id)
    try:
        summary = sync_repository(current, repository_id, dryrun=dryrun, logger=logger)
    except SyncFailed as exc:
        if not dryrun:
            metrics.sync_finished(slug, "failed", time.monotonic() - began)
            notify.sync_failed(current, repository_id, str(exc))
        raise
    if not dryrun:
        metrics.sync_finished(slug, "changed" if summary.get("changed") else "unchanged",
                              time.monotonic() - began)
        if summary.get("changed"):
            _observe_lag(current.db, repository_id, slug, summary["new_head"])
    return summary


def _slug(db, repository_id: uuid.UUID) -> str:
    with db.session() as session:
        slug = session.scalar(select(GitRepository.slug).where(GitRepository.id == repository_id))
    return slug or "unknown"


def _observe_lag(db, repository_id: uuid.UUID, slug: str, head: str) -> None:
    """Push received to commit installed: from the first accepted delivery naming the new head."""
    with db.session() as session:
        received = session.scalar(
            select(func.min(WebhookDelivery.received)).where(
                WebhookDelivery.repository_id == repository_id, WebhookDelivery.sha == head,
                WebhookDelivery.outcome == "accepted")
        )
    lag = metrics.seconds_since(received)
    if lag is not None:
        metrics.sync_lag(slug, lag)


SYNC_RUNNER = runner_path(SyncRepository)
_LAST_SYNC_START = select(func.max(JobResult.started)).where(
    JobResult.runner == SYNC_RUNNER,
    JobResult.object_type == GitRepository.__tablename__,
    JobResult.object_id == bindparam("repository"),
)


def sync_call(repository: GitRepository, *, dryrun: bool = False, user=None, schedule_at=None) -> RunnerCall:
    """Return the checked enqueue call of a sync of ``repository`` (syncs always use the default queue)."""
    kwargs = {"dryrun": True} if dryrun else {}
    return build_call(
        SyncRepository,
        (str(repository.id),),
        kwargs,
        instance=repository,
        schedule_at=schedule_at,
        user=user,
        known_queues=(DEFAULT_QUEUE,),
    )


def request_sync(
    session: Session,
    repository: GitRepository,
    *,
    dryrun: bool = False,
    user=None,
    coalesce_seconds: float = 0.0,
    now: datetime | None = None,
) -> JobResult:
    """Queue a sync of ``repository`` in ``session``'s transaction; its message leaves on commit.

    A sync already waiting for the repository absorbs the request (a dry run never joins one).
    A sync that started less than ``coalesce_seconds`` ago holds the new one back until that much
    time has passed (the scheduler sends it when due), so the pushes of a burst join one follow-up
    sync. ``enqueue_runner_once`` locks, so racing requests leave one waiting sync.
    """
    now = now or utcnow()
    if dryrun:
        return enqueue_runner(session, sync_call(repository, dryrun=True, user=user), now=now)
    last_start = (
        session.scalar(_LAST_SYNC_START, {"repository": str(repository.id)}) if coalesce_seconds else None
    )
    due = last_start + timedelta(seconds=coalesce_seconds) if last_start else None
    call = sync_call(repository, user=user, schedule_at=due if due and due > now else None)
    return enqueue_runner_once(session, call, now=now)


def _record_failure(db, repository_id: uuid.UUID, message: str) -> None:
    with db.session() as session:
        repository = session.get(GitRepository, repository_id)
        if repository is None:
            return
        repository.sync_status, repository.sync_time, repository.sync_error = (
            SYNC_STATUS_FAILED,
            utcnow(),
            message,
        )


def sync_repository(
    current, repository_id: uuid.UUID, *, dryrun: bool = False, logger: logging.Logger | None = None
) -> dict[str, Any]:
    """Sync one repository now; return the diff. Raises SyncFailed (rows untouched) on failure.

    A real sync first takes the repository's lease, waiting while another host's sync holds it.
    """
    logger = logger or logging.getLogger(__name__)
    if dryrun:
        return _sync(current, repository_id, dryrun=True, logger=logger)
    seconds = current.settings.sync_lock_seconds
    try:
        with leases.held(
            current.db,
            f"sync:{repository_id}",
            seconds=seconds,
            wait_seconds=2 * seconds,  # longer than a lease, so a crashed holder's always runs out first
            on_wait=lambda: logger.info("Another sync of this repository is running: waiting for it"),
        ):
            return _sync(current, repository_id, dryrun=False, logger=logger)
    except leases.LeaseBusy as exc:
        raise SyncFailed(f"Another sync of this repository kept it busy: {exc}") from None


def _sync(current, repository_id: uuid.UUID, *, dryrun: bool, logger: logging.Logger) -> dict[str, Any]:
    settings, db = current.settings, current.db
    with db.session() as session:
        repository = session.get(GitRepository, repository_id)
        if repository is None:
            raise SyncFailed(f"Repository {repository_id} no longer exists.")
        slug, remote, branch, old_head = (
            repository.slug,
            repository.remote_url,
            repository.branch,
            repository.current_head,
        )
    logger.info("Syncing %s (%s, branch %s)", slug, remote, branch)
    try:
        with db.session() as session:
            backend = open_backend(session.get(GitRepository, repository_id), settings)
        head = backend.latest_version()
    except (RepositoryError, ValidationError) as exc:
        _record_failure(db, repository_id, str(exc))
        raise SyncFailed(f"Fetch failed: {exc}") from None
    summary: dict[str, Any] = {
        "remote": remote,
        "branch": branch,
        "old_head": old_head,
        "new_head": head,
        "dryrun": dryrun,
    }
    if head == old_head and not dryrun:
        logger.info("Already at %s: nothing to do", head)
        with db.session() as session:
            repository = session.get(GitRepository, repository_id)
            repository.sync_time = utcnow()
            repository.sync_status = repository.sync_status or SYNC_STATUS_COMPLETED
        return {**summary, "changed": False}
    try:
        checkout = materialise_version(settings.data_dir, slug, head, partial(backend.materialise, head))
        environment = prepare_for_checkout(current, checkout)
    except DependencyError as exc:  # the last good commit stays installed, its environment intact
        message = f"Dependencies of {head[:12]} could not be installed: {exc}"
        logger.error(message)
        if not dryrun:
            _record_failure(db, repository_id, message)
        raise SyncFailed(message) from None
    except RepositoryError as exc:
        if not dryrun:
            _record_failure(db, repository_id, str(exc))
        raise SyncFailed(f"Checkout of {head[:12]} failed: {exc}") from None
    environment_key = environment.key if environment is not None else None
    if environment is not None:
        logger.info("Dependencies: environment %s (%s)", environment.key,
                    ", ".join(f"{name} {version}" for name, version in environment.packages.items()))
    try:
        report = discover(slug, checkout, timeout=settings.discovery_timeout_seconds,
                          environment=environment.path if environment is not None else None)
    except RepositoryError as exc:  # discovery timed out or crashed
        if not dryrun:
            _record_failure(db, repository_id, str(exc))
        raise SyncFailed(f"Discovery failed at {head[:12]}: {exc}") from None
    if report.package_error:
        message = f"The jobs package of {head[:12]} failed to import: {report.package_error}"
        logger.error(message)
        if not dryrun:
            _record_failure(db, repository_id, message)
        raise SyncFailed(message)
    report = refuse_chain_loops(db, slug, report)
    for error in report.module_errors:
        logger.warning(
            "Module %s failed to import; its jobs keep their last good code: %s",
            error.module_name,
            error.error,
        )
    plan = _apply(db, backend, repository_id, slug, head, old_head, report, environment_key, dryrun=dryrun)
    if plan is None:
        logger.warning(
            "A newer commit was installed while this sync ran: %s is older, not applied", head[:12]
        )
        return {**summary, "changed": False, "superseded": True}
    summary.update(
        changed=True,
        environment=environment_key,
        **describe_plan(plan),
        module_errors=[{"module": error.module_name, "error": error.error} for error in report.module_errors],
    )
    for kind in ("added", "updated", "removed", "reinstalled"):
        for class_path in summary[kind]:
            logger.info("%s %s", kind.capitalize(), class_path)
    for clash in plan.name_clashes:
        logger.warning(
            "Name %r is taken in %r: %s is shown as %r",
            clash.wanted,
            clash.grouping,
            clash.class_path,
            clash.assigned,
        )
    if not dryrun:
        prune_repository(current, repository_id, slug)
    if report.module_errors and not dryrun:
        raise SyncFailed(
            f"Partial sync: {len(report.module_errors)} module(s) failed to import "
            f"({', '.join(e.module_name for e in report.module_errors)}); other jobs synced."
        )
    return summary


#: How often an apply re-checks ancestry when other syncs keep installing heads meanwhile.
_APPLY_ATTEMPTS = 5


def _installed_head(db, repository_id: uuid.UUID) -> str | None:
    with db.session() as session:
        return session.scalar(select(GitRepository.current_head).where(GitRepository.id == repository_id))


def _apply(
    db,
    backend: DataBackend,
    repository_id: uuid.UUID,
    slug: str,
    head: str,
    old_head: str | None,
    report,
    environment_key: str | None,
    *,
    dryrun: bool,
) -> SyncPlan | None:
    """Plan and (unless dry) apply the changes and move the head, all in one transaction.

    Returns None, changing nothing, when another sync installed a head while this one ran and
    ``head`` is not newer than it. Ancestry is checked outside the transaction (it may fetch);
    the transaction then locks the repository's apply and re-reads the head, retrying if it moved.
    """
    for _attempt in range(_APPLY_ATTEMPTS):
        installed = old_head if dryrun else _installed_head(db, repository_id)
        forward = installed in (old_head, None) or backend.is_newer(head, installed)
        with db.session() as session:
            if not dryrun:
                # Serialises applies of this repository (PostgreSQL advisory lock, SQLite's write
                # lock), so two syncs adding the same job never both insert it.
                lock_identity(session, f"jobsync.apply:{repository_id}")
            repository = session.get(GitRepository, repository_id)
            if repository is None:
                raise SyncFailed(f"Repository {repository_id} was removed while it synced.")
            if not dryrun and repository.current_head != installed:
                continue  # another sync installed a head since we looked: decide again
            if not forward:
                return None
            plan = apply_discovery(
                session,
                report,
                source="git",
                namespace=slug,
                version=head,
                repository=repository,
                environment_key=environment_key,
                dryrun=dryrun,
            )
            if dryrun:
                session.rollback()
                return plan
            repository.current_head = head
            repository.sync_time = utcnow()
            repository.sync_status = SYNC_STATUS_PARTIAL if report.module_errors else SYNC_STATUS_COMPLETED
            repository.sync_error = (
                "; ".join(f"{e.module_name}: {e.error}" for e in report.module_errors) or None
            )
        return plan
    raise SyncFailed("Other syncs of this repository kept installing heads; try again.")
