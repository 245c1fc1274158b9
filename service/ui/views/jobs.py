"""Jobs: the grouped list, a job's page with its generated run form, and the admin's settings form."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from service.errors import Conflict, JobNotRunnable, ValidationError
from service.infra.presence import queue_warning, workers_by_queue
from service.models import JobResult, ScheduledJob
from service.runs import visibility
from service.runs.approval import needs_approval
from service.runs.requests import enqueue_job, get_job
from service.scheduling import create_schedule, request_run
from service.sources.overrides import update_job_settings
from service.ui import editing, runform
from service.ui.base import bp, current_user, db, known_queues, require, runtime
from service.ui.queries import JobFilters, grouped_jobs

RECENT_RUNS = 10


@bp.get("/jobs/")
def jobs_list():
    filters = JobFilters.from_args(request.args)
    groups = grouped_jobs(db(), filters)
    return render_template("jobs/list.html", groups=groups, filters=filters,
                           count=sum(len(members) for _, members in groups),
                           jobs_url=url_for("ui.jobs_list"), results_url=url_for("ui.results_list"))


def _render_job(job, values, errors=None, status=200):
    fields = runform.build_fields(job)
    errors = errors or {}
    mine = visibility.only_visible(select(JobResult), visibility.Viewer.of(current_user()))
    recent = db().scalars(mine.where(JobResult.job_id == job.id)
                          .order_by(JobResult.created.desc()).limit(RECENT_RUNS)).all()
    page = render_template(
        "jobs/detail.html", job=job, fields=fields, values=values, errors=errors,
        form_errors=runform.form_level_errors(errors, fields), recent=recent,
        queues=runform.queue_choices(job, known_queues()), schedule_choices=runform.SCHEDULE_CHOICES,
        live_workers=workers_by_queue(runtime()),
        multipart=any(field.widget == "file" for field in fields))
    return page, status


@bp.get("/jobs/<uuid:job_id>/")
def job_detail(job_id: uuid.UUID):
    job = get_job(db(), job_id)
    values = runform.initial_values(job, known_queues())
    if request.args.get("at"):  # "run again at this commit" on a result
        values["_source_commit"] = request.args["at"]
    return _render_job(job, values)


def _start(session, job, data, files, controls: runform.RunControls):
    """Run now, wait for approval, or schedule, as the form asks; returns the JobResult or ScheduledJob."""
    user = current_user()
    source_commit = request.form.get("_source_commit") or None
    if source_commit and (controls.scheduled or needs_approval(job, controls.dryrun)):
        raise ValidationError({"source_commit": ["A run at a chosen commit cannot wait for a schedule or an "
                                                 "approval: run it now or as a dry run."]})
    if files and (controls.scheduled or needs_approval(job, controls.dryrun)):
        raise ValidationError({"job": ["Uploaded files cannot wait for a schedule or an approval: "
                                       "run this job now, as a dry run, or without files."]})
    if files:
        return enqueue_job(session, job, data, known_queues=known_queues(), user=user, queue=controls.queue,
                           dryrun=controls.dryrun, files=files, source_commit=source_commit,
                           upload_max_bytes=runtime().settings.upload_max_bytes)
    if not controls.scheduled:
        return request_run(session, job, data, user=user, queue=controls.queue, dryrun=controls.dryrun,
                           known_queues=known_queues(), source_commit=source_commit,
                           settings=runtime().settings)
    every = None
    if controls.when == "custom":
        try:
            every = int(controls.every_minutes)
        except ValueError:
            raise ValidationError({"every_minutes": ["Enter a whole number of minutes."]}) from None
    start = _start_time(controls.start_time)
    return create_schedule(
        session, job, name=controls.name or f"{job.name} ({controls.when})", interval_type=controls.when,
        start_time=start, crontab=controls.crontab or None, every_minutes=every, time_zone=controls.time_zone,
        data=data, queue=controls.queue, dryrun=controls.dryrun, user=user, known_queues=known_queues(),
        settings=runtime().settings)


def _start_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError({"start_time": ["Enter a date and time (YYYY-MM-DD HH:MM)."]}) from None


@bp.post("/jobs/<uuid:job_id>/run")
def job_run(job_id: uuid.UUID):
    require("run_job")
    session = db()
    job = get_job(session, job_id)
    data, files = runform.read_input(job, request.form, request.files)
    controls = runform.read_controls(job, request.form)
    try:
        started = _start(session, job, data, files, controls)
    except ValidationError as exc:
        session.rollback()
        return _render_job(job, request.form, exc.fields, 400)
    except (JobNotRunnable, Conflict) as exc:
        session.rollback()
        return _render_job(job, request.form, {"job": [str(exc)]}, exc.status)
    session.commit()
    if isinstance(started, ScheduledJob):
        if started.approval_state == "needs_approval":
            flash("The run waits for another user's approval.", "info")
        else:
            flash("Scheduled.", "success")
        return redirect(url_for("ui.schedule_detail", schedule_id=started.id), 303)
    warning = queue_warning(runtime(), started.queue)
    if warning:
        flash(warning, "warning")
    return redirect(url_for("ui.result_detail", result_id=started.id), 303)


@bp.route("/jobs/<uuid:job_id>/edit", methods=["GET", "POST"])
def job_edit(job_id: uuid.UUID):
    require("change_job")
    session = db()
    job = get_job(session, job_id)
    if request.method == "GET":
        return render_template("jobs/edit.html", job=job, values=editing.current_values(job), errors={},
                               settings=editing.SETTINGS, queues=known_queues())
    try:
        update_job_settings(job, editing.read_changes(request.form, known_queues()), known_queues())
    except ValidationError as exc:
        session.rollback()
        return render_template("jobs/edit.html", job=job, values=request.form, errors=exc.fields,
                               settings=editing.SETTINGS, queues=known_queues()), 400
    session.commit()
    flash(f"Saved {job.name}.", "success")
    return redirect(url_for("ui.job_detail", job_id=job.id), 303)
