"""Nautobot-style scheduled jobs: create them, approve or deny them, and fire the due ones.

Interval types: ``future`` (once, at the start time), ``custom`` (every N minutes), ``hourly``,
``daily`` and ``weekly`` from the start time, and ``crontab`` (5 fields), each in the schedule's
time zone (``slots``).

"Run now" of a job that needs approval is a one-off ScheduledJob whose start time is the request
time, waiting in ``needs_approval`` (as Nautobot does): no JobResult exists until another user
approves it, and approving it once its time has passed runs it at once (``approvals``). Dry runs
need no approval. Jobs with sensitive variables cannot be scheduled or wait for approval: their
input would have to be stored (``schedules``).

Each (schedule, slot) fires once however many schedulers run (``firing``).
"""

from service.scheduling.approvals import approve, deny
from service.scheduling.firing import SlotAlreadyFired, fire_due_schedules, fire_slot
from service.scheduling.review import review_schedules
from service.scheduling.schedules import (
    create_schedule,
    delete_schedule,
    dry_run,
    request_run,
    set_schedule_enabled,
)
from service.scheduling.slots import latest_slot, next_slot

__all__ = [
    "SlotAlreadyFired",
    "approve",
    "create_schedule",
    "delete_schedule",
    "deny",
    "dry_run",
    "fire_due_schedules",
    "fire_slot",
    "latest_slot",
    "next_slot",
    "request_run",
    "review_schedules",
    "set_schedule_enabled",
]
