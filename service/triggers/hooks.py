"""Job hooks: match object changes to hooks and start their runs (buttons: ``triggers.buttons``).

An event is stored once per (request id, object type, object id, action): the same event again
starts nothing. Each enabled hook whose content types and action flags match starts one run of
its job with ``{"change": <change record>}``; every run of one event is written in the caller's
transaction, and the messages leave when it commits.

How the hook loop is cut: a hook job that changes objects causes new change events, which must
not fire hooks again. An event fires no hooks (it is stored, with the reason) when

- its ``user`` is one of ``hook_loop_users`` (setting; default ``jobsync``): the account hook
  jobs write back to NetBox or Nautobot with. Both put that account's name in the ``username``
  of every webhook they send, so this works with their bodies unchanged; or
- its ``request_id`` is the id of a run of a job hook receiver: a hook job that reports its own
  changes to ``/webhooks/events`` in jobsync's form sets ``request_id`` to ``self.job_result.id``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from service.errors import Conflict, JobNotRunnable, ValidationError
from service.infra.inserts import insert_once
from service.models import Job, JobHook, JobResult, ObjectChangeEvent, User
from service.runs import approval
from service.runs.requests import PreparedRun, insert_runs, prepare_run
from service.triggers.content_types import KEY_LENGTH, covers

ACCEPTED, IGNORED, DUPLICATE = "accepted", "ignored", "duplicate"
_ACTION_FLAGS = {"create": "type_create", "update": "type_update", "delete": "type_delete"}
_ENABLED_HOOKS = (
    select(JobHook).options(joinedload(JobHook.job)).where(JobHook.enabled.is_(True)).order_by(JobHook.name)
)
_HOOK_RUN = (
    select(JobResult.id)
    .join(Job, JobResult.job_id == Job.id)
    .where(JobResult.id == bindparam("run_id"), Job.is_job_hook_receiver.is_(True))
)


@dataclasses.dataclass(frozen=True)
class ChangeRecord:
    """One object change, as the service stores it and hands it to hook jobs."""

    request_id: str | None
    action: str  # create, update or delete
    object_type: str  # "app_label.model", or a bare model name
    object_id: str
    object_repr: str = ""
    prechange: dict[str, Any] | None = None
    postchange: dict[str, Any] | None = None
    user: str | None = None
    time: datetime | None = None
    source: str = "jobsync"
    is_noop_update: bool = False  # an update whose pre- and post-change data are equal

    def as_change(self) -> dict[str, Any]:
        """Return the change record a hook job's ``receive_job_hook`` gets."""
        return {
            "request_id": self.request_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "prechange": self.prechange,
            "postchange": self.postchange,
            "user": self.user,
            "time": self.time.isoformat() if self.time else None,
            "source": self.source,
        }

    def event_key(self) -> str:
        """Return the request id that identifies this event; a digest of it when none fits."""
        if self.request_id and len(self.request_id) <= KEY_LENGTH:
            return self.request_id
        basis = self.request_id or json.dumps(self.as_change(), sort_keys=True, default=str)
        return "sha256:" + hashlib.sha256(basis.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class EventOutcome:
    """What an event did: accepted (runs started), ignored (why) or duplicate."""

    outcome: str
    reason: str | None
    event_id: uuid.UUID | None
    runs: list[uuid.UUID]
    matched: list[dict[str, Any]]


def record_change_event(
    session: Session,
    change: ChangeRecord,
    *,
    sender: str | None,
    user: User | None,
    known_queues: tuple[str, ...],
    loop_users: tuple[str, ...] = (),
) -> EventOutcome:
    """Store an event once and start a run for every matching hook, all in ``session``'s transaction.

    The runs are written with the event when ``session`` commits. An event seen before rolls the
    transaction back (its runs are never written) and answers "duplicate". Raises ValidationError
    when the object's type or id is too long to store.
    """
    _check_sizes(change)
    loop = loop_reason(session, change, loop_users)
    matched, planned = [], []
    if not loop:
        matched, planned = plan_hook_runs(session, change, user=user, known_queues=known_queues)
    runs = [run.row["id"] for run in planned]
    reason = loop or (None if runs else _nothing_ran(change, matched))
    row = insert_once(
        session,
        ObjectChangeEvent,
        _event_row(change, sender, matched, reason),
        unique=("request_id", "object_type", "object_id", "action"),
    )
    if row is None:
        session.rollback()
        reason = "This event (same request id, object and action) was received before; nothing new runs."
        return EventOutcome(DUPLICATE, reason, None, [], [])
    insert_runs(session, planned)  # only once the event is known to be new
    return EventOutcome(ACCEPTED if runs else IGNORED, reason, row.id, runs, matched)


def loop_reason(session: Session, change: ChangeRecord, loop_users: tuple[str, ...]) -> str | None:
    """Say why a change was caused by a hook job (so it fires no hooks), or None."""
    if change.user and change.user in loop_users:
        return (
            f"Made by {change.user!r}, an account hook jobs write back with (hook_loop_users): "
            "hooks do not fire on their own changes."
        )
    run_id = _as_uuid(change.request_id)
    if run_id is None:
        return None
    hook_run = session.scalar(_HOOK_RUN, {"run_id": run_id})
    if hook_run is None:
        return None
    return f"Made by hook run {run_id}: hooks do not fire on their own changes."


def plan_hook_runs(
    session: Session, change: ChangeRecord, *, user: User | None, known_queues: tuple[str, ...]
) -> tuple[list[dict[str, Any]], list[PreparedRun]]:
    """Prepare one run per matching enabled hook, writing nothing.

    Returns, per matching hook, its run id or why it was skipped, and the prepared runs.
    """
    payload = {"change": change.as_change()}
    matched, planned = [], []
    singletons_planned = set()  # nothing is written yet, so prepare_run cannot see these runs
    for hook in session.scalars(_ENABLED_HOOKS):
        if not hook_matches(hook, change):
            continue
        outcome = {"hook": str(hook.id), "name": hook.name}
        skipped = skip_reason(hook, change)
        if not skipped and hook.job.id in singletons_planned:
            skipped = f"Job {hook.job.class_path} is a singleton and another hook runs it for this event."
        if not skipped:
            try:
                run = prepare_run(
                    session,
                    hook.job,
                    internal_data=payload,
                    known_queues=known_queues,
                    user=user,
                    object_type=change.object_type,
                    object_id=change.object_id,
                )
            except (JobNotRunnable, Conflict, ValidationError) as exc:  # this hook's problem, not the event's
                skipped = str(exc)
            else:
                planned.append(run)
                outcome["job_result"] = str(run.row["id"])
                if hook.job.is_singleton:
                    singletons_planned.add(hook.job.id)
        if skipped:
            outcome["skipped"] = skipped
        matched.append(outcome)
    return matched, planned


def hook_matches(hook: JobHook, change: ChangeRecord) -> bool:
    """Tell whether a hook's action flag and content types cover a change."""
    return bool(getattr(hook, _ACTION_FLAGS[change.action])) and covers(
        hook.content_types, change.object_type
    )


def skip_reason(hook: JobHook, change: ChangeRecord) -> str | None:
    """Say why a matching hook starts no run, or None when it should run."""
    job = hook.job
    if not job.installed:
        return f"Job {job.class_path} is not installed."
    if not job.enabled:
        return f"Job {job.class_path} is disabled."
    if not job.is_job_hook_receiver:
        return f"Job {job.class_path} is not a job hook receiver."
    if job.approval_required:
        return approval.receiver_problem(job, "hook")
    if change.is_noop_update and not hook.run_on_noop_update:
        return "The update changed nothing, and this hook does not run on no-op updates."
    return None


def _check_sizes(change: ChangeRecord) -> None:
    errors = {
        field: [f"At most {KEY_LENGTH} characters."]
        for field in ("object_type", "object_id")
        if len(getattr(change, field)) > KEY_LENGTH
    }
    if errors:
        raise ValidationError(errors)


def _event_row(change: ChangeRecord, sender: str | None, matched: list, reason: str | None) -> dict[str, Any]:
    return {
        "request_id": change.event_key(),
        "action": change.action,
        "object_type": change.object_type,
        "object_id": change.object_id,
        "object_repr": (change.object_repr or "")[:300],
        "prechange": change.prechange,
        "postchange": change.postchange,
        "user": change.user[:150] if change.user else None,
        "time": change.time,
        "source": change.source,
        "sender": sender[:150] if sender else None,
        "matched": matched,
        "reason": reason,
    }


def _nothing_ran(change: ChangeRecord, matched: list[dict[str, Any]]) -> str:
    if not matched:
        return f"No enabled job hook matches {change.action} of {change.object_type}."
    return "Every matching hook was skipped: " + "; ".join(f"{e['name']}: {e['skipped']}" for e in matched)


def _as_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
