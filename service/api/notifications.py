"""``/api/extras/notification-rules/`` (who hears about what) and ``notification-deliveries/`` (admin)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import select

from service.api.base import Blueprint, commit, db_session, get_or_404
from service.api.fields import Computed, ModelSchema, ObjectUrl, object_type
from service.api.pagination import PageQuery, page_of, paginate
from service.models import NotificationDelivery, NotificationRule
from service.models.notification import CHANNELS, DELIVERY_STATES, EVENTS
from service.notifications.manage import apply_rule_values, new_rule, shown_target

rules_bp = Blueprint("notification-rules", __name__, url_prefix="/api/extras/notification-rules",
                     description="Notification rules: which events reach which channel (admin).")
deliveries_bp = Blueprint("notification-deliveries", __name__,
                          url_prefix="/api/extras/notification-deliveries",
                          description="Notification deliveries: status, attempts, last error (admin).")


class RuleSchema(ModelSchema):
    object_type = object_type("NotificationRule")
    url = ObjectUrl("NotificationRule")
    name = fields.String()
    enabled = fields.Boolean()
    events = fields.List(fields.String())
    job = fields.String(allow_none=True)
    grouping = fields.String(allow_none=True)
    repository = fields.String(allow_none=True)
    queue = fields.String(allow_none=True)
    failures = fields.Integer()
    idle_minutes = fields.Integer()
    channel = fields.String()
    target = Computed(shown_target)
    secret = fields.String(allow_none=True, metadata={"description": "A reference (env:NAME, file:/path)."})
    last_sent = fields.DateTime(allow_none=True, dump_only=True)
    suppressed = fields.Integer(dump_only=True)
    created = fields.DateTime(dump_only=True)


class RuleInputSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    enabled = fields.Boolean()
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)), required=True,
                         validate=validate.Length(min=1))
    job = fields.String(allow_none=True, validate=validate.Length(max=600))
    grouping = fields.String(allow_none=True, validate=validate.Length(max=200))
    repository = fields.String(allow_none=True, validate=validate.Length(max=100))
    queue = fields.String(allow_none=True, validate=validate.Length(max=100))
    failures = fields.Integer(validate=validate.Range(min=1))
    idle_minutes = fields.Integer(validate=validate.Range(min=1))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    target = fields.String(required=True, validate=validate.Length(min=1, max=1000), metadata={
        "description": "An http(s) URL or a reference to one (env:NAME, file:/path); email: addresses."})
    secret = fields.String(allow_none=True, validate=validate.Length(max=300))


class RulePatchSchema(RuleInputSchema):
    """The same fields, each optional (PATCH)."""


class RuleFilter(PageQuery):
    enabled = fields.Boolean()


class DeliverySchema(ModelSchema):
    object_type = object_type("NotificationDelivery")
    url = ObjectUrl("NotificationDelivery")
    rule = fields.Function(lambda delivery: {"id": str(delivery.rule_id), "name": delivery.rule.name})
    event = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    message = fields.Dict()
    created = fields.DateTime()
    completed = fields.DateTime(allow_none=True)


class DeliveryFilter(PageQuery):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATES))
    rule = fields.UUID()


@rules_bp.get("/")
@rules_bp.arguments(RuleFilter, location="query", as_kwargs=False)
@rules_bp.response(200, page_of(RuleSchema))
def list_rules(args):
    """List notification rules."""
    statement = select(NotificationRule).order_by(NotificationRule.name)
    if args.get("enabled") is not None:
        statement = statement.where(NotificationRule.enabled.is_(args["enabled"]))
    return paginate(db_session(), statement, args)


@rules_bp.post("/")
@rules_bp.arguments(RuleInputSchema)
@rules_bp.response(201, RuleSchema)
def create_rule(values):
    """Create a notification rule."""
    session = db_session()
    rule = apply_rule_values(new_rule(), values)
    session.add(rule)
    commit(session, unique_field="name")
    return rule


@rules_bp.get("/<uuid:rule_id>/")
@rules_bp.response(200, RuleSchema)
def retrieve_rule(rule_id):
    """Show one notification rule."""
    return get_or_404(db_session(), NotificationRule, rule_id)


@rules_bp.patch("/<uuid:rule_id>/")
@rules_bp.arguments(RulePatchSchema(partial=True))
@rules_bp.response(200, RuleSchema)
def update_rule(values, rule_id):
    """Change a notification rule."""
    session = db_session()
    rule = apply_rule_values(get_or_404(session, NotificationRule, rule_id), values)
    commit(session, unique_field="name")
    return rule


@rules_bp.delete("/<uuid:rule_id>/")
@rules_bp.response(204)
def delete_rule(rule_id):
    """Delete a notification rule and its delivery records."""
    session = db_session()
    session.delete(get_or_404(session, NotificationRule, rule_id))
    session.commit()


@deliveries_bp.get("/")
@deliveries_bp.arguments(DeliveryFilter, location="query", as_kwargs=False)
@deliveries_bp.response(200, page_of(DeliverySchema))
def list_deliveries(args):
    """List notification deliveries, newest first."""
    statement = select(NotificationDelivery).order_by(NotificationDelivery.created.desc())
    if args.get("status"):
        statement = statement.where(NotificationDelivery.status == args["status"])
    if args.get("rule"):
        statement = statement.where(NotificationDelivery.rule_id == args["rule"])
    return paginate(db_session(), statement, args)


@deliveries_bp.get("/<uuid:delivery_id>/")
@deliveries_bp.response(200, DeliverySchema)
def retrieve_delivery(delivery_id):
    """Show one notification delivery."""
    return get_or_404(db_session(), NotificationDelivery, delivery_id)
