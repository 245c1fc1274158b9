"""Plan how a repository's Job rows change after discovery: pure, no database, no I/O.

Rules:
- a discovered job without a row is *added* (the caller creates it disabled);
- a discovered job with a row gets its synced fields *updated*, except overridable fields whose
  override flag is on; non-overridable fields (variables, receiver flags, module...) always follow
  the code; a row that was uninstalled is *reinstalled* (enabled and overrides left as they are);
- an installed row no longer discovered is *removed* (installed=False), unless its module (or a
  package above it) failed to import: then it is *kept* as it was, at its old commit, with an error;
- display names are unique per grouping: rows that keep their names claim them first (rows not
  rediscovered, overridden names, names reserved by other sources), then existing rows, then new
  ones, in discovery order; a later job whose name is taken gets " (2)", " (3)"...
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from repos.report import DiscoveredJob
from service.jobs.options import OVERRIDABLE_FIELDS

__all__ = [
    "JobSnapshot",
    "NON_OVERRIDABLE_FIELDS",
    "NameClash",
    "OVERRIDABLE_FIELDS",
    "PlannedJob",
    "SYNCED_FIELDS",
    "SyncPlan",
    "class_path_for",
    "plan_sync",
]

NON_OVERRIDABLE_FIELDS = (
    "module_name",
    "job_class_name",
    "is_singleton",
    "is_job_hook_receiver",
    "is_job_button_receiver",
    "supports_dryrun",
    "variables",
)
SYNCED_FIELDS = OVERRIDABLE_FIELDS + NON_OVERRIDABLE_FIELDS
_MISSING = object()


def class_path_for(namespace: str, module_name: str, class_name: str) -> str:
    """Return ``<namespace>/<module below the namespace>/<Class>``, e.g. ``demo/jobs.hello/Hello``."""
    prefix = f"{namespace}."
    relative = module_name[len(prefix) :] if module_name.startswith(prefix) else module_name
    return f"{namespace}/{relative}/{class_name}"


@dataclass(frozen=True)
class JobSnapshot:
    """What the database holds for one Job row: its synced values and which fields are overridden."""

    class_path: str
    module_name: str
    installed: bool = True
    enabled: bool = False
    values: Mapping[str, Any] = field(default_factory=dict)
    overridden: frozenset[str] = frozenset()
    commit: str | None = None

    @property
    def name(self) -> str | None:
        return self.values.get("name")

    @property
    def grouping(self) -> str | None:
        return self.values.get("grouping")


@dataclass(frozen=True)
class PlannedJob:
    """A job to create: its identity and the synced field values to store."""

    class_path: str
    module_name: str
    class_name: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class NameClash:
    """A job whose wanted display name was taken in its grouping, and the name it got instead."""

    class_path: str
    grouping: str
    wanted: str
    assigned: str


@dataclass
class SyncPlan:
    """The changes to apply to a repository's Job rows, in one transaction.

    ``seen`` lists every discovered class_path (set their commit to the synced one); rows in
    ``kept_from_failed_modules`` keep their old commit.
    """

    added: list[PlannedJob] = field(default_factory=list)
    updated: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    reinstalled: list[str] = field(default_factory=list)
    kept_from_failed_modules: list[str] = field(default_factory=list)
    name_clashes: list[NameClash] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Say whether no row changes (kept jobs, clashes and errors change no row)."""
        return not (self.added or self.updated or self.removed or self.reinstalled)


@dataclass
class _Candidate:
    class_path: str
    job: DiscoveredJob
    fields: dict[str, Any]
    snapshot: JobSnapshot | None


def plan_sync(
    namespace: str,
    discovered: Sequence[DiscoveredJob],
    current: Sequence[JobSnapshot],
    failed_modules: Collection[str] = (),
    *,
    reserved_names: Collection[tuple[str, str]] = (),
) -> SyncPlan:
    """Plan the Job row changes for ``namespace`` from what discovery found and what the rows hold.

    ``failed_modules``: modules that failed to import (their rows are kept). ``reserved_names``:
    ``(grouping, name)`` pairs used by other sources' jobs, which new names must avoid.
    """
    plan = SyncPlan()
    snapshots = {snapshot.class_path: snapshot for snapshot in current}
    candidates = _candidates(namespace, discovered, snapshots, plan)
    _assign_names(candidates, snapshots, reserved_names, plan)
    for candidate in candidates:
        plan.seen.append(candidate.class_path)
        _plan_candidate(candidate, plan)
    discovered_paths = {candidate.class_path for candidate in candidates}
    for snapshot in current:
        if snapshot.class_path not in discovered_paths and snapshot.installed:
            _plan_missing(snapshot, failed_modules, plan)
    return plan


