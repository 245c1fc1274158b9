"""The admin's job settings form: enable a job and override its discovered metadata.

Each overridable attribute comes with an "override" box: ticked, the value typed is kept over what
the next sync discovers; cleared, the next sync sets the attribute from the job's code again.
``read_changes`` names every flag, and ``service.sources.overrides.update_job_settings`` (shared
with the REST API's PATCH) applies them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from werkzeug.datastructures import MultiDict

from service.errors import ValidationError
from service.models import OVERRIDABLE_FIELDS, Job


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str
    label: str
    kind: str  # text, textarea, flag, names, seconds, queues
    help: str = ""


SETTINGS = (
    Setting("name", "Name", "text"),
    Setting("grouping", "Grouping", "text"),
    Setting("description", "Description", "textarea", "Markdown; the first line is the summary."),
    Setting("approval_required", "Approval required", "flag", "Runs wait for another user's approval."),
    Setting("dryrun_default", "Dry run by default", "flag"),
    Setting("field_order", "Field order", "names", "Variable names, comma separated."),
    Setting("has_sensitive_variables", "Sensitive variables", "flag",
            "Input is never stored; such jobs cannot be scheduled."),
    Setting("hidden", "Hidden", "flag", "Left out of the job list unless asked for."),
    Setting("read_only", "Read only", "flag", "Always runs as a dry run."),
    Setting("soft_time_limit", "Soft time limit", "seconds", "Seconds; empty for none."),
    Setting("time_limit", "Time limit", "seconds", "Seconds; empty for none."),
    Setting("task_queues", "Task queues", "queues", "Comma separated; the first is the default."),
)
assert {setting.name for setting in SETTINGS} == set(OVERRIDABLE_FIELDS)
TEXT_LIMITS = {"name": 200, "grouping": 200}


def current_values(job: Job) -> MultiDict:
    """The settings form as first shown: the job's values and override flags."""
    values: MultiDict = MultiDict()
    if job.enabled:
        values["enabled"] = "on"
    for setting in SETTINGS:
        value = getattr(job, setting.name)
        if getattr(job, f"{setting.name}_override"):
            values[f"{setting.name}_override"] = "on"
        if setting.kind == "flag":
            if value:
                values[setting.name] = "on"
        elif setting.kind in ("names", "queues"):
            values[setting.name] = ", ".join(value or [])
        else:
            values[setting.name] = "" if value is None else str(value)
    return values


def _parse(setting: Setting, form: MultiDict, known_queues: tuple[str, ...]) -> Any:
    """Read one setting's value; raises ValidationError naming it."""
    raw = form.get(setting.name, "")
    if setting.kind == "flag":
        return setting.name in form
    if setting.kind == "names":
        return [name.strip() for name in raw.split(",") if name.strip()]
    if setting.kind == "queues":  # typed, not a multi-select: the order matters (the first is the default)
        queues = [queue.strip() for queue in raw.split(",") if queue.strip()]
        unknown = sorted(set(queues) - set(known_queues))
        if unknown:
            raise ValidationError({setting.name: [f"Unknown queue(s): {', '.join(unknown)}."]})
        return queues
    if setting.kind == "seconds":
        if not raw.strip():
            return None
        try:
            seconds = float(raw)
        except ValueError:
            raise ValidationError({setting.name: ["Enter a number of seconds."]}) from None
        if not 0 <= seconds <= 10**9:
            raise ValidationError({setting.name: ["Enter a number of seconds, 0 or more."]})
        return seconds
    text = raw.strip() if setting.kind == "text" else raw
    limit = TEXT_LIMITS.get(setting.name)
    if setting.name == "name" and not text:
        raise ValidationError({"name": ["This field may not be blank."]})
    if limit and len(text) > limit:
        raise ValidationError({setting.name: [f"At most {limit} characters."]})
    return text


def read_changes(form: MultiDict, known_queues: tuple[str, ...]) -> dict[str, Any]:
    """Read the posted settings form; raises ValidationError naming every bad field."""
    changes: dict[str, Any] = {"enabled": "enabled" in form}
    errors: dict[str, list[str]] = {}
    for setting in SETTINGS:
        flag = f"{setting.name}_override"
        changes[flag] = flag in form
        if not changes[flag]:
            continue
        try:
            changes[setting.name] = _parse(setting, form, known_queues)
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return changes
