"""``/api/extras/job-hooks/``: run a job-hook receiver when objects of some types change."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import select

from service.api.base import Blueprint, commit, db_session, get_or_404
from service.api.fields import ModelSchema, ObjectUrl, brief, multi, object_type
from service.api.pagination import MAX_SEARCH_LENGTH, PageQuery, page_of, paginate
from service.api.related import apply_receiver_values, content_types_field, job_ids_named, job_reference_field
from service.errors import ValidationError
from service.models import JobHook
from service.triggers.rules import hook_has_action

bp = Blueprint("job-hooks", __name__, url_prefix="/api/extras/job-hooks",
               description="Job hooks: run a job when objects change.")

FLAGS = ("enabled", "type_create", "type_update", "type_delete", "run_on_noop_update")


class JobHookSchema(ModelSchema):
    object_type = object_type("JobHook")
    url = ObjectUrl("JobHook")
    name = fields.String()
    content_types = fields.List(fields.String())
    job = brief("Job")
    enabled = fields.Boolean()
    type_create = fields.Boolean()
    type_update = fields.Boolean()
    type_delete = fields.Boolean()
    run_on_noop_update = fields.Boolean()
    created = fields.DateTime(dump_only=True)
    last_updated = fields.DateTime(dump_only=True)


class JobHookInputSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    content_types = content_types_field(required=True)
    job = job_reference_field(required=True)
    enabled = fields.Boolean()
    type_create = fields.Boolean()
    type_update = fields.Boolean()
    type_delete = fields.Boolean()
    run_on_noop_update = fields.Boolean()


class JobHookPatchSchema(JobHookInputSchema):
    """The same fields, each optional (PATCH)."""


class JobHookFilter(PageQuery):
    name = multi(fields.String())
    job = multi(fields.String(metadata={"description": "Job UUID, name or class path."}))
    enabled = fields.Boolean()
    q = fields.String(validate=validate.Length(max=MAX_SEARCH_LENGTH))


def filter_hooks(args: dict[str, Any]):
    statement = select(JobHook).order_by(JobHook.name)
    if args.get("name"):
        statement = statement.where(JobHook.name.in_(args["name"]))
    if args.get("job"):
        statement = statement.where(JobHook.job_id.in_(job_ids_named(args["job"])))
    if args.get("enabled") is not None:
        statement = statement.where(JobHook.enabled.is_(args["enabled"]))
    if args.get("q"):
        statement = statement.where(JobHook.name.icontains(args["q"], autoescape=True))
    return statement


def apply_values(session, hook: JobHook, values: dict[str, Any]) -> JobHook:
    """Set ``values`` on ``hook``; raises ValidationError naming each refused field."""
    apply_receiver_values(session, hook, "hook", values)
    for flag in FLAGS:
        if flag in values:
            setattr(hook, flag, values[flag])
    if not hook_has_action(hook):
        message = "Choose at least one of type_create, type_update, type_delete."
        raise ValidationError({"type_create": [message]})
    return hook


@bp.get("/")
@bp.arguments(JobHookFilter, location="query", as_kwargs=False)
@bp.response(200, page_of(JobHookSchema))
def list_hooks(args):
    """List job hooks."""
    return paginate(db_session(), filter_hooks(args), args)


@bp.post("/")
@bp.arguments(JobHookInputSchema)
@bp.response(201, JobHookSchema)
def create_hook(values):
    """Create a job hook (needs change_job)."""
    session = db_session()
    hook = apply_values(session, JobHook(), values)
    session.add(hook)
    commit(session, unique_field="name")
    return hook


@bp.get("/<uuid:hook_id>/")
@bp.response(200, JobHookSchema)
def retrieve_hook(hook_id):
    """Show one job hook."""
    return get_or_404(db_session(), JobHook, hook_id)


@bp.patch("/<uuid:hook_id>/")
@bp.arguments(JobHookPatchSchema(partial=True))
@bp.response(200, JobHookSchema)
def update_hook(values, hook_id):
    """Change a job hook (needs change_job)."""
    session = db_session()
    hook = apply_values(session, get_or_404(session, JobHook, hook_id), values)
    commit(session, unique_field="name")
    return hook


@bp.delete("/<uuid:hook_id>/")
@bp.response(204)
def delete_hook(hook_id):
    """Delete a job hook (needs change_job)."""
    session = db_session()
    session.delete(get_or_404(session, JobHook, hook_id))
    session.commit()
