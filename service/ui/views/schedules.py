"""Scheduled jobs: the list (with those waiting for approval), one schedule, and deciding on it."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from service.errors import Conflict, JobNotRunnable, NotFound, PermissionDenied, ValidationError
from service.models import JobResult, ScheduledJob
from service.models.scheduling import APPROVAL_STATES
from service.scheduling import approve, delete_schedule, deny, dry_run, set_schedule_enabled
from service.ui.base import bp, current_user, db, known_queues, require, runtime
from service.ui.paging import paginate

#: What deciding on a schedule may refuse; shown on the schedule's page rather than as an error page.
REFUSALS = (PermissionDenied, Conflict, JobNotRunnable, ValidationError)


def get_schedule(session, schedule_id: uuid.UUID) -> ScheduledJob:
    schedule = session.get(ScheduledJob, schedule_id)
    if schedule is None:
        raise NotFound(f"No scheduled job {schedule_id}.")
    return schedule


@bp.get("/scheduled-jobs/")
def schedules_list():
    approval = request.args.get("approval", "")
    statement = select(ScheduledJob).order_by(ScheduledJob.next_run_at.is_(None), ScheduledJob.next_run_at,
                                              ScheduledJob.name)
    if approval in APPROVAL_STATES:
        statement = statement.where(ScheduledJob.approval_state == approval)
    waiting = db().scalar(select(ScheduledJob.id).where(ScheduledJob.approval_state == "needs_approval")
                          .limit(1)) is not None
    return render_template("schedules/list.html", page=paginate(db(), statement), approval=approval,
                           states=APPROVAL_STATES, waiting=waiting)


@bp.get("/scheduled-jobs/<uuid:schedule_id>/")
def schedule_detail(schedule_id: uuid.UUID):
    session = db()
    schedule = get_schedule(session, schedule_id)
    runs = session.scalars(select(JobResult).where(JobResult.scheduled_job_id == schedule.id)
                           .order_by(JobResult.created.desc()).limit(20)).all()
    user = current_user()
    may_decide = (schedule.approval_state == "needs_approval" and user.has_permission("approve_job")
                  and (schedule.user_id != user.id or (runtime().settings.allow_superuser_self_approval
                                                       and user.is_superuser)))
    return render_template("schedules/detail.html", schedule=schedule, runs=runs, may_decide=may_decide)


def _decide(schedule_id: uuid.UUID, action, success: str):
    session = db()
    schedule = get_schedule(session, schedule_id)
    try:
        outcome = action(session, schedule)
    except REFUSALS as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("ui.schedule_detail", schedule_id=schedule_id), 303)
    session.commit()
    flash(success, "success")
    if isinstance(outcome, JobResult):
        return redirect(url_for("ui.result_detail", result_id=outcome.id), 303)
    return redirect(url_for("ui.schedule_detail", schedule_id=schedule_id), 303)


@bp.post("/scheduled-jobs/<uuid:schedule_id>/approve")
def schedule_approve(schedule_id: uuid.UUID):
    user = require("approve_job")

    def approve_and_find_run(session, schedule):
        approve(session, schedule, user, settings=runtime().settings, known_queues=known_queues())
        # A one-off whose time has passed runs at once: show that run.
        return session.scalar(select(JobResult).where(JobResult.scheduled_job_id == schedule.id)
                              .order_by(JobResult.created.desc()).limit(1)) or schedule

    return _decide(schedule_id, approve_and_find_run, "Approved.")


@bp.post("/scheduled-jobs/<uuid:schedule_id>/deny")
def schedule_deny(schedule_id: uuid.UUID):
    user = require("approve_job")
    return _decide(schedule_id, lambda session, schedule: deny(session, schedule, user,
                                                               settings=runtime().settings), "Denied.")


@bp.post("/scheduled-jobs/<uuid:schedule_id>/dry-run")
def schedule_dry_run(schedule_id: uuid.UUID):
    user = require("run_job")
    return _decide(schedule_id, lambda session, schedule: dry_run(
        session, schedule, user, known_queues=known_queues()), "Dry run started.")


@bp.post("/scheduled-jobs/<uuid:schedule_id>/enabled")
def schedule_set_enabled(schedule_id: uuid.UUID):
    require("run_job")
    enabled = request.form.get("enabled") == "true"
    return _decide(schedule_id, lambda session, schedule: set_schedule_enabled(session, schedule, enabled),
                   "Enabled." if enabled else "Disabled.")


@bp.post("/scheduled-jobs/<uuid:schedule_id>/delete")
def schedule_delete(schedule_id: uuid.UUID):
    require("change_job")
    session = db()
    schedule = get_schedule(session, schedule_id)
    name = schedule.name
    delete_schedule(session, schedule)
    session.commit()
    flash(f"Deleted {name}.", "success")
    return redirect(url_for("ui.schedules_list"), 303)
