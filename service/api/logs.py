"""``/api/extras/job-logs/``: every run's log entries, filtered by run and level."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from sqlalchemy import select

from service.api.base import Blueprint, db_session, get_or_404
from service.api.fields import Computed, ModelSchema, ObjectUrl, Reference, multi, object_type
from service.api.pagination import MAX_SEARCH_LENGTH, KeysetPageQuery, page_of, paginate
from service.errors import NotFound
from service.infra.pages import Keyset
from service.models import LOG_LEVELS, JobLogEntry
from service.runs import visibility
from service.web.auth import current_principal

bp = Blueprint("job-logs", __name__, url_prefix="/api/extras/job-logs", description="Job log entries.")


class JobLogEntrySchema(ModelSchema):
    object_type = object_type("JobLogEntry")
    display = Computed(lambda entry: entry.created.isoformat())
    url = ObjectUrl("JobLogEntry")
    absolute_url = Computed(lambda entry: None, allow_none=True)
    created = fields.DateTime(dump_only=True)
    grouping = fields.String(dump_only=True)
    log_level = fields.String(attribute="level", dump_only=True)
    log_object = Computed(lambda entry: (entry.object or {}).get("repr"), allow_none=True)
    message = fields.String(dump_only=True)
    job_result = Reference("JobResult", attribute="job_result_id")


#: A log's order, for its ``next`` links' cursors.
OLDEST_FIRST = Keyset(JobLogEntry.created, JobLogEntry.id)


class JobLogFilter(KeysetPageQuery):
    job_result = multi(fields.UUID())
    log_level = multi(fields.String(validate=validate.OneOf(LOG_LEVELS)))
    grouping = multi(fields.String())
    q = fields.String(validate=validate.Length(max=MAX_SEARCH_LENGTH),
                      metadata={"description": "Search the messages."})


def filter_logs(args: dict[str, Any]):
    statement = select(JobLogEntry).order_by(JobLogEntry.created, JobLogEntry.id)
    if args.get("job_result"):
        statement = statement.where(JobLogEntry.job_result_id.in_(args["job_result"]))
    if args.get("log_level"):
        statement = statement.where(JobLogEntry.level.in_(args["log_level"]))
    if args.get("grouping"):
        statement = statement.where(JobLogEntry.grouping.in_(args["grouping"]))
    if args.get("q"):
        statement = statement.where(JobLogEntry.message.icontains(args["q"], autoescape=True))
    return statement


@bp.get("/")
@bp.arguments(JobLogFilter, location="query", as_kwargs=False)
@bp.response(200, page_of(JobLogEntrySchema))
def list_logs(args):
    """List log entries, oldest first."""
    return paginate(db_session(), only_visible_logs(filter_logs(args)), args, keyset=OLDEST_FIRST)


@bp.get("/<uuid:entry_id>/")
@bp.response(200, JobLogEntrySchema)
def retrieve_log(entry_id):
    """Show one log entry."""
    session = db_session()
    entry = get_or_404(session, JobLogEntry, entry_id)
    visible = only_visible_logs(select(JobLogEntry.id).where(JobLogEntry.id == entry_id))
    if session.scalar(visible) is None:
        raise NotFound(f"No JobLogEntry {entry_id}.")
    return entry


def only_visible_logs(statement):
    """Keep the log entries of runs the caller may see (service.runs.visibility)."""
    run_ids = visibility.visible_run_ids(visibility.Viewer.of(current_principal()))
    return statement if run_ids is None else statement.where(JobLogEntry.job_result_id.in_(run_ids))
