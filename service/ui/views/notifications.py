"""Notification rules admin (admin only): which events reach which channel, and recent deliveries."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from service.errors import NotFound, ValidationError
from service.models import NotificationDelivery, NotificationRule
from service.models.notification import CHANNELS, EVENTS
from service.notifications.manage import apply_rule_values, new_rule, shown_target
from service.ui.base import bp, db, require

TEXT_FIELDS = ("name", "channel", "target", "secret", "job", "grouping", "repository", "queue")
NUMBER_FIELDS = ("failures", "idle_minutes")


@bp.get("/notifications/")
def notifications_list():
    require("admin")
    session = db()
    rules = session.scalars(select(NotificationRule).order_by(NotificationRule.name)).all()
    deliveries = session.scalars(
        select(NotificationDelivery).order_by(NotificationDelivery.created.desc()).limit(50)).all()
    return render_template("notifications/list.html", rules=rules, deliveries=deliveries,
                           shown_target=shown_target)


def form_values(form) -> tuple[dict, dict]:
    """The rule's values from the posted form, and the fields that are not numbers."""
    values: dict = {name: (form.get(name) or "").strip() or None for name in TEXT_FIELDS}
    values["events"] = form.getlist("events")
    values["enabled"] = bool(form.get("enabled"))
    errors = {}
    for name in NUMBER_FIELDS:
        try:
            values[name] = int(form.get(name) or 0)
        except ValueError:
            errors[name] = ["Enter a whole number."]
    return values, errors


@bp.route("/notifications/add", methods=["GET", "POST"])
def notification_add():
    require("admin")
    if request.method == "GET":
        defaults = {"enabled": True, "failures": 3, "idle_minutes": 10, "events": ["run_failed"]}
        return _form(defaults, {})
    values, errors = form_values(request.form)
    session = db()
    try:
        if errors:
            raise ValidationError(errors)
        rule = apply_rule_values(new_rule(), values)
        session.add(rule)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return _form(request.form | {"events": request.form.getlist("events")}, exc.fields, 400)
    flash(f"Saved notification rule {rule.name}.", "success")
    return redirect(url_for("ui.notifications_list"), 303)


def _form(values, errors, status=200):
    return render_template("notifications/form.html", values=values, errors=errors, events=EVENTS,
                           channels=CHANNELS), status


@bp.post("/notifications/<uuid:rule_id>/delete")
def notification_delete(rule_id: uuid.UUID):
    require("admin")
    session = db()
    rule = session.get(NotificationRule, rule_id)
    if rule is None:
        raise NotFound(f"No notification rule {rule_id}.")
    session.delete(rule)
    session.commit()
    flash(f"Deleted notification rule {rule.name}.", "success")
    return redirect(url_for("ui.notifications_list"), 303)
