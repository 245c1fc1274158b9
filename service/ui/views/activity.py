"""What arrived from outside: git webhook deliveries and object change events, newest first."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from service.models import GitRepository, ObjectChangeEvent, WebhookDelivery
from service.models.webhook import OUTCOMES
from service.runs.visibility import VIEW_ALL_RESULTS
from service.ui.base import bp, db, require
from service.ui.paging import paginate

EVENT_ACTIONS = ("create", "update", "delete")


@bp.get("/webhook-deliveries/")
def deliveries_list():
    session = db()
    outcome = request.args.get("outcome", "")
    repository = request.args.get("repository", "")
    statement = select(WebhookDelivery).order_by(WebhookDelivery.received.desc(), WebhookDelivery.id)
    if outcome in OUTCOMES:
        statement = statement.where(WebhookDelivery.outcome == outcome)
    repositories = {row.id: row for row in session.scalars(select(GitRepository))}
    chosen = next((row for row in repositories.values() if row.slug == repository), None)
    if chosen is not None:
        statement = statement.where(WebhookDelivery.repository_id == chosen.id)
    return render_template("activity/deliveries.html", page=paginate(session, statement), outcome=outcome,
                           outcomes=OUTCOMES, repository=repository, repositories=repositories)


@bp.get("/object-change-events/")
def events_list():
    require(VIEW_ALL_RESULTS)  # the objects' data, as NetBox or Nautobot sent it
    action = request.args.get("action", "")
    object_type = request.args.get("object_type", "").strip().lower()
    statement = select(ObjectChangeEvent).order_by(ObjectChangeEvent.received.desc(), ObjectChangeEvent.id)
    if action in EVENT_ACTIONS:
        statement = statement.where(ObjectChangeEvent.action == action)
    if object_type:
        statement = statement.where(ObjectChangeEvent.object_type == object_type)
    return render_template("activity/events.html", page=paginate(db(), statement), action=action,
                           actions=EVENT_ACTIONS, object_type=object_type)
