"""Job buttons: the admin pages, and the page a source of truth links to for one object's buttons.

``/job-buttons/?object_type=dcim.device&object_id=42`` lists the buttons for that object. A button
that asks for confirmation opens a dialog (or, without JavaScript, a confirmation page).
"""

from __future__ import annotations

import uuid
from itertools import groupby

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service.errors import NotFound, ValidationError
from service.models import JobButton
from service.triggers.buttons import buttons_for, press_button
from service.ui import receivers
from service.ui.base import bp, db, known_queues, require


def get_button(session, button_id: uuid.UUID) -> JobButton:
    button = session.get(JobButton, button_id)
    if button is None:
        raise NotFound(f"No job button {button_id}.")
    return button


@bp.get("/job-buttons/")
def object_buttons():
    object_type = request.args.get("object_type", "").strip().lower()
    object_id = request.args.get("object_id", "").strip()
    buttons = buttons_for(db(), object_type) if object_type and object_id else []
    groups = [(name, list(members)) for name, members in groupby(buttons, key=lambda b: b.group_name)]
    return render_template("buttons/object.html", object_type=object_type, object_id=object_id, groups=groups)


@bp.post("/job-buttons/<uuid:button_id>/press")
def button_press(button_id: uuid.UUID):
    user = require("run_job")
    session = db()
    button = get_button(session, button_id)
    object_type = request.form.get("object_type", "")
    object_id = request.form.get("object_id", "")
    if button.confirmation and request.form.get("confirmed") != "yes":
        return render_template("buttons/confirm.html", button=button, object_type=object_type,
                               object_id=object_id)
    try:
        result = press_button(session, button, object_type, object_id, None, user,
                              known_queues=known_queues())
    except ValidationError as exc:
        session.rollback()
        flash(" ".join(message for messages in exc.fields.values() for message in messages), "error")
        return redirect(url_for("ui.object_buttons", object_type=object_type, object_id=object_id), 303)
    session.commit()
    return redirect(url_for("ui.result_detail", result_id=result.id), 303)


@bp.get("/job-buttons/manage/")
def buttons_admin():
    buttons = db().scalars(select(JobButton).options(joinedload(JobButton.job))
                           .order_by(JobButton.group_name, JobButton.weight, JobButton.name)).all()
    return render_template("buttons/list.html", buttons=buttons)


def _form(button: JobButton | None, values, errors=None, status=200):
    return render_template("buttons/form.html", button=button, values=values, errors=errors or {},
                           jobs=receivers.receivers(db(), "button"),
                           classes=receivers.BUTTON_CLASSES), status


def _save(button: JobButton, is_new: bool):
    session = db()
    try:
        receivers.apply_button_form(session, button, request.form)
    except ValidationError as exc:
        session.rollback()
        return _form(None if is_new else button, request.form, exc.fields, 400)
    if is_new:
        session.add(button)
    session.commit()
    flash(f"Saved job button {button.name}.", "success")
    return redirect(url_for("ui.buttons_admin"), 303)


@bp.route("/job-buttons/manage/add", methods=["GET", "POST"])
def button_add():
    require("change_job")
    if request.method == "GET":
        return _form(None, receivers.button_values(None))
    return _save(JobButton(), is_new=True)


@bp.route("/job-buttons/manage/<uuid:button_id>/edit", methods=["GET", "POST"])
def button_edit(button_id: uuid.UUID):
    require("change_job")
    button = get_button(db(), button_id)
    if request.method == "GET":
        return _form(button, receivers.button_values(button))
    return _save(button, is_new=False)


@bp.post("/job-buttons/manage/<uuid:button_id>/delete")
def button_delete(button_id: uuid.UUID):
    require("change_job")
    session = db()
    button = get_button(session, button_id)
    session.delete(button)
    session.commit()
    flash(f"Deleted job button {button.name}.", "success")
    return redirect(url_for("ui.buttons_admin"), 303)
