"""Scheduler step: disable schedules whose job can no longer run, and hold those that now need approval."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, or_, select, update

from service.models import Job, ScheduledJob


def review_schedules(current, now: datetime) -> int:
    """Scheduler step: disable schedules whose job cannot run, and hold those that now need approval."""
    jobs = select(Job.id)
    unrunnable = jobs.where(
        or_(Job.installed.is_(False), Job.enabled.is_(False), Job.has_sensitive_variables.is_(True))
    )
    # One statement for every reason (this runs each tick): the first that applies is given.
    reason = case(
        (ScheduledJob.job_id.is_(None), "Its job was deleted."),
        (ScheduledJob.job_id.in_(jobs.where(Job.installed.is_(False))), "Its job is no longer installed."),
        (ScheduledJob.job_id.in_(jobs.where(Job.enabled.is_(False))), "Its job is disabled."),
        else_="Its job now has sensitive variables, which cannot run on a schedule.",
    )
    with current.db.session() as session:
        changed = session.execute(
            update(ScheduledJob)
            .where(
                ScheduledJob.enabled.is_(True),
                or_(ScheduledJob.job_id.is_(None), ScheduledJob.job_id.in_(unrunnable)),
            )
            .values(enabled=False, disabled_reason=reason)
            .execution_options(synchronize_session=False)
        ).rowcount
        changed += session.execute(
            update(ScheduledJob)
            .where(
                ScheduledJob.approval_state == "not_required",
                or_(
                    ScheduledJob.dryrun.is_(False),
                    ScheduledJob.job_id.in_(jobs.where(Job.supports_dryrun.is_(False))),
                ),
                ScheduledJob.next_run_at.is_not(None),
                ScheduledJob.job_id.in_(jobs.where(Job.approval_required.is_(True))),
            )
            .values(approval_state="needs_approval")
            .execution_options(synchronize_session=False)
        ).rowcount
    return changed
