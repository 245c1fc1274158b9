"""Fields and brief representations shared by every resource, in Nautobot's shapes.

A brief (nested) object is ``{id, object_type, display, url}``; a choice is ``{value, label}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields

from service.api.base import api_url

#: API path and Nautobot object type per model name.
RESOURCES = {
    "Job": ("extras/jobs", "extras.job"),
    "JobResult": ("extras/job-results", "extras.jobresult"),
    "JobLogEntry": ("extras/job-logs", "extras.joblogentry"),
    "JobHook": ("extras/job-hooks", "extras.jobhook"),
    "JobButton": ("extras/job-buttons", "extras.jobbutton"),
    "GitRepository": ("extras/git-repositories", "extras.gitrepository"),
    "ScheduledJob": ("extras/scheduled-jobs", "extras.scheduledjob"),
    "WebhookDelivery": ("extras/webhook-deliveries", "extras.webhookdelivery"),
    "ObjectChangeEvent": ("extras/object-change-events", "extras.objectchangeevent"),
    "User": ("users/users", "users.user"),
    "Token": ("users/tokens", "users.token"),
    "NotificationRule": ("extras/notification-rules", "extras.notificationrule"),
    "NotificationDelivery": ("extras/notification-deliveries", "extras.notificationdelivery"),
}


class Computed(fields.String):
    """A read-only string computed from the whole object."""

    def __init__(self, compute: Callable[[Any], str | None], **kwargs: Any):
        super().__init__(dump_only=True, **kwargs)
        self.compute = compute

    def serialize(self, attr, obj, accessor=None, **kwargs):
        return self.compute(obj)


class ObjectUrl(Computed):
    """The absolute API URL of the object, from its model's path."""

    def __init__(self, model_name: str, **kwargs: Any):
        path = RESOURCES[model_name][0]
        super().__init__(lambda obj: api_url(path, obj.id), metadata={"format": "uri"}, **kwargs)


def object_type(model_name: str) -> fields.Constant:
    return fields.Constant(RESOURCES[model_name][1], dump_only=True)


def result_display(result: Any) -> str:
    return f"{result.name} ({result.status})"


def display_of(obj: Any) -> str:
    """The human label Nautobot puts in ``display``."""
    for attr in ("display_text", "name", "username"):
        value = getattr(obj, attr, None)
        if value:
            return str(value)
    return str(obj.id)


class ModelSchema(ma.Schema):
    """Every full representation opens with ``id, object_type, display, url``."""

    id = fields.UUID(dump_only=True)
    display = Computed(display_of)


def brief_schema(model_name: str, display: Callable[[Any], str] = display_of) -> type[ma.Schema]:
    """Build the nested representation of ``model_name``."""
    return ma.Schema.from_dict({
        "id": fields.UUID(dump_only=True),
        "object_type": object_type(model_name),
        "display": Computed(display),
        "url": ObjectUrl(model_name),
    }, name=f"Brief{model_name}")


def reference(model_name: str, object_id: Any) -> dict[str, Any] | None:
    """Nautobot's depth-0 link to a related object: ``{id, object_type, url}`` (None for no object)."""
    if object_id is None:
        return None
    path, kind = RESOURCES[model_name]
    return {"id": str(object_id), "object_type": kind, "url": api_url(path, object_id)}


class Reference(fields.Field):
    """A read-only ``{id, object_type, url}`` link built from the id in ``attribute``."""

    def __init__(self, model_name: str, **kwargs: Any):
        super().__init__(dump_only=True, allow_none=True, metadata={"type": "object"}, **kwargs)
        self.model_name = model_name

    def _serialize(self, value, attr, obj, **kwargs):
        return reference(self.model_name, value)


def brief(model_name: str, **kwargs: Any) -> fields.Nested:
    """A read-only nested field holding the brief representation (null when there is none)."""
    return fields.Nested(BRIEF[model_name], dump_only=True, allow_none=True, **kwargs)


BRIEF = {name: brief_schema(name) for name in RESOURCES}
BRIEF["JobResult"] = brief_schema("JobResult", lambda result: result_display(result))
BRIEF["Token"] = brief_schema("Token", lambda token: f"…{token.display}")


class ChoiceSchema(ma.Schema):
    value = Computed(lambda value: value)
    label = Computed(lambda value: value)  # Nautobot labels run states with their values


def choice(**kwargs: Any) -> fields.Nested:
    return fields.Nested(ChoiceSchema, dump_only=True, **kwargs)


def multi(field: fields.Field) -> fields.List:
    """A filter accepting the parameter several times (``?status=A&status=B``), as Nautobot's do."""
    return fields.List(field, load_default=list)
