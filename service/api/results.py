"""``/api/extras/job-results/``: runs, their logs and output files, and cancelling them."""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any
from urllib.parse import quote

import marshmallow as ma
from flask import Response, g, jsonify, request
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.api.base import Blueprint, api_url, db_session
from service.api.fields import (
    Computed,
    ModelSchema,
    ObjectUrl,
    Reference,
    brief,
    choice,
    multi,
    object_type,
    result_display,
)
from service.api.logs import OLDEST_FIRST, JobLogEntrySchema
from service.api.pagination import KeysetPageQuery, page_of, paginate
from service.api.related import id_or_name, job_ids_named
from service.errors import NotFound
from service.infra.pages import Keyset
from service.models import JobLogEntry, JobOutputFile, JobResult, Status, User
from service.runs import visibility
from service.runs.requests import request_cancel
from service.web.auth import current_principal

bp = Blueprint("job-results", __name__, url_prefix="/api/extras/job-results",
               description="Job results: runs, their logs and files; cancel a run.")


class OutputFileSchema(ma.Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True)
    size = fields.Integer(dump_only=True)
    created = fields.DateTime(dump_only=True)
    url = fields.Method("dump_url", dump_only=True, metadata={"type": "string", "format": "uri"})

    def dump_url(self, output: JobOutputFile) -> str:
        return api_url(f"extras/job-results/{output.job_result_id}/files/{quote(output.name, safe='')}")


class OutputFiles(fields.List):
    """The run's output files, prefetched for a whole page by ``list_results``."""

    def __init__(self):
        super().__init__(fields.Nested(OutputFileSchema), dump_only=True)

    def serialize(self, attr, obj, accessor=None, **kwargs):
        prefetched = g.get("output_files")
        if prefetched is None:
            prefetched = files_by_result(db_session(), [obj.id])
        return self._serialize(prefetched.get(obj.id, []), attr, obj, **kwargs)


class EnvironmentSchema(ma.Schema):
    """The dependency environment a run imported from: its key and installed package versions."""

    key = fields.String(dump_only=True)
    packages = fields.Dict(keys=fields.String(), values=fields.String(), dump_only=True)


class JobResultSchema(ModelSchema):
    object_type = object_type("JobResult")
    display = Computed(result_display)
    url = ObjectUrl("JobResult")
    status = choice()
    name = fields.String(dump_only=True)
    task_name = fields.String(attribute="class_path", dump_only=True)
    job_model = brief("Job", attribute="job")
    user = brief("User")
    scheduled_job = Reference("ScheduledJob", attribute="scheduled_job_id")
    date_created = fields.DateTime(attribute="created", dump_only=True)
    date_started = fields.DateTime(attribute="started", dump_only=True, allow_none=True)
    date_done = fields.DateTime(attribute="completed", dump_only=True, allow_none=True)
    duration = fields.Float(dump_only=True, allow_none=True, metadata={"description": "Seconds."})
    result = fields.Raw(dump_only=True, allow_none=True)
    task_kwargs = fields.Method("dump_input", dump_only=True, allow_none=True, metadata={
        "type": "object", "description": "The input; null when the job's variables are sensitive, "
        "and on another user's run without view_all_results."})
    worker = fields.String(attribute="worker_id", dump_only=True, allow_none=True)
    queue = fields.String(dump_only=True)
    commit = fields.String(dump_only=True, allow_none=True)
    environment = fields.Nested(EnvironmentSchema, dump_only=True, allow_none=True, metadata={
        "description": "The commit's declared dependencies (null: none declared)."})
    dryrun = fields.Boolean(dump_only=True)
    related_object_type = fields.String(attribute="object_type", dump_only=True, allow_none=True)
    related_object_id = fields.String(attribute="object_id", dump_only=True, allow_none=True)
    scheduled_at = fields.DateTime(dump_only=True, allow_none=True)
    cancel_requested = fields.Boolean(dump_only=True)
    concurrency_key = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "The concurrency key this run holds while it runs (filled in from its input, or "
                       "computed by its job's key function once a worker takes the run: null until then)."})
    waiting_for = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "While PENDING for a busy concurrency key: '<key> held by <run id>'."})
    status_label = fields.String(dump_only=True, metadata={
        "description": "The status, e.g. 'PENDING (waiting for device:r1 held by <run id>)'."})
    attempts = fields.Integer(dump_only=True, metadata={
        "description": "How many times a worker claimed this run (a re-queue after a lost worker adds one)."})
    attempt = fields.Integer(dump_only=True, metadata={
        "description": "Which attempt of a retried run this is: 1 for the first, 2 for the first retry."})
    retry_of = Reference("JobResult", attribute="retry_of")  # the first attempt of a retried run
    triggered_by = Reference("JobResult", attribute="triggered_by")  # the run whose ending started it
    error = fields.String(dump_only=True, allow_none=True)
    traceback = fields.String(dump_only=True, allow_none=True)
    log_counts = fields.Dict(keys=fields.String(), values=fields.Integer(), dump_only=True)
    files = OutputFiles()

    def dump_input(self, result: JobResult) -> dict | None:
        return result.input_data if visibility.shows_input(result, viewer()) else None


def viewer() -> visibility.Viewer:
    return visibility.Viewer.of(current_principal())


def visible_result(session, result_id: uuid.UUID) -> JobResult:
    """The run, if the caller may see it; NotFound otherwise (see service.runs.visibility)."""
    return visibility.check_visible(session.get(JobResult, result_id), viewer(), result_id)


