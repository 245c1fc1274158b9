"""``/api/extras/jobs/``: list, retrieve (by UUID or class path), PATCH overrides, variables."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import or_, select

from service.api.base import Blueprint, db_session
from service.api.fields import ModelSchema, ObjectUrl, brief, multi, object_type
from service.api.pagination import MAX_SEARCH_LENGTH, PageQuery, page_of, paginate
from service.models import OVERRIDABLE_FIELDS, Job
from service.runs.requests import get_job
from service.sources.overrides import update_job_settings
from service.web.app_runtime import current_runtime

bp = Blueprint("jobs", __name__, url_prefix="/api/extras/jobs", description="Jobs: list, inspect, enable.")



def _overridable_fields() -> dict[str, fields.Field]:
    """The metadata fields an admin may override, each with its ``<attr>_override`` flag."""
    limit = {"allow_none": True, "validate": validate.Range(min=0, max=10**9)}
    values: dict[str, fields.Field] = {
        "grouping": fields.String(validate=validate.Length(max=200)),
        "name": fields.String(validate=validate.Length(min=1, max=200)),
        "description": fields.String(),
        "approval_required": fields.Boolean(),
        "dryrun_default": fields.Boolean(),
        "field_order": fields.List(fields.String()),
        "has_sensitive_variables": fields.Boolean(),
        "hidden": fields.Boolean(),
        "read_only": fields.Boolean(),
        "soft_time_limit": fields.Float(**limit),
        "time_limit": fields.Float(**limit),
        "task_queues": fields.List(fields.String()),
    }
    assert set(values) == set(OVERRIDABLE_FIELDS)
    for name in OVERRIDABLE_FIELDS:
        values[f"{name}_override"] = fields.Boolean()
    return values


class _JobFields(ModelSchema):
    object_type = object_type("Job")
    url = ObjectUrl("Job")
    source = fields.String(dump_only=True)
    repository = brief("GitRepository")
    module_name = fields.String(dump_only=True)
    job_class_name = fields.String(dump_only=True)
    class_path = fields.String(dump_only=True)
    installed = fields.Boolean(dump_only=True)
    enabled = fields.Boolean()
    is_job_hook_receiver = fields.Boolean(dump_only=True)
    is_job_button_receiver = fields.Boolean(dump_only=True)
    is_singleton = fields.Boolean(dump_only=True)
    retries = fields.Integer(dump_only=True, metadata={
        "description": "Attempts after the first (Meta.retries)."})
    retry_backoff = fields.Dict(dump_only=True, allow_none=True, metadata={
        "description": "Seconds between attempts: base * factor ** (retry - 1), at most max, plus jitter."})
    retry_on = fields.List(fields.String(), dump_only=True, allow_none=True)
    on_success_run = fields.List(fields.String(), dump_only=True, allow_none=True)
    on_failure_run = fields.List(fields.String(), dump_only=True, allow_none=True)
    supports_dryrun = fields.Method("dump_supports_dryrun", dump_only=True,
                                    metadata={"type": "boolean"})
    commit = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "The commit the job was last seen at."})
    environment_key = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "The dependency environment of that commit (null: none declared)."})
    import_error = fields.String(dump_only=True, allow_none=True)
    created = fields.DateTime(dump_only=True)
    last_updated = fields.DateTime(dump_only=True)

    def dump_supports_dryrun(self, job: Job) -> bool:
        return any(item.get("type") == "DryRunVar" for item in job.variables or [])


JobSchema = type("JobSchema", (_JobFields,), _overridable_fields())


class _JobPatchFields(ma.Schema):
    """Writable job fields; setting an attribute without its flag turns the flag on."""

    class Meta:
        unknown = ma.EXCLUDE

    enabled = fields.Boolean()


JobPatchSchema = type("JobPatchSchema", (_JobPatchFields,), _overridable_fields())


class JobFilter(PageQuery):
    q = fields.String(validate=validate.Length(max=MAX_SEARCH_LENGTH),
                      metadata={"description": "Search name, grouping and description."})
    grouping = multi(fields.String())
    name = multi(fields.String())
    module_name = multi(fields.String())
    job_class_name = multi(fields.String())
    source = multi(fields.String())
    installed = fields.Boolean()
    enabled = fields.Boolean()
    hidden = fields.Boolean()
    read_only = fields.Boolean()
    approval_required = fields.Boolean()
    has_sensitive_variables = fields.Boolean()
    is_job_hook_receiver = fields.Boolean()
    is_job_button_receiver = fields.Boolean()
    is_singleton = fields.Boolean()


class JobVariableSchema(ma.Schema):
    name = fields.String()
    type = fields.String()
    label = fields.String(allow_none=True)
    help_text = fields.String(allow_none=True)
    required = fields.Boolean()
    default = fields.Raw(allow_none=True)
    min_length = fields.Integer(allow_none=True)
    max_length = fields.Integer(allow_none=True)
    regex = fields.String(allow_none=True)
    min_value = fields.Float(allow_none=True)
    max_value = fields.Float(allow_none=True)
    min_prefix_length = fields.Integer(allow_none=True)
    max_prefix_length = fields.Integer(allow_none=True)
    choices = fields.Raw(allow_none=True)
    model = fields.String(allow_none=True)
    query_params = fields.Dict(allow_none=True)


BOOLEAN_FILTERS = ("installed", "enabled", "hidden", "read_only", "approval_required", "is_singleton",
                   "has_sensitive_variables", "is_job_hook_receiver", "is_job_button_receiver")


def filter_jobs(args: dict[str, Any]):
    statement = select(Job).order_by(Job.grouping, Job.name, Job.class_path)
    for name in ("grouping", "name", "module_name", "job_class_name", "source"):
        if args.get(name):
            statement = statement.where(getattr(Job, name).in_(args[name]))
    for name in BOOLEAN_FILTERS:
        if args.get(name) is not None:
            statement = statement.where(getattr(Job, name).is_(args[name]))
    if args.get("q"):
        statement = statement.where(or_(*(column.icontains(args["q"], autoescape=True)
                                          for column in (Job.name, Job.grouping, Job.description))))
    return statement


@bp.get("/")
@bp.arguments(JobFilter, location="query", as_kwargs=False)
@bp.response(200, page_of(JobSchema))
def list_jobs(args):
    """List jobs, filtered as Nautobot's job list is."""
    return paginate(db_session(), filter_jobs(args), args)


@bp.get("/<path:ref>/")
@bp.response(200, JobSchema)
def retrieve_job(ref):
    """Show one job, named by its UUID or its class path (source/module/Class)."""
    return get_job(db_session(), ref)


@bp.patch("/<path:ref>/")
@bp.arguments(JobPatchSchema)
@bp.response(200, JobSchema)
def update_job(changes, ref):
    """Enable or disable a job, or override its metadata (needs change_job)."""
    session = db_session()
    job = get_job(session, ref)
    update_job_settings(job, changes, current_runtime().settings.all_queues)
    session.commit()
    return job


@bp.get("/<path:ref>/variables/")
@bp.response(200, JobVariableSchema(many=True))
def job_variables(ref):
    """Describe the input variables the job takes, as Nautobot lists them."""
    job = get_job(db_session(), ref)
    return [describe_variable(item) for item in job.variables or []]


def describe_variable(item: dict[str, Any]) -> dict[str, Any]:
    """One variable in Nautobot's shape: the stored schema, with ``description`` as ``help_text``."""
    entry = {key: value for key, value in item.items() if key != "description"}
    entry["help_text"] = item.get("description") or ""
    return entry
