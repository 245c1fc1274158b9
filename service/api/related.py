"""Related rows named in requests: by UUID, name or class path, in filters and in bodies."""

from __future__ import annotations

import uuid
from typing import Any

from marshmallow import fields, validate
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from service.errors import NotFound, ValidationError
from service.models import Job
from service.runs.requests import get_job
from service.triggers.rules import receiver_problem, value_taken

#: ``app_label.model``, as Nautobot names content types (e.g. ``dcim.device``).
CONTENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"


def content_types_field(**kwargs: Any) -> fields.List:
    item = fields.String(validate=validate.Regexp(CONTENT_TYPE_PATTERN,
                                                  error="Expected app_label.model, e.g. dcim.device."))
    return fields.List(item, validate=validate.Length(min=1, max=100), **kwargs)


def job_reference_field(**kwargs: Any) -> fields.Raw:
    """A job named by UUID, class path or ``{"id": ...}`` (Nautobot accepts a nested object too)."""
    return fields.Raw(metadata={"description": "The job's UUID or class path (or an object with its id).",
                                "oneOf": [{"type": "string"}, {"type": "object"}]}, **kwargs)


def resolve_job(session: Session, value: Any, *, field: str = "job") -> Job:
    """Load the job a request body names; raises ValidationError on ``field`` when there is none."""
    if isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({field: ["Expected the job's UUID or class path."]})
    try:
        return get_job(session, value.strip())
    except NotFound:
        raise ValidationError({field: [f"No job {value!r}."]}) from None


def ensure_unique(session: Session, model: type, field: str, value: Any, *, exclude_id=None) -> None:
    """Raise ValidationError on ``field`` when another ``model`` row already holds ``value``."""
    if value_taken(session, model, field, value, exclude_id):
        raise ValidationError({field: [f"A {model.__name__} with this {field} already exists."]})


def apply_receiver_values(session: Session, row: Any, kind: str, values: dict[str, Any]) -> None:
    """Set the fields job hooks and job buttons share (``job``, ``name``, ``content_types``) on ``row``;
    ``kind`` is "hook" or "button". Raises ValidationError naming the refused field."""
    if "job" in values:
        job = resolve_job(session, values["job"])
        problem = receiver_problem(job, kind)
        if problem:
            raise ValidationError({"job": [problem]})
        row.job = job
    if "name" in values:
        ensure_unique(session, type(row), "name", values["name"], exclude_id=row.id)
        row.name = values["name"]
    if "content_types" in values:
        row.content_types = list(dict.fromkeys(values["content_types"]))


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def id_or_name(id_column, name_columns, values: list[str]) -> ColumnElement[bool]:
    """Match rows whose id, or any of ``name_columns``, is one of ``values``."""
    ids = [parsed for parsed in map(_uuid_or_none, values) if parsed is not None]
    return or_(id_column.in_(ids), *(column.in_(values) for column in name_columns))


def job_ids_named(values: list[str]):
    """A subquery of the ids of jobs named by UUID, name or class path."""
    return select(Job.id).where(id_or_name(Job.id, (Job.name, Job.class_path), values))
