"""An admin's changes to a Job record: enabling it and overriding discovered metadata.

Setting an overridable attribute turns its ``<attr>_override`` flag on unless the change names
the flag too; a flag turned off lets the next sync set the attribute from the code again.
Shared by the REST API's PATCH and the web UI's settings form.
"""

from __future__ import annotations

from typing import Any

from service.errors import ValidationError
from service.models import OVERRIDABLE_FIELDS, Job

SENSITIVE_WITH_APPROVAL = "A job with sensitive variables cannot also be marked as requiring approval."


def update_job_settings(job: Job, changes: dict[str, Any], known_queues: tuple[str, ...]) -> None:
    """Apply ``changes`` to ``job``; raises ValidationError naming each refused field."""
    unknown_queues = sorted(set(changes.get("task_queues") or []) - set(known_queues))
    if unknown_queues:
        raise ValidationError({"task_queues": [f"Unknown queue(s): {', '.join(unknown_queues)}."]})
    sensitive = changes.get("has_sensitive_variables", job.has_sensitive_variables)
    if changes.get("approval_required", job.approval_required) and sensitive:
        named = [name for name in ("approval_required", "has_sensitive_variables") if name in changes]
        raise ValidationError({name: [SENSITIVE_WITH_APPROVAL] for name in named or ["approval_required"]})
    if "enabled" in changes:
        job.enabled = changes["enabled"]
    for name in OVERRIDABLE_FIELDS:
        flag = f"{name}_override"
        if name in changes:
            setattr(job, name, changes[name])
            setattr(job, flag, changes.get(flag, True))
        elif flag in changes:
            setattr(job, flag, changes[flag])
