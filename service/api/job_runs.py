"""``POST /api/extras/jobs/{id}/run/``: run a job now, with JSON or (for file inputs) a multipart form.

Answers 201 ``{"scheduled_job": null, "job_result": {...}}`` as Nautobot does, or the scheduled
job (and a null result) when the run is scheduled or waits for approval; a disabled or
uninstalled job is a 405 with a message, bad input a 400 naming each field.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g, request
from marshmallow import fields, validate

from service.api.base import Blueprint, db_session
from service.api.results import JobResultSchema
from service.api.schedules import ScheduledJobSchema
from service.errors import ValidationError
from service.infra.presence import queue_warning
from service.jobs.variables.objects import UploadedFile
from service.models import JobResult, ScheduledJob, User
from service.runs.approval import needs_approval
from service.runs.idempotency import HEADER as IDEMPOTENCY_HEADER
from service.runs.idempotency import check_key, run_once
from service.runs.requests import enqueue_job, get_job
from service.scheduling import create_schedule, request_run
from service.scheduling.schedules import CATCH_UP_POLICIES
from service.web.app_runtime import current_runtime
from service.web.auth import current_principal, require

bp = Blueprint("job-runs", __name__, url_prefix="/api/extras/jobs", description="Run a job.")

INTERVALS = ("immediately", "future", "hourly", "daily", "weekly", "custom", "crontab")
#: Multipart form keys that steer the run; every other form key is job input (Nautobot's names).
FORM_CONTROL_KEYS = {"_task_queue": "task_queue", "_job_queue": "job_queue", "_commit": "commit",
                     "_dryrun": "dryrun", "_schedule_name": "name", "_schedule_start_time": "start_time",
                     "_schedule_interval": "interval", "_schedule_crontab": "crontab",
                     "_schedule_every_minutes": "every_minutes", "_schedule_time_zone": "time_zone",
                     "_schedule_catch_up": "catch_up"}
SCHEDULE_KEYS = ("name", "start_time", "interval", "crontab", "every_minutes", "time_zone", "catch_up")


class ScheduleSchema(ma.Schema):
    """When to run: ``immediately`` (the default), or a schedule (Nautobot's ``custom`` takes a crontab)."""

    class Meta:
        unknown = ma.EXCLUDE

    name = fields.String(validate=validate.Length(max=200))
    start_time = fields.DateTime(allow_none=True, metadata={
        "description": "Without a time zone: wall-clock time in time_zone."})
    interval = fields.String(load_default="immediately", validate=validate.OneOf(INTERVALS))
    crontab = fields.String(allow_none=True)
    every_minutes = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=10**6),
                                   metadata={"description": "For a custom interval without a crontab."})
    time_zone = fields.String(load_default="UTC")
    catch_up = fields.String(load_default="once", validate=validate.OneOf(CATCH_UP_POLICIES), metadata={
        "description": "Slots missed while no scheduler ran: run the latest once, or skip them."})


class JobRunInputSchema(ma.Schema):
    """The JSON body; unknown keys are ignored (pynautobot sends ``job_id`` along)."""

    class Meta:
        unknown = ma.EXCLUDE

    data = fields.Dict(keys=fields.String(), load_default=dict, allow_none=True)
    commit = fields.Boolean(allow_none=True, metadata={"description": "Nautobot 1.x: false means a dry run."})
    dryrun = fields.Boolean(allow_none=True)
    source_commit = fields.String(allow_none=True, metadata={
        "description": "Run at this commit (full or short sha) the job's repository has synced, "
                       "instead of the job's current one."})
    task_queue = fields.String(allow_none=True)
    job_queue = fields.String(allow_none=True, metadata={"description": "Alias of task_queue."})
    schedule = fields.Nested(ScheduleSchema, allow_none=True)
    ignore_concurrency_limit = fields.Boolean(load_default=False, metadata={
        "description": "Admins only: run now past the singleton lock and the job's concurrency key."})


class JobRunResponseSchema(ma.Schema):
    scheduled_job = fields.Nested(ScheduledJobSchema, allow_none=True)
    job_result = fields.Nested(JobResultSchema, allow_none=True)
    warning = fields.String(allow_none=True, metadata={
        "description": "Set when no live worker serves the run's queue: it stays queued until one does."})


MULTIPART_DOC = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "additionalProperties": True,
    "description": "Job input as form fields and file uploads, plus "
                   + ", ".join(sorted(FORM_CONTROL_KEYS)) + " to steer the run.",
    "properties": {key: {"type": "string"} for key in FORM_CONTROL_KEYS}}}}},
    "parameters": [{"in": "header", "name": "Idempotency-Key", "required": False,
                    "schema": {"type": "string", "maxLength": 255},
                    "description": "Repeating a key within 24 h returns the first request's run."}]}


