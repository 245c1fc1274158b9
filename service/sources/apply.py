"""Apply what discovery found to Job rows: the plan from ``repos.reconcile``, written in one session.

Shared by every source of jobs: git repositories (``service.sources.sync``) and the local jobs
directory (``service.sources.local``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, not_, select
from sqlalchemy.orm import Session

from repos.reconcile import SYNCED_FIELDS, JobSnapshot, SyncPlan, class_path_for, plan_sync
from repos.report import DiscoveryReport
from service.models import OVERRIDABLE_FIELDS, GitRepository, Job
from service.sources.repositories import uninstall_jobs


def snapshot(job: Job) -> JobSnapshot:
    return JobSnapshot(
        class_path=job.class_path,
        module_name=job.module_name,
        installed=job.installed,
        enabled=job.enabled,
        values={field: getattr(job, field) for field in SYNCED_FIELDS},
        overridden=frozenset(f for f in OVERRIDABLE_FIELDS if getattr(job, f"{f}_override")),
        commit=job.commit,
    )


def describe_plan(plan: SyncPlan) -> dict[str, Any]:
    return {
        "added": [job.class_path for job in plan.added],
        "updated": sorted(plan.updated),
        "removed": list(plan.removed),
        "reinstalled": list(plan.reinstalled),
        "kept_from_failed_modules": list(plan.kept_from_failed_modules),
        "errors": list(plan.errors),
    }


def _extra_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """Spec values stored on the row that the reconcile plan does not track."""
    return {
        "retry_on_worker_lost": bool(spec.get("retry_on_worker_lost", False)),
        "concurrency_key": spec.get("concurrency_key"),
        "concurrency_key_callable": bool(spec.get("concurrency_key_callable", False)),
        "concurrency_limit": int(spec.get("concurrency_limit") or 1),
        "concurrency_policy": spec.get("concurrency_policy") or "queue",
        "retries": int(spec.get("retries") or 0),
        "retry_backoff": spec.get("retry_backoff"),
        "retry_on": spec.get("retry_on"),
        "on_success_run": spec.get("on_success_run") or None,
        "on_failure_run": spec.get("on_failure_run") or None,
    }


def _drop_class_path_clashes(session: Session, plan: SyncPlan, source: str) -> None:
    """Report, rather than insert, new jobs whose class path another source's job already holds.

    Class paths are unique across sources; a clash (a repository registered under a namespace
    before it was reserved) must not stop a sync or the worker's start with an IntegrityError.
    Rows of this source that no repository owns any more are no clash: they are taken over.
    """
    wanted = [planned.class_path for planned in plan.added]
    if not wanted:
        return
    orphan = and_(Job.source == source, Job.repository_id.is_(None))
    taken = set(session.scalars(select(Job.class_path).where(Job.class_path.in_(wanted), not_(orphan))))
    for class_path in sorted(taken):
        plan.errors.append(
            f"{class_path} is already the class path of a job from another source; this one is not added."
        )
    plan.added = [planned for planned in plan.added if planned.class_path not in taken]
    plan.seen = [class_path for class_path in plan.seen if class_path not in taken]


def _import_error_for(job: Job, errors: dict[str, str]) -> str:
    for module, message in errors.items():
        if job.module_name == module or job.module_name.startswith(module + "."):
            return message
    return "Its module failed to import."


def _orphans(session: Session, source: str, class_paths: list[str]) -> dict[str, Job]:
    """Return the rows already holding ``class_paths`` that no repository owns (a removed one's)."""
    if not class_paths:
        return {}
    rows = session.scalars(
        select(Job).where(Job.source == source, Job.repository_id.is_(None), Job.class_path.in_(class_paths))
    )
    return {job.class_path: job for job in rows}


def apply_discovery(
    session: Session,
    report: DiscoveryReport,
    *,
    source: str,
    namespace: str,
    version: str,
    repository: GitRepository | None = None,
    environment_key: str | None = None,
    dryrun: bool = False,
) -> SyncPlan:
    """Plan the changes for one source's jobs and, unless ``dryrun``, apply them to ``session``.

    Jobs seen at ``version`` run with its dependency environment ``environment_key`` (None: none).
    """
    query = select(Job).where(Job.source == source)
    if repository is not None:
        query = query.where(Job.repository_id == repository.id)
    jobs = {job.class_path: job for job in session.scalars(query)}
    plan = plan_sync(namespace, report.jobs, [snapshot(job) for job in jobs.values()], report.failed_modules)
    if dryrun:
        return plan
    _drop_class_path_clashes(session, plan, source)
    specs = {class_path_for(namespace, f.module_name, f.class_name): f.spec for f in report.jobs}
    orphans = _orphans(session, source, [planned.class_path for planned in plan.added])
    for planned in plan.added:
        job = orphans.get(planned.class_path)
        if job is None:
            job = Job(source=source, class_path=planned.class_path)
            session.add(job)
        else:
            for field in OVERRIDABLE_FIELDS:
                setattr(job, f"{field}_override", False)
        # A row left by a removed repository whose slug was reused is taken over as a new job.
        job.repository, job.enabled, job.installed = repository, False, True
        for field, value in planned.fields.items():
            setattr(job, field, value)
        jobs[planned.class_path] = job
    for class_path, changes in plan.updated.items():
        for field, value in changes.items():
            setattr(jobs[class_path], field, value)
    for class_path in plan.reinstalled:
        jobs[class_path].installed = True
    for class_path in plan.seen:
        job = jobs[class_path]
        job.commit, job.environment_key, job.import_error = version, environment_key, None
        for field, value in _extra_fields(specs[class_path]).items():
            setattr(job, field, value)
    errors = {error.module_name: error.error for error in report.module_errors}
    for class_path in plan.kept_from_failed_modules:
        jobs[class_path].import_error = _import_error_for(jobs[class_path], errors)
    session.flush()
    where = f"repository {repository.name}" if repository is not None else f"the {source} jobs"
    uninstall_jobs(session, [jobs[path].id for path in plan.removed], f"Its job was removed from {where}.")
    return plan
