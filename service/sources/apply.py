"""Apply what discovery found to Job rows: the plan from ``repos.reconcile``, written in one session.

Shared by every source of jobs: git repositories (``service.sources.sync``), the local jobs
directory (``service.sources.local``) and extensions. Rows are read and written as plain data
(``service.sources.job_rows``): a sync costs a handful of statements, not one ORM object per job.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, not_, select
from sqlalchemy.orm import Session

from repos.reconcile import SyncPlan, class_path_for, plan_sync
from repos.report import DiscoveryReport
from service.infra.many import matching
from service.models import GitRepository, Job
from service.sources.job_rows import (
    OVERRIDE_FLAGS,
    differing,
    extra_fields,
    insert_rows,
    read_rows,
    snapshot,
    update_all,
    update_rows,
)
from service.sources.repositories import uninstall_jobs


def describe_plan(plan: SyncPlan) -> dict[str, Any]:
    return {
        "added": [job.class_path for job in plan.added],
        "updated": sorted(plan.updated),
        "removed": list(plan.removed),
        "reinstalled": list(plan.reinstalled),
        "kept_from_failed_modules": list(plan.kept_from_failed_modules),
        "errors": list(plan.errors),
    }


def _drop_class_path_clashes(session: Session, plan: SyncPlan, source: str) -> None:
    """Report, rather than insert, new jobs whose class path another source's job already holds.

    Class paths are unique across sources; a clash (a repository registered under a namespace
    before it was reserved) must not stop a sync or the worker's start with an IntegrityError.
    Rows of this source that no repository owns any more are no clash: they are taken over.
    """
    wanted = [planned.class_path for planned in plan.added]
    orphan = and_(Job.source == source, Job.repository_id.is_(None))
    taken = {
        class_path
        for clause in matching(session, Job.class_path, wanted)
        for class_path in session.scalars(select(Job.class_path).where(clause, not_(orphan)))
    }
    if not taken:
        return
    for class_path in sorted(taken):
        plan.errors.append(
            f"{class_path} is already the class path of a job from another source; this one is not added."
        )
    plan.added = [planned for planned in plan.added if planned.class_path not in taken]
    plan.seen = [class_path for class_path in plan.seen if class_path not in taken]


def _import_error_for(module_name: str, errors: dict[str, str]) -> str:
    for module, message in errors.items():
        if module_name == module or module_name.startswith(module + "."):
            return message
    return "Its module failed to import."


def _orphans(session: Session, source: str, class_paths: list[str]) -> dict[str, uuid.UUID]:
    """Return the ids of the rows holding ``class_paths`` that no repository owns (a removed one's)."""
    found: dict[str, uuid.UUID] = {}
    for clause in matching(session, Job.class_path, class_paths):
        rows = session.execute(
            select(Job.class_path, Job.id).where(Job.source == source, Job.repository_id.is_(None), clause)
        )
        found.update({class_path: row_id for class_path, row_id in rows})
    return found


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
    Rows are written with Core statements: Job objects already loaded in ``session`` go stale.
    """
    repository_id = repository.id if repository is not None else None
    rows = read_rows(session, source, repository_id)
    plan = plan_sync(namespace, report.jobs, [snapshot(row) for row in rows.values()], report.failed_modules)
    if dryrun:
        return plan
    session.flush()  # the caller's pending ORM changes go first: the writes below bypass the ORM
    _drop_class_path_clashes(session, plan, source)
    specs: dict[str, dict[str, Any]] = {}
    for found in report.jobs:  # the first of a class path discovered twice, as the plan keeps
        specs.setdefault(class_path_for(namespace, found.module_name, found.class_name), found.spec)
    stamp = {"commit": version, "environment_key": environment_key, "import_error": None}
    new_rows, changes = _added(session, plan, specs, source, repository_id, stamp)
    stamped = []
    for class_path in plan.seen:
        row = rows.get(class_path)
        if row is None:  # added above
            continue
        change = dict(plan.updated.get(class_path, {}))
        change.update(differing(row, extra_fields(specs[class_path])))
        if not row.installed:
            change["installed"] = True
        if change:
            changes[row.id] = {**change, **stamp}
        elif differing(row, stamp):
            stamped.append(row.id)
    errors = {error.module_name: error.error for error in report.module_errors}
    for class_path in plan.kept_from_failed_modules:
        row = rows[class_path]
        changes[row.id] = differing(row, {"import_error": _import_error_for(row.module_name, errors)})
    insert_rows(session, new_rows)
    update_rows(session, changes)
    update_all(session, stamped, stamp)
    where = f"repository {repository.name}" if repository is not None else f"the {source} jobs"
    uninstall_jobs(session, [rows[path].id for path in plan.removed], f"Its job was removed from {where}.")
    return plan


def _added(
    session: Session,
    plan: SyncPlan,
    specs: dict[str, dict[str, Any]],
    source: str,
    repository_id: uuid.UUID | None,
    stamp: dict[str, Any],
) -> tuple[list[dict[str, Any]], dict[uuid.UUID, dict[str, Any]]]:
    """Return the rows to insert for the plan's new jobs, and the orphaned rows they take over.

    New jobs start disabled. A row left by a removed repository whose slug was reused is taken
    over as a new job: its admin overrides are dropped.
    """
    orphans = _orphans(session, source, [planned.class_path for planned in plan.added])
    new_rows: list[dict[str, Any]] = []
    takeovers: dict[uuid.UUID, dict[str, Any]] = {}
    for planned in plan.added:
        values = {
            "repository_id": repository_id,
            "enabled": False,
            "installed": True,
            **planned.fields,
            **stamp,
            **extra_fields(specs[planned.class_path]),
        }
        orphan = orphans.get(planned.class_path)
        if orphan is None:
            new_rows.append({"id": uuid.uuid4(), "source": source, "class_path": planned.class_path,
                             **values})
        else:
            takeovers[orphan] = {**dict.fromkeys(OVERRIDE_FLAGS, False), **values}
    return new_rows, takeovers