def multipart_input() -> dict[str, Any]:
    """Read a multipart run request into the JSON body's shape, plus ``files``."""
    form = request.form.to_dict()
    controls = {FORM_CONTROL_KEYS[key]: form.pop(key) for key in list(form) if key in FORM_CONTROL_KEYS}
    schedule = {key: controls.pop(key) for key in SCHEDULE_KEYS if key in controls}
    body = JobRunInputSchema().load({**controls, "data": form, "schedule": schedule or None})
    body["files"] = {name: UploadedFile(name=upload.filename or name, content=upload.read())
                     for name, upload in request.files.items()}
    return body


def resolve_dryrun(body: dict[str, Any]) -> bool | None:
    """``dryrun`` wins; else ``commit`` (Nautobot 1.x); else the job's default (None)."""
    commit, dryrun = body.get("commit"), body.get("dryrun")
    if commit is not None and dryrun is not None and commit == dryrun:
        raise ValidationError({"commit": ["commit and dryrun contradict each other; send one of them."]})
    if dryrun is not None:
        return dryrun
    return None if commit is None else not commit


def resolve_queue(body: dict[str, Any]) -> str | None:
    task_queue, job_queue = body.get("task_queue"), body.get("job_queue")
    if task_queue and job_queue and task_queue != job_queue:
        raise ValidationError({"task_queue": ["task_queue and job_queue are both given; send only one."]})
    return task_queue or job_queue or None


def schedule_definition(schedule: dict[str, Any]) -> dict[str, Any]:
    """The schedule in ``create_schedule``'s terms (Nautobot's ``custom`` with a crontab is a crontab)."""
    interval = schedule["interval"]
    if interval == "custom" and schedule.get("crontab"):
        interval = "crontab"
    return {"name": schedule.get("name") or "", "interval_type": interval,
            "start_time": schedule.get("start_time"), "crontab": schedule.get("crontab"),
            "every_minutes": schedule.get("every_minutes"), "time_zone": schedule.get("time_zone") or "UTC",
            "catch_up": schedule.get("catch_up") or "once"}


def start_run(session, job, body: dict[str, Any], user: User) -> JobResult | ScheduledJob:
    """Run now, schedule, or (for a job needing approval) wait for approval, as the body asks."""
    data, files = body.get("data") or {}, body.get("files") or None
    options = {"user": user, "queue": resolve_queue(body), "dryrun": resolve_dryrun(body),
               "known_queues": current_runtime().settings.all_queues,
               "settings": current_runtime().settings}  # approval requests notify
    schedule = body.get("schedule") or {}
    if body.get("ignore_concurrency_limit"):
        require(current_principal(), "admin")  # the override the singleton lock always had
        options["ignore_singleton_lock"] = True
    source_commit = body.get("source_commit") or None
    if schedule.get("interval", "immediately") != "immediately":
        if source_commit:
            raise ValidationError({"source_commit": ["A scheduled run uses the job's synced commit."]})
        if files:
            raise ValidationError({"schedule": ["A job given files cannot be scheduled: run it now."]})
        if options.pop("ignore_singleton_lock", False):
            raise ValidationError({"ignore_concurrency_limit": ["Only a run started now may ignore it."]})
        return create_schedule(session, job, data=data, **options, **schedule_definition(schedule))
    if not files:
        return request_run(session, job, data, source_commit=source_commit, **options)
    options.pop("settings")
    if needs_approval(job, options["dryrun"]):
        raise ValidationError({"non_field_errors": ["A job given files cannot wait for approval."]})
    upload_limit = current_runtime().settings.upload_max_bytes
    return enqueue_job(session, job, data, files=files, upload_max_bytes=upload_limit,
                       source_commit=source_commit, **options)


@bp.post("/<path:ref>/run/")
@bp.arguments(JobRunInputSchema)
@bp.doc(**MULTIPART_DOC)
@bp.response(201, JobRunResponseSchema)
@bp.alt_response(405, description="The job is disabled or not installed.")
@bp.alt_response(409, description="The Idempotency-Key was already used for another job.")
@bp.alt_response(503, description="The database is unavailable: retry after Retry-After seconds.")
def run_job(body, ref):
    """Run a job now, or on a schedule (needs run_job); a job needing approval waits for it.

    With an ``Idempotency-Key`` header, repeating the request within 24 h returns the run (or
    schedule) the first one created and starts nothing new.
    """
    key = check_key(request.headers.get(IDEMPOTENCY_HEADER))
    session = db_session()
    job = get_job(session, ref)
    if request.mimetype == "multipart/form-data":
        body = multipart_input()
    user = session.get(User, current_principal().user_id)
    outcome, created = run_once(session, key, user.id if user else None, job,
                                lambda: start_run(session, job, body, user))
    if isinstance(outcome, ScheduledJob):
        return {"scheduled_job": outcome, "job_result": None, "warning": None}
    if created:  # answered as created (PENDING): it has no output files, so no query for them
        g.output_files = {}
    warning = queue_warning(current_runtime(), outcome.queue)
    return {"scheduled_job": None, "job_result": outcome, "warning": warning}
