"""Job hooks admin: which receiver job runs when objects of some types change."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service.errors import NotFound, ValidationError
from service.models import JobHook
from service.ui import receivers
from service.ui.base import bp, db, require


def get_hook(session, hook_id: uuid.UUID) -> JobHook:
    hook = session.get(JobHook, hook_id)
    if hook is None:
        raise NotFound(f"No job hook {hook_id}.")
    return hook


@bp.get("/job-hooks/")
def hooks_list():
    hooks = db().scalars(select(JobHook).options(joinedload(JobHook.job)).order_by(JobHook.name)).all()
    return render_template("hooks/list.html", hooks=hooks)


def _form(hook: JobHook | None, values, errors=None, status=200):
    return render_template("hooks/form.html", hook=hook, values=values, errors=errors or {},
                           jobs=receivers.receivers(db(), "hook")), status


def _save(hook: JobHook, is_new: bool):
    session = db()
    try:
        receivers.apply_hook_form(session, hook, request.form)
    except ValidationError as exc:
        session.rollback()
        return _form(None if is_new else hook, request.form, exc.fields, 400)
    if is_new:
        session.add(hook)
    session.commit()
    flash(f"Saved job hook {hook.name}.", "success")
    return redirect(url_for("ui.hooks_list"), 303)


@bp.route("/job-hooks/add", methods=["GET", "POST"])
def hook_add():
    require("change_job")
    if request.method == "GET":
        return _form(None, receivers.hook_values(None))
    return _save(JobHook(), is_new=True)


@bp.route("/job-hooks/<uuid:hook_id>/edit", methods=["GET", "POST"])
def hook_edit(hook_id: uuid.UUID):
    require("change_job")
    hook = get_hook(db(), hook_id)
    if request.method == "GET":
        return _form(hook, receivers.hook_values(hook))
    return _save(hook, is_new=False)


@bp.post("/job-hooks/<uuid:hook_id>/delete")
def hook_delete(hook_id: uuid.UUID):
    require("change_job")
    session = db()
    hook = get_hook(session, hook_id)
    session.delete(hook)
    session.commit()
    flash(f"Deleted job hook {hook.name}.", "success")
    return redirect(url_for("ui.hooks_list"), 303)
