"""The rules for job hooks and job buttons, shared by every edge that edits them (API, web UI).

Each edge parses its own input format; what makes a hook or button valid is decided here.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Job, JobHook
from service.runs import approval

RECEIVER_FLAGS = {"hook": "is_job_hook_receiver", "button": "is_job_button_receiver"}


def receiver_problem(job: Job, kind: str) -> str | None:
    """Say why ``job`` cannot serve a job ``kind`` ("hook" or "button"), or None if it can."""
    if not getattr(job, RECEIVER_FLAGS[kind]):
        return f"Job {job.class_path} is not a job {kind} receiver."
    return approval.receiver_problem(job, kind)


def value_taken(session: Session, model: type, field: str, value: Any,
                exclude_id: uuid.UUID | None = None) -> bool:
    """Tell whether another ``model`` row already holds ``value`` in ``field``."""
    statement = select(model.id).where(getattr(model, field) == value)
    if exclude_id is not None:
        statement = statement.where(model.id != exclude_id)
    return session.scalar(statement.limit(1)) is not None


def hook_has_action(hook: JobHook | dict) -> bool:
    """A hook must fire on at least one of create, update and delete."""
    get = hook.get if isinstance(hook, dict) else lambda name: getattr(hook, name)
    return bool(get("type_create") or get("type_update") or get("type_delete"))
