"""Scheduler step: disable schedules whose job can no longer run, and hold those that now need approval."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update

from service.models import Job, ScheduledJob


def review_schedules(current, now: datetime) -> int:
    """Scheduler step: disable schedules whose job cannot run, and hold those that now need approval."""
    jobs = select(Job.id)
    reasons = [
        (ScheduledJob.job_id.is_(None), "Its job was deleted."),
        (ScheduledJob.job_id.in_(jobs.where(Job.installed.is_(False))), "Its job is no longer installed."),
        (ScheduledJob.job_id.in_(jobs.where(Job.enabled.is_(False))), "Its job is disabled."),
        (
            ScheduledJob.job_id.in_(jobs.where(Job.has_sensitive_variables.is_(True))),
            "Its job now has sensitive variables, which cannot run on a schedule.",
        ),
    ]
    changed = 0
    with current.db.session() as session:
        for condition, reason in reasons:
            changed += session.execute(
                update(ScheduledJob)
                .where(ScheduledJob.enabled.is_(True), condition)
                .values(enabled=False, disabled_reason=reason)
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
        ).rowcount
    return changed
