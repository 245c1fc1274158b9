"""The job hook and job button admin forms: read them, check them, and set them on a row.

The form formats are read here; the rules shared with the REST API (right kind of receiver,
unique name, at least one action) come from ``service.triggers.rules``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from service.errors import ValidationError
from service.models import Job, JobButton, JobHook
from service.triggers.rules import RECEIVER_FLAGS, hook_has_action, receiver_problem, value_taken

CONTENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
HOOK_FLAGS = ("enabled", "type_create", "type_update", "type_delete", "run_on_noop_update")
BUTTON_CLASSES = ("default", "primary", "success", "info", "warning", "danger", "link")
MAX_WEIGHT = 32767


def receivers(session: Session, kind: str) -> list[Job]:
    """Installed jobs that can be a hook's (``hook``) or a button's (``button``) job."""
    column = getattr(Job, RECEIVER_FLAGS[kind])
    return list(session.scalars(select(Job).where(column.is_(True), Job.installed.is_(True))
                                .order_by(Job.grouping, Job.name)))


def _content_types(raw: str, errors: dict[str, list[str]]) -> list[str]:
    types = list(dict.fromkeys(part.strip().lower() for part in re.split(r"[\s,]+", raw) if part.strip()))
    bad = [name for name in types if not CONTENT_TYPE.match(name)]
    if not types:
        errors["content_types"] = ["Name at least one content type, e.g. dcim.device."]
    elif bad:
        errors["content_types"] = [f"Expected app_label.model, e.g. dcim.device (not {', '.join(bad)})."]
    return types


def _name(session: Session, model: type, raw: str, current_id: uuid.UUID | None, errors) -> str:
    name = raw.strip()
    if not name or len(name) > 100:
        errors["name"] = ["Enter a name of 1 to 100 characters."]
    elif value_taken(session, model, "name", name, current_id):
        errors["name"] = [f"A {model.__name__} named {name!r} already exists."]
    return name


def _job(session: Session, raw: str, kind: str, errors) -> Job | None:
    try:
        job = session.get(Job, uuid.UUID(raw))
    except ValueError:
        job = None
    if job is None:
        errors["job"] = ["Choose a job."]
    elif receiver_problem(job, kind):
        errors["job"] = [receiver_problem(job, kind)]
    return job


def hook_values(hook: JobHook | None) -> MultiDict:
    if hook is None:
        return MultiDict({"enabled": "on", "type_create": "on", "type_update": "on", "type_delete": "on"})
    values = MultiDict({"name": hook.name, "content_types": "\n".join(hook.content_types),
                        "job": str(hook.job_id)})
    values.update({flag: "on" for flag in HOOK_FLAGS if getattr(hook, flag)})
    return values


def apply_hook_form(session: Session, hook: JobHook, form: MultiDict) -> JobHook:
    """Set the posted values on ``hook``; raises ValidationError naming every bad field."""
    errors: dict[str, list[str]] = {}
    name = _name(session, JobHook, form.get("name", ""), hook.id, errors)
    types = _content_types(form.get("content_types", ""), errors)
    job = _job(session, form.get("job", ""), "hook", errors)
    flags = {flag: flag in form for flag in HOOK_FLAGS}
    if not hook_has_action(flags):
        errors["type_create"] = ["Choose at least one of create, update and delete."]
    if errors:
        raise ValidationError(errors)
    hook.name, hook.content_types, hook.job = name, types, job
    for flag, value in flags.items():
        setattr(hook, flag, value)
    return hook


def button_values(button: JobButton | None) -> MultiDict:
    if button is None:
        return MultiDict({"enabled": "on", "confirmation": "on", "weight": "100", "button_class": "default"})
    values = MultiDict({"name": button.name, "content_types": "\n".join(button.content_types),
                        "job": str(button.job_id), "text": button.text, "button_class": button.button_class,
                        "weight": str(button.weight), "group_name": button.group_name})
    values.update({flag: "on" for flag in ("enabled", "confirmation") if getattr(button, flag)})
    return values


def _weight(raw: str, errors) -> int:
    try:
        weight = int(raw or 100)
    except ValueError:
        weight = -1
    if not 0 <= weight <= MAX_WEIGHT:
        errors["weight"] = [f"Enter a whole number from 0 to {MAX_WEIGHT}."]
    return weight


def apply_button_form(session: Session, button: JobButton, form: MultiDict) -> JobButton:
    """Set the posted values on ``button``; raises ValidationError naming every bad field."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        "name": _name(session, JobButton, form.get("name", ""), button.id, errors),
        "content_types": _content_types(form.get("content_types", ""), errors),
        "job": _job(session, form.get("job", ""), "button", errors),
        "text": form.get("text", "").strip(),
        "button_class": form.get("button_class") or "default",
        "weight": _weight(form.get("weight", ""), errors),
        "group_name": form.get("group_name", "").strip(),
        "confirmation": "confirmation" in form,
        "enabled": "enabled" in form,
    }
    if not values["text"] or len(values["text"]) > 500:
        errors["text"] = ["Enter the button's text (1 to 500 characters)."]
    if values["button_class"] not in BUTTON_CLASSES:
        errors["button_class"] = [f"Choose one of {', '.join(BUTTON_CLASSES)}."]
    if len(values["group_name"]) > 100:
        errors["group_name"] = ["At most 100 characters."]
    if errors:
        raise ValidationError(errors)
    for name, value in values.items():
        setattr(button, name, value)
    return button
