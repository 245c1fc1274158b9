"""Who may see and cancel which runs: the query filter, the input mask and the cancel rule.

A user with ``view_all_results`` (superusers and admins have it) sees every run, its input, log and
files, and every object change event. Anyone else sees their own runs, and when they hold
``run_job`` (so may run any job) also other users' runs of jobs (not the service's own runners),
but without those runs' input. A run someone may not see is "not found", never "forbidden", so ids
say nothing. Cancelling another user's run needs ``approve_job`` (or admin).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from service.errors import NotFound, PermissionDenied
from service.models import JobResult

VIEW_ALL_RESULTS = "view_all_results"


@dataclasses.dataclass(frozen=True)
class Viewer:
    """Who is looking: a user id and their permission check (from a User or an API principal)."""

    user_id: uuid.UUID | None
    has_permission: Callable[[str], bool]

    @classmethod
    def of(cls, who) -> Viewer:
        """A User (``id``) or an authenticated API principal (``user_id``)."""
        user_id = getattr(who, "user_id", None) or who.id
        return cls(user_id=user_id, has_permission=who.has_permission)

    @property
    def sees_all(self) -> bool:
        return self.has_permission(VIEW_ALL_RESULTS)


def visible_runs(viewer: Viewer) -> ColumnElement[bool] | None:
    """The condition on JobResult rows ``viewer`` may see, or None when they see every run."""
    if viewer.sees_all:
        return None
    own = JobResult.user_id == viewer.user_id
    if viewer.has_permission("run_job"):
        return or_(own, and_(JobResult.job_id.is_not(None), JobResult.runner.is_(None)))
    return own


def only_visible(statement: Select, viewer: Viewer) -> Select:
    """Narrow a query of JobResult rows to those ``viewer`` may see."""
    condition = visible_runs(viewer)
    return statement if condition is None else statement.where(condition)


def visible_run_ids(viewer: Viewer) -> Select | None:
    """A sub-select of the run ids ``viewer`` may see (for logs and files), or None for all."""
    condition = visible_runs(viewer)
    return None if condition is None else select(JobResult.id).where(condition)


def may_see(result: JobResult, viewer: Viewer) -> bool:
    if viewer.sees_all or result.user_id == viewer.user_id:
        return True
    return viewer.has_permission("run_job") and result.job_id is not None and result.runner is None


def check_visible(result: JobResult | None, viewer: Viewer, result_id: object) -> JobResult:
    """Return ``result`` if ``viewer`` may see it; raises NotFound otherwise (or when it is None)."""
    if result is None or not may_see(result, viewer):
        raise NotFound(f"No job result {result_id}.")
    return result


def shows_input(result: JobResult, viewer: Viewer) -> bool:
    """Another user's input is theirs: only its owner and ``view_all_results`` holders see it."""
    return viewer.sees_all or result.user_id == viewer.user_id


def check_may_cancel(result: JobResult, viewer: Viewer) -> None:
    """Raise PermissionDenied when ``viewer`` cancels another user's run without approve_job."""
    if result.user_id != viewer.user_id and not viewer.has_permission("approve_job"):
        raise PermissionDenied("Cancelling another user's run needs the approve_job permission.")
