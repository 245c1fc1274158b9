"""``/api/extras/job-buttons/``: buttons that run a job-button receiver on one object."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import select

from service.api.base import Blueprint, commit, db_session, get_or_404
from service.api.fields import ModelSchema, ObjectUrl, brief, multi, object_type
from service.api.pagination import MAX_SEARCH_LENGTH, PageQuery, page_of, paginate
from service.api.related import apply_receiver_values, content_types_field, job_ids_named, job_reference_field
from service.models import JobButton
from service.triggers.buttons import buttons_for

bp = Blueprint("job-buttons", __name__, url_prefix="/api/extras/job-buttons",
               description="Job buttons: run a job on one object.")

BUTTON_CLASSES = ("default", "primary", "success", "info", "warning", "danger", "link")
PLAIN_FIELDS = ("text", "button_class", "confirmation", "weight", "group_name", "enabled")


class JobButtonSchema(ModelSchema):
    object_type = object_type("JobButton")
    url = ObjectUrl("JobButton")
    name = fields.String()
    content_types = fields.List(fields.String())
    job = brief("Job")
    text = fields.String()
    button_class = fields.String()
    confirmation = fields.Boolean()
    weight = fields.Integer()
    group_name = fields.String()
    enabled = fields.Boolean()
    created = fields.DateTime(dump_only=True)
    last_updated = fields.DateTime(dump_only=True)


class JobButtonInputSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    content_types = content_types_field(required=True)
    job = job_reference_field(required=True)
    text = fields.String(required=True, validate=validate.Length(min=1, max=500))
    button_class = fields.String(validate=validate.OneOf(BUTTON_CLASSES))
    confirmation = fields.Boolean()
    weight = fields.Integer(validate=validate.Range(min=0, max=32767))
    group_name = fields.String(validate=validate.Length(max=100))
    enabled = fields.Boolean()


class JobButtonPatchSchema(JobButtonInputSchema):
    """The same fields, each optional (PATCH)."""


class JobButtonFilter(PageQuery):
    content_type = fields.String(metadata={"description": "Only buttons for this type, e.g. dcim.device."})
    name = multi(fields.String())
    job = multi(fields.String(metadata={"description": "Job UUID, name or class path."}))
    enabled = fields.Boolean()
    q = fields.String(validate=validate.Length(max=MAX_SEARCH_LENGTH))


def filter_buttons(args: dict[str, Any]):
    statement = select(JobButton).order_by(JobButton.group_name, JobButton.weight, JobButton.name)
    if args.get("name"):
        statement = statement.where(JobButton.name.in_(args["name"]))
    if args.get("job"):
        statement = statement.where(JobButton.job_id.in_(job_ids_named(args["job"])))
    if args.get("enabled") is not None:
        statement = statement.where(JobButton.enabled.is_(args["enabled"]))
    if args.get("q"):
        statement = statement.where(JobButton.name.icontains(args["q"], autoescape=True))
    if args.get("content_type"):  # content_types is a JSON list: match in Python, as hooks do
        covering = [button.id for button in buttons_for(db_session(), args["content_type"])]
        statement = statement.where(JobButton.id.in_(covering))
    return statement


def apply_values(session, button: JobButton, values: dict[str, Any]) -> JobButton:
    """Set ``values`` on ``button``; raises ValidationError naming each refused field."""
    apply_receiver_values(session, button, "button", values)
    for name in PLAIN_FIELDS:
        if name in values:
            setattr(button, name, values[name])
    return button


@bp.get("/")
@bp.arguments(JobButtonFilter, location="query", as_kwargs=False)
@bp.response(200, page_of(JobButtonSchema))
def list_buttons(args):
    """List job buttons."""
    return paginate(db_session(), filter_buttons(args), args)


@bp.post("/")
@bp.arguments(JobButtonInputSchema)
@bp.response(201, JobButtonSchema)
def create_button(values):
    """Create a job button (needs change_job)."""
    session = db_session()
    button = apply_values(session, JobButton(), values)
    session.add(button)
    commit(session, unique_field="name")
    return button


@bp.get("/<uuid:button_id>/")
@bp.response(200, JobButtonSchema)
def retrieve_button(button_id):
    """Show one job button."""
    return get_or_404(db_session(), JobButton, button_id)


@bp.patch("/<uuid:button_id>/")
@bp.arguments(JobButtonPatchSchema(partial=True))
@bp.response(200, JobButtonSchema)
def update_button(values, button_id):
    """Change a job button (needs change_job)."""
    session = db_session()
    button = apply_values(session, get_or_404(session, JobButton, button_id), values)
    commit(session, unique_field="name")
    return button


@bp.delete("/<uuid:button_id>/")
@bp.response(204)
def delete_button(button_id):
    """Delete a job button (needs change_job)."""
    session = db_session()
    session.delete(get_or_404(session, JobButton, button_id))
    session.commit()