def _candidates(
    namespace: str, discovered: Sequence[DiscoveredJob], snapshots: Mapping[str, JobSnapshot], plan: SyncPlan
) -> list[_Candidate]:
    candidates: dict[str, _Candidate] = {}
    for job in discovered:
        class_path = class_path_for(namespace, job.module_name, job.class_name)
        if class_path in candidates:
            plan.errors.append(f"{class_path} was discovered twice; the second one is ignored.")
            continue
        fields = {name: job.spec[name] for name in SYNCED_FIELDS if name in job.spec}
        fields.update(module_name=job.module_name, job_class_name=job.class_name)
        snapshot = snapshots.get(class_path)
        if snapshot is not None:
            for name in snapshot.overridden & set(OVERRIDABLE_FIELDS):
                if name in snapshot.values:
                    fields[name] = snapshot.values[name]
        candidates[class_path] = _Candidate(class_path, job, fields, snapshot)
    return list(candidates.values())


def _assign_names(
    candidates: list[_Candidate],
    snapshots: Mapping[str, JobSnapshot],
    reserved_names: Collection[tuple[str, str]],
    plan: SyncPlan,
) -> None:
    taken: dict[tuple[str, str], str | None] = {pair: None for pair in reserved_names}
    discovered_paths = {candidate.class_path for candidate in candidates}
    for snapshot in snapshots.values():
        if snapshot.class_path not in discovered_paths and snapshot.name is not None:
            taken.setdefault((snapshot.grouping or "", snapshot.name), snapshot.class_path)
    # One pass, in discovery order: ``c not in keeps_name`` compared dataclasses, n x k of them.
    keeps_name: list[_Candidate] = []
    existing: list[_Candidate] = []
    new: list[_Candidate] = []
    for candidate in candidates:
        if candidate.snapshot is None:
            new.append(candidate)
        elif "name" in candidate.snapshot.overridden:
            keeps_name.append(candidate)
        else:
            existing.append(candidate)
    for candidate in keeps_name:
        taken.setdefault(_name_key(candidate), candidate.class_path)
    for candidate in existing + new:
        if "name" not in candidate.fields:
            continue
        grouping, wanted = _name_key(candidate)
        assigned, suffix = wanted, 2
        while taken.get((grouping, assigned), candidate.class_path) != candidate.class_path:
            assigned, suffix = f"{wanted} ({suffix})", suffix + 1
        taken[(grouping, assigned)] = candidate.class_path
        if assigned != wanted:
            candidate.fields["name"] = assigned
            plan.name_clashes.append(NameClash(candidate.class_path, grouping, wanted, assigned))


def _name_key(candidate: _Candidate) -> tuple[str, str]:
    return candidate.fields.get("grouping") or "", candidate.fields["name"]


def _plan_candidate(candidate: _Candidate, plan: SyncPlan) -> None:
    snapshot = candidate.snapshot
    if snapshot is None:
        plan.added.append(
            PlannedJob(
                candidate.class_path, candidate.job.module_name, candidate.job.class_name, candidate.fields
            )
        )
        return
    if not snapshot.installed:
        plan.reinstalled.append(candidate.class_path)
    changes = {
        name: value
        for name, value in candidate.fields.items()
        if name not in snapshot.overridden and snapshot.values.get(name, _MISSING) != value
    }
    if changes:
        plan.updated[candidate.class_path] = changes


def _plan_missing(snapshot: JobSnapshot, failed_modules: Collection[str], plan: SyncPlan) -> None:
    failed = next((module for module in failed_modules if _within(snapshot.module_name, module)), None)
    if failed is None:
        plan.removed.append(snapshot.class_path)
        return
    plan.kept_from_failed_modules.append(snapshot.class_path)
    commit = f" at commit {snapshot.commit}" if snapshot.commit else ""
    plan.errors.append(f"{snapshot.class_path} kept{commit}: module {failed} failed to import.")


def _within(module_name: str, package: str) -> bool:
    return module_name == package or module_name.startswith(f"{package}.")
