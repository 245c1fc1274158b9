"""The run form, generated from a job's stored variable schema, and reading what it sends back.

Validation is the service's (``service.jobs.schema`` through the run use cases); this module only
chooses a widget per variable type and turns the posted form into the ``data`` and ``files`` the
use cases take, keeping what was typed so an invalid form comes back as the user left it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from werkzeug.datastructures import MultiDict

from service.jobs.variables.objects import UploadedFile
from service.models import Job

WIDGETS = {
    "StringVar": "text", "IPAddressVar": "text", "IPAddressWithMaskVar": "text", "IPNetworkVar": "text",
    "ObjectVar": "text", "TextVar": "textarea", "JSONVar": "json", "IntegerVar": "number",
    "BooleanVar": "checkbox", "ChoiceVar": "select", "MultiChoiceVar": "multiselect",
    "MultiObjectVar": "lines", "FileVar": "file",
}
#: Filled in by the service (the run's dry-run flag), never asked for.
HIDDEN_TYPES = frozenset({"DryRunVar"})
#: When a run starts: now, or a schedule's interval type (``service.scheduling``).
SCHEDULE_CHOICES = (
    ("now", "Now"), ("future", "Once, at a time"), ("custom", "Every N minutes"), ("hourly", "Hourly"),
    ("daily", "Daily"), ("weekly", "Weekly"), ("crontab", "Crontab"),
)
SCHEDULE_FIELDS = ("name", "start_time", "every_minutes", "crontab", "time_zone", "interval_type")
_LIST_SEPARATORS = re.compile(r"[\n,]")


@dataclasses.dataclass(frozen=True)
class Field:
    """One input of the run form."""

    name: str
    type: str
    widget: str
    label: str
    help: str
    required: bool
    hint: str
    choices: tuple[tuple[str, str], ...] = ()
    minimum: Any = None
    maximum: Any = None


def _constraints(item: dict[str, Any]) -> str:
    """Describe the limits the service will check, so the user sees them before submitting."""
    notes = []
    if item.get("min_length") is not None:
        notes.append(f"at least {item['min_length']} characters")
    if item.get("max_length") is not None:
        notes.append(f"at most {item['max_length']} characters")
    if item.get("regex"):
        notes.append(f"matching {item['regex']}")
    if item.get("min_value") is not None:
        notes.append(f"at least {item['min_value']}")
    if item.get("max_value") is not None:
        notes.append(f"at most {item['max_value']}")
    if item.get("min_prefix_length") is not None or item.get("max_prefix_length") is not None:
        low, high = item.get("min_prefix_length"), item.get("max_prefix_length")
        notes.append(f"prefix length {'' if low is None else low}–{'' if high is None else high}")
    if item.get("model"):
        several = " (one per line)" if item["type"] == "MultiObjectVar" else ""
        notes.append(f"id of a {item['model']}{several}")
    if item.get("type") == "JSONVar":
        notes.append("JSON")
    return "; ".join(notes)


def ordered_variables(job: Job) -> list[dict[str, Any]]:
    """The job's variables, those named in ``field_order`` first, the rest as declared."""
    items = [item for item in job.variables or [] if item.get("type") not in HIDDEN_TYPES]
    by_name = {item["name"]: item for item in items}
    first = [by_name[name] for name in job.field_order or [] if name in by_name]
    return first + [item for item in items if item not in first]


def build_fields(job: Job) -> list[Field]:
    """Describe one form input per variable of ``job``, in display order."""
    fields = []
    for item in ordered_variables(job):
        kind = item.get("type", "")
        fields.append(Field(
            name=item["name"], type=kind, widget=WIDGETS.get(kind, "text"),
            label=item.get("label") or item["name"], help=item.get("description") or "",
            required=bool(item.get("required")) and kind != "BooleanVar", hint=_constraints(item),
            choices=tuple((str(value), str(label)) for value, label in item.get("choices") or ()),
            minimum=item.get("min_value"), maximum=item.get("max_value")))
    return fields


def _initial(item: dict[str, Any]) -> Any:
    default, kind = item.get("default"), item.get("type")
    if default is None:
        return [] if kind in ("MultiChoiceVar",) else ""
    if kind == "MultiChoiceVar":
        return [str(value) for value in (default if isinstance(default, list) else [default])]
    if kind == "MultiObjectVar":
        return "\n".join(str(value) for value in (default if isinstance(default, list) else [default]))
    if kind == "JSONVar":
        return json.dumps(default, indent=2)
    if kind == "BooleanVar":
        return "true" if default else ""
    return str(default)


def initial_values(job: Job, known_queues: tuple[str, ...]) -> MultiDict:
    """The form as first shown: each variable's default and the run controls' defaults."""
    values: MultiDict = MultiDict()
    for item in ordered_variables(job):
        initial = _initial(item)
        for value in initial if isinstance(initial, list) else [initial]:
            values.add(item["name"], value)
    if job.dryrun_default or job.read_only:
        values["_dryrun"] = "true"
    values["_task_queue"] = default_queue(job, known_queues)
    values["_when"] = "now"
    values["_time_zone"] = "UTC"
    return values


def queue_choices(job: Job, known_queues: tuple[str, ...]) -> list[str]:
    return list(job.task_queues or known_queues)


def default_queue(job: Job, known_queues: tuple[str, ...]) -> str:
    return job.task_queues[0] if job.task_queues else "default"


def read_input(job: Job, form: MultiDict, files: MultiDict) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Turn a posted run form into job ``data`` and uploaded ``files``; empty inputs are left out."""
    data: dict[str, Any] = {}
    uploads: dict[str, UploadedFile] = {}
    for item in ordered_variables(job):
        name, kind = item["name"], item.get("type")
        if kind == "BooleanVar":
            data[name] = name in form  # unchecked must mean False, not "missing, use the default"
        elif kind == "MultiChoiceVar":
            chosen = [value for value in form.getlist(name) if value != ""]
            if chosen:
                data[name] = chosen
        elif kind == "MultiObjectVar":
            references = [part.strip() for part in _LIST_SEPARATORS.split(form.get(name, "")) if part.strip()]
            if references:
                data[name] = references
        elif kind == "FileVar":
            upload = files.get(name)
            if upload is not None and upload.filename:
                uploads[name] = UploadedFile(name=upload.filename, content=upload.read())
        else:
            value = form.get(name, "")
            if value.strip():
                data[name] = value
    return data, uploads


@dataclasses.dataclass(frozen=True)
class RunControls:
    """How to run: dry or not, which queue, and now or on a schedule."""

    dryrun: bool
    queue: str | None
    when: str
    name: str
    start_time: str
    every_minutes: str
    crontab: str
    time_zone: str

    @property
    def scheduled(self) -> bool:
        return self.when != "now"


def read_controls(job: Job, form: MultiDict) -> RunControls:
    return RunControls(
        dryrun=True if job.read_only else form.get("_dryrun") is not None,
        queue=form.get("_task_queue") or None, when=form.get("_when") or "now",
        name=form.get("_schedule_name", "").strip(), start_time=form.get("_start_time", "").strip(),
        every_minutes=form.get("_every_minutes", "").strip(), crontab=form.get("_crontab", "").strip(),
        time_zone=form.get("_time_zone", "").strip() or "UTC")


def form_level_errors(errors: dict[str, list[str]], fields: list[Field]) -> dict[str, list[str]]:
    """The errors no input shows under itself (e.g. an unknown field, or the job itself)."""
    shown = {field.name for field in fields} | {"task_queue", *SCHEDULE_FIELDS}
    return {name: messages for name, messages in errors.items() if name not in shown}