def files_by_result(session, result_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[JobOutputFile]]:
    """The output files of several runs in one query (metadata only: the bytes stay behind)."""
    columns = (JobOutputFile.id, JobOutputFile.job_result_id, JobOutputFile.name, JobOutputFile.size,
               JobOutputFile.created)
    grouped: dict[uuid.UUID, list] = {}
    rows = session.execute(select(*columns).where(JobOutputFile.job_result_id.in_(result_ids))
                           .order_by(JobOutputFile.created)).all()
    for row in rows:
        grouped.setdefault(row.job_result_id, []).append(row)
    return grouped


#: The results list's order, for its ``next`` links' cursors.
NEWEST_FIRST = Keyset(JobResult.created, JobResult.id, descending=True)


class JobResultFilter(KeysetPageQuery):
    job_model = multi(fields.String(metadata={"description": "Job UUID, name or class path."}))
    job_model_id = multi(fields.UUID())
    status = multi(fields.String(validate=validate.OneOf(Status.ALL)))
    user = multi(fields.String(metadata={"description": "Username or user UUID."}))
    name = multi(fields.String())
    date_created__gte = fields.AwareDateTime(default_timezone=UTC,
                                            metadata={"description": "Created at or after (ISO 8601)."})
    date_created__lte = fields.AwareDateTime(default_timezone=UTC,
                                            metadata={"description": "Created at or before (ISO 8601)."})


def filter_results(args: dict[str, Any]):
    # The page names each run's job and user: load them with the page, not one query per row.
    statement = (select(JobResult).options(selectinload(JobResult.job), selectinload(JobResult.user))
                 .order_by(JobResult.created.desc(), JobResult.id.desc()))
    if args.get("job_model"):
        statement = statement.where(JobResult.job_id.in_(job_ids_named(args["job_model"])))
    if args.get("job_model_id"):
        statement = statement.where(JobResult.job_id.in_(args["job_model_id"]))
    if args.get("status"):
        statement = statement.where(JobResult.status.in_(args["status"]))
    if args.get("user"):
        user_ids = select(User.id).where(id_or_name(User.id, (User.username,), args["user"]))
        statement = statement.where(JobResult.user_id.in_(user_ids))
    if args.get("name"):
        statement = statement.where(JobResult.name.in_(args["name"]))
    if args.get("date_created__gte"):
        statement = statement.where(JobResult.created >= args["date_created__gte"])
    if args.get("date_created__lte"):
        statement = statement.where(JobResult.created <= args["date_created__lte"])
    return statement


@bp.get("/")
@bp.arguments(JobResultFilter, location="query", as_kwargs=False)
@bp.response(200, page_of(JobResultSchema))
def list_results(args):
    """List runs, newest first."""
    session = db_session()
    statement = visibility.only_visible(filter_results(args), viewer())
    page = paginate(session, statement, args, keyset=NEWEST_FIRST)
    g.output_files = files_by_result(session, [result.id for result in page["results"]])
    return page


@bp.get("/<uuid:result_id>/")
@bp.response(200, JobResultSchema)
def retrieve_result(result_id):
    """Show one run."""
    return visible_result(db_session(), result_id)


@bp.get("/<uuid:result_id>/logs/")
@bp.arguments(KeysetPageQuery, location="query", as_kwargs=False)
@bp.response(200, JobLogEntrySchema(many=True))
@bp.alt_response(200, schema=page_of(JobLogEntrySchema), description="With limit or offset: one page.")
def result_logs(args, result_id):
    """List the run's log entries, oldest first: a plain list, as Nautobot answers, or with ``limit``
    or ``offset`` one page ``{count, next, previous, results}``, so a long log can be read in parts."""
    session = db_session()
    visible_result(session, result_id)
    statement = (select(JobLogEntry).where(JobLogEntry.job_result_id == result_id)
                 .order_by(JobLogEntry.created, JobLogEntry.id))
    if "limit" in request.args or "offset" in request.args:
        page = paginate(session, statement, args, keyset=OLDEST_FIRST)
        return jsonify(dict(page, results=JobLogEntrySchema(many=True).dump(page["results"])))
    return session.scalars(statement).all()


@bp.post("/<uuid:result_id>/cancel/")
@bp.response(200, JobResultSchema)
@bp.alt_response(409, description="The run has already finished.")
def cancel_result(result_id):
    """Cancel a run (needs run_job; another user's needs approve_job): a waiting run is revoked at
    once, a running one is stopped."""
    session = db_session()
    result = visible_result(session, result_id)
    visibility.check_may_cancel(result, viewer())
    result = request_cancel(session, result.id)
    session.commit()
    return result


@bp.get("/<uuid:result_id>/files/<path:name>/")
@bp.response(200, content_type="application/octet-stream", description="The file's bytes.")
def download_file(result_id, name):
    """Download a file the run wrote."""
    session = db_session()
    visible_result(session, result_id)
    output = session.scalars(select(JobOutputFile).where(JobOutputFile.job_result_id == result_id,
                                                         JobOutputFile.name == name)
                             .order_by(JobOutputFile.created.desc()).limit(1)).first()
    if output is None:
        raise NotFound(f"Job result {result_id} has no file named {name!r}.")
    disposition = f"attachment; filename*=UTF-8''{quote(output.name, safe='')}"
    # Always a download, never rendered: a job's file must not run as a page on the API's origin.
    return Response(output.content, mimetype="application/octet-stream",
                    headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"})
