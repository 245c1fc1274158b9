"""``/api/extras/scheduled-jobs/``: schedules and runs awaiting approval; approve, deny, dry-run.

Schedules are made by ``POST /api/extras/jobs/{id}/run/`` with a ``schedule`` (as on Nautobot),
or by running a job that needs approval. Approving and denying need approve_job (their own
blueprint); a dry run and deleting need run_job.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from sqlalchemy import select

from service.api.base import Blueprint, db_session, get_or_404
from service.api.fields import ModelSchema, ObjectUrl, brief, multi, object_type
from service.api.pagination import PageQuery, page_of, paginate
from service.api.related import job_ids_named
from service.api.results import JobResultSchema
from service.models import ScheduledJob, User
from service.models.scheduling import APPROVAL_STATES
from service.scheduling import approve, delete_schedule, deny, dry_run
from service.web.app_runtime import current_runtime
from service.web.auth import current_principal

bp = Blueprint("scheduled-jobs", __name__, url_prefix="/api/extras/scheduled-jobs",
               description="Scheduled jobs, and runs waiting for approval.")
approvals_bp = Blueprint("scheduled-job-approvals", __name__, url_prefix="/api/extras/scheduled-jobs",
                         description="Approve or deny a scheduled job (needs approve_job).")


class ScheduledJobSchema(ModelSchema):
    object_type = object_type("ScheduledJob")
    url = ObjectUrl("ScheduledJob")
    name = fields.String()
    job_model = brief("Job", attribute="job")
    user = brief("User")
    interval = fields.String(attribute="interval_type")
    every_minutes = fields.Integer(allow_none=True)
    catch_up = fields.String(dump_only=True)
    start_time = fields.DateTime()
    crontab = fields.String(allow_none=True)
    time_zone = fields.String()
    kwargs = fields.Dict(attribute="data", metadata={"description": "The job's input."})
    queue = fields.String(allow_none=True)
    dryrun = fields.Boolean()
    approval_required = fields.Function(lambda schedule: schedule.approval_state != "not_required",
                                        metadata={"type": "boolean"})
    approval_state = fields.String()
    approved_by_user = brief("User", attribute="approved_by")
    approved_at = fields.DateTime(allow_none=True)
    enabled = fields.Boolean()
    disabled_reason = fields.String(allow_none=True)
    next_run_at = fields.DateTime(allow_none=True)
    last_run_at = fields.DateTime(allow_none=True)
    total_run_count = fields.Integer()
    created = fields.DateTime()
    last_updated = fields.DateTime()


class ScheduledJobFilter(PageQuery):
    name = multi(fields.String())
    job_model = multi(fields.String(metadata={"description": "Job UUID, name or class path."}))
    approval_state = multi(fields.String(validate=validate.OneOf(APPROVAL_STATES)))
    enabled = fields.Boolean()


def filter_schedules(args: dict[str, Any]):
    statement = select(ScheduledJob).order_by(ScheduledJob.start_time.desc(), ScheduledJob.id)
    if args.get("name"):
        statement = statement.where(ScheduledJob.name.in_(args["name"]))
    if args.get("job_model"):
        statement = statement.where(ScheduledJob.job_id.in_(job_ids_named(args["job_model"])))
    if args.get("approval_state"):
        statement = statement.where(ScheduledJob.approval_state.in_(args["approval_state"]))
    if args.get("enabled") is not None:
        statement = statement.where(ScheduledJob.enabled.is_(args["enabled"]))
    return statement


def _caller(session) -> User:
    return session.get(User, current_principal().user_id)


def _settings():
    return current_runtime().settings


@bp.get("/")
@bp.arguments(ScheduledJobFilter, location="query", as_kwargs=False)
@bp.response(200, page_of(ScheduledJobSchema))
def list_schedules(args):
    """List scheduled jobs, latest start first (``?approval_state=needs_approval``: the approval queue)."""
    return paginate(db_session(), filter_schedules(args), args)


@bp.get("/<uuid:schedule_id>/")
@bp.response(200, ScheduledJobSchema)
def retrieve_schedule(schedule_id):
    """Show one scheduled job."""
    return get_or_404(db_session(), ScheduledJob, schedule_id)


@bp.delete("/<uuid:schedule_id>/")
@bp.response(204)
def remove_schedule(schedule_id):
    """Delete a scheduled job (needs run_job); the runs it made stay."""
    session = db_session()
    delete_schedule(session, get_or_404(session, ScheduledJob, schedule_id))
    session.commit()


@bp.post("/<uuid:schedule_id>/dry-run/")
@bp.response(200, JobResultSchema)
def dry_run_schedule(schedule_id):
    """Run the scheduled job now as a dry run (needs run_job; no approval needed)."""
    session = db_session()
    result = dry_run(session, get_or_404(session, ScheduledJob, schedule_id), _caller(session),
                     known_queues=_settings().all_queues)
    session.commit()
    return result


@approvals_bp.post("/<uuid:schedule_id>/approve/")
@approvals_bp.response(200, ScheduledJobSchema)
@approvals_bp.alt_response(409, description="The scheduled job is not waiting for approval.")
def approve_schedule(schedule_id):
    """Approve a scheduled job; a one-off whose time has passed runs at once."""
    session = db_session()
    schedule = approve(session, get_or_404(session, ScheduledJob, schedule_id), _caller(session),
                       settings=_settings(), known_queues=_settings().all_queues)
    session.commit()
    return schedule


@approvals_bp.post("/<uuid:schedule_id>/deny/")
@approvals_bp.response(200, ScheduledJobSchema)
@approvals_bp.alt_response(409, description="The scheduled job is not waiting for approval.")
def deny_schedule(schedule_id):
    """Deny a scheduled job: it is disabled and never runs."""
    session = db_session()
    schedule = deny(session, get_or_404(session, ScheduledJob, schedule_id), _caller(session),
                    settings=_settings())
    session.commit()
    return schedule

