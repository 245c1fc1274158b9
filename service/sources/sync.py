"""Syncing a repository: fetch -> checkout -> discover (child process) -> apply the plan to Job rows.

The sync itself is a JobRunner (``SyncRepository``) with its own JobResult and log, so it is
queued, coalesced (``enqueue_once`` per repository), recorded and retried like any other work.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import Any

from sqlalchemy import select

from repos.checkouts import collect_garbage, materialise_version, repository_dir
from repos.discover import discover
from repos.errors import RepositoryError
from repos.reconcile import SyncPlan
from service.errors import ServiceError, ValidationError
from service.jobs import JobRunner
from service.models import GitRepository, Job, JobResult, Status, utcnow
from service.sources.apply import apply_discovery, describe_plan
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
        return sync_repository(self.runtime, uuid.UUID(repository_id), dryrun=dryrun, logger=self.logger)


def request_sync(repository: GitRepository, *, dryrun: bool = False, user=None) -> JobResult:
    """Queue a sync; a sync already waiting for this repository absorbs the request."""
    if dryrun:
        return SyncRepository.enqueue(str(repository.id), dryrun=True, instance=repository, user=user)
    return SyncRepository.enqueue_once(str(repository.id), instance=repository, user=user)


def _record_failure(db, repository_id: uuid.UUID, message: str) -> None:
    with db.session() as session:
        repository = session.get(GitRepository, repository_id)
        repository.sync_status, repository.sync_time, repository.sync_error = (
            SYNC_STATUS_FAILED,
            utcnow(),
            message,
        )


def sync_repository(
    current, repository_id: uuid.UUID, *, dryrun: bool = False, logger: logging.Logger | None = None
) -> dict[str, Any]:
    """Sync one repository now; return the diff. Raises SyncFailed (rows untouched) on failure."""
    logger = logger or logging.getLogger(__name__)
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
        report = discover(slug, checkout, timeout=settings.discovery_timeout_seconds)
    except RepositoryError as exc:  # checkout failed, discovery timed out or crashed
        if not dryrun:
            _record_failure(db, repository_id, str(exc))
        raise SyncFailed(f"Discovery failed at {head[:12]}: {exc}") from None
    if report.package_error:
        message = f"The jobs package of {head[:12]} failed to import: {report.package_error}"
        logger.error(message)
        if not dryrun:
            _record_failure(db, repository_id, message)
        raise SyncFailed(message)
    for error in report.module_errors:
        logger.warning(
            "Module %s failed to import; its jobs keep their last good code: %s",
            error.module_name,
            error.error,
        )
    plan = _apply(db, repository_id, slug, head, report, dryrun=dryrun)
    summary.update(
        changed=True,
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
        _collect_garbage(current, repository_id, slug)
    if report.module_errors and not dryrun:
        raise SyncFailed(
            f"Partial sync: {len(report.module_errors)} module(s) failed to import "
            f"({', '.join(e.module_name for e in report.module_errors)}); other jobs synced."
        )
    return summary


def _apply(db, repository_id: uuid.UUID, slug: str, head: str, report, *, dryrun: bool) -> SyncPlan:
    """Plan and (unless dry) apply the changes and move the head, all in one transaction."""
    with db.session() as session:
        repository = session.get(GitRepository, repository_id)
        plan = apply_discovery(
            session, report, source="git", namespace=slug, version=head, repository=repository, dryrun=dryrun
        )
        if dryrun:
            session.rollback()
            return plan
        repository.current_head = head
        repository.sync_time = utcnow()
        repository.sync_status = SYNC_STATUS_PARTIAL if report.module_errors else SYNC_STATUS_COMPLETED
        repository.sync_error = "; ".join(f"{e.module_name}: {e.error}" for e in report.module_errors) or None
    return plan


def _collect_garbage(current, repository_id: uuid.UUID, slug: str) -> list[str]:
    """Drop checkouts nothing needs: keep the head, commits of jobs and of waiting or running runs."""
    with current.db.session() as session:
        keep = set(
            session.scalars(
                select(Job.commit).where(Job.repository_id == repository_id, Job.commit.is_not(None))
            )
        )
        keep |= set(
            session.scalars(
                select(JobResult.commit)
                .join(Job, JobResult.job_id == Job.id)
                .where(
                    Job.repository_id == repository_id,
                    JobResult.status.in_((Status.PENDING, Status.STARTED)),
                    JobResult.commit.is_not(None),
                )
            )
        )
        repository = session.get(GitRepository, repository_id)
        keep.add(repository.current_head)
    directory = repository_dir(current.settings.data_dir, slug)
    recent = sorted(
        (p for p in directory.iterdir() if p.is_dir() and len(p.name) == 40),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )[: current.settings.keep_checkouts]
    keep |= {p.name for p in recent}
    return collect_garbage(current.settings.data_dir, slug, keep)
