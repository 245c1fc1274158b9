"""Read-only records of what reached jobsync: git webhook deliveries and object change events."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from sqlalchemy import select

from service.api.base import Blueprint, db_session, get_or_404
from service.api.fields import Computed, ModelSchema, ObjectUrl, Reference, choice, multi, object_type
from service.api.pagination import PageQuery, page_of, paginate
from service.api.related import id_or_name
from service.models import GitRepository, ObjectChangeEvent, WebhookDelivery
from service.models.webhook import OUTCOMES

deliveries_bp = Blueprint("webhook-deliveries", __name__, url_prefix="/api/extras/webhook-deliveries",
                          description="Git webhook deliveries, each one recorded (read-only).")
changes_bp = Blueprint("object-change-events", __name__, url_prefix="/api/extras/object-change-events",
                       description="Object change events received for job hooks (read-only).")

ACTIONS = ("create", "update", "delete")


class WebhookDeliverySchema(ModelSchema):
    object_type = object_type("WebhookDelivery")
    display = Computed(lambda delivery: f"{delivery.provider} {delivery.delivery_id or delivery.id}")
    url = ObjectUrl("WebhookDelivery")
    provider = fields.String()
    delivery_id = fields.String(allow_none=True)
    repository = Reference("GitRepository", attribute="repository_id")
    event = fields.String(allow_none=True)
    ref = fields.String(allow_none=True)
    sha = fields.String(allow_none=True)
    outcome = fields.String()
    reason = fields.String(allow_none=True)
    sync_result = Reference("JobResult", attribute="sync_result_id")
    received = fields.DateTime()


class WebhookDeliveryFilter(PageQuery):
    provider = multi(fields.String())
    outcome = multi(fields.String(validate=validate.OneOf(OUTCOMES)))
    repository = multi(fields.String(metadata={"description": "Repository UUID, name or slug."}))
    delivery_id = multi(fields.String())


class ObjectChangeEventSchema(ModelSchema):
    object_type = object_type("ObjectChangeEvent")
    display = Computed(lambda e: f"{e.action} {e.object_type} {e.object_repr or e.object_id}")
    url = ObjectUrl("ObjectChangeEvent")
    request_id = fields.String()
    action = choice()
    changed_object_type = fields.String(attribute="object_type")
    changed_object_id = fields.String(attribute="object_id")
    object_repr = fields.String()
    prechange = fields.Dict(allow_none=True)
    postchange = fields.Dict(allow_none=True)
    user_name = fields.String(attribute="user", allow_none=True)
    time = fields.DateTime(allow_none=True)
    source = fields.String()
    sender = fields.String(allow_none=True)
    matched = fields.List(fields.Dict())
    received = fields.DateTime()
    reason = fields.String(allow_none=True)


class ObjectChangeEventFilter(PageQuery):
    action = multi(fields.String(validate=validate.OneOf(ACTIONS)))
    changed_object_type = multi(fields.String())
    changed_object_id = multi(fields.String())
    request_id = multi(fields.String())


def filter_deliveries(args: dict[str, Any]):
    statement = select(WebhookDelivery).order_by(WebhookDelivery.received.desc(), WebhookDelivery.id)
    for name in ("provider", "outcome", "delivery_id"):
        if args.get(name):
            statement = statement.where(getattr(WebhookDelivery, name).in_(args[name]))
    if args.get("repository"):
        named = id_or_name(GitRepository.id, (GitRepository.name, GitRepository.slug), args["repository"])
        statement = statement.where(WebhookDelivery.repository_id.in_(select(GitRepository.id).where(named)))
    return statement


def filter_changes(args: dict[str, Any]):
    statement = select(ObjectChangeEvent).order_by(ObjectChangeEvent.received.desc(), ObjectChangeEvent.id)
    columns = {"action": ObjectChangeEvent.action, "changed_object_type": ObjectChangeEvent.object_type,
               "changed_object_id": ObjectChangeEvent.object_id, "request_id": ObjectChangeEvent.request_id}
    for name, column in columns.items():
        if args.get(name):
            statement = statement.where(column.in_(args[name]))
    return statement


@deliveries_bp.get("/")
@deliveries_bp.arguments(WebhookDeliveryFilter, location="query", as_kwargs=False)
@deliveries_bp.response(200, page_of(WebhookDeliverySchema))
def list_deliveries(args):
    """List webhook deliveries, newest first."""
    return paginate(db_session(), filter_deliveries(args), args)


@deliveries_bp.get("/<uuid:delivery_id>/")
@deliveries_bp.response(200, WebhookDeliverySchema)
def retrieve_delivery(delivery_id):
    """Show one webhook delivery."""
    return get_or_404(db_session(), WebhookDelivery, delivery_id)


@changes_bp.get("/")
@changes_bp.arguments(ObjectChangeEventFilter, location="query", as_kwargs=False)
@changes_bp.response(200, page_of(ObjectChangeEventSchema))
def list_changes(args):
    """List object change events, newest first."""
    return paginate(db_session(), filter_changes(args), args)


@changes_bp.get("/<uuid:event_id>/")
@changes_bp.response(200, ObjectChangeEventSchema)
def retrieve_change(event_id):
    """Show one object change event."""
    return get_or_404(db_session(), ObjectChangeEvent, event_id)
