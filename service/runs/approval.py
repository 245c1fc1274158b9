"""The approval rule, owned here: which runs may start without another user's approval.

A job with ``approval_required`` runs only once another user approved it (a ScheduledJob in
``approved``), whichever path asks: API, UI, CLI, schedule, job button, job hook or code calling
``enqueue_job``. The one waiver is a dry run of a job that really honours one (``supports_dryrun``:
a DryRunVar, or a 1.x ``run(data, commit)``); for any other job "dry run" is only a request the job
may ignore, so it waives nothing. Hooks and buttons start runs with nobody to approve them, so an
approval-requiring job cannot serve as their receiver. Dry-running someone else's request shows
what their input would do, so it needs ``approve_job``.
"""

from __future__ import annotations

from service.errors import PermissionDenied, ValidationError
from service.models import Job, ScheduledJob, User


class ApprovalRequired(ValidationError):
    """The run needs another user's approval first (400, on field ``approval_required``)."""

    def __init__(self, job: Job):
        message = (
            f"Job {job.class_path} requires approval: request the run through the API or web UI "
            "(it waits for another user to approve it)"
            + (", or make it a dry run." if job.supports_dryrun else "; it cannot run dry.")
        )
        super().__init__({"approval_required": [message]})


def runs_dry(job: Job, dryrun: bool | None) -> bool:
    """Whether a run would be a dry run: always for read-only jobs, else as asked or the default."""
    return True if job.read_only else (job.dryrun_default if dryrun is None else bool(dryrun))


def dryrun_waives_approval(job: Job, dryrun: bool | None) -> bool:
    """A dry run skips approval only for a job that really honours it."""
    return job.supports_dryrun and runs_dry(job, dryrun)


def needs_approval(job: Job, dryrun: bool | None) -> bool:
    """Tell whether a run of ``job`` (as ``dryrun`` asks) must wait for approval."""
    return job.approval_required and not dryrun_waives_approval(job, dryrun)


def check_may_start(job: Job, dryrun: bool | None, *, approved: bool = False) -> None:
    """Raise ApprovalRequired unless this run may start now (approved, or needing no approval)."""
    if not approved and needs_approval(job, dryrun):
        raise ApprovalRequired(job)


def receiver_problem(job: Job, kind: str) -> str | None:
    """Say why an approval-requiring ``job`` cannot serve a job ``kind`` ("hook" or "button")."""
    if job.approval_required:
        return (
            f"Job {job.class_path} requires approval, so it cannot be a job {kind}'s job: "
            f"a {kind} starts runs that nobody approves."
        )
    return None


def check_may_dry_run(schedule: ScheduledJob, user: User) -> None:
    """Dry-running a schedule needs a job that can run dry, and ``approve_job`` for another user's."""
    job = schedule.job
    if job is not None and not job.supports_dryrun:
        message = f"Job {job.class_path} cannot run dry (it has no DryRunVar), so a dry run shows nothing."
        raise ValidationError({"dryrun": [message]})
    someone_elses = schedule.user_id is not None and schedule.user_id != user.id
    if someone_elses and not user.has_permission("approve_job"):
        raise PermissionDenied("Dry-running another user's request needs the approve_job permission.")
