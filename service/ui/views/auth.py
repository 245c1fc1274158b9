"""Logging in and out: the user's id in the signed session cookie, a fresh CSRF token each login."""

from __future__ import annotations

import secrets

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from service.models import User
from service.ui.base import bp, db, runtime, safe_next
from service.users import check_password
from service.web.login_throttle import LoginThrottle
from service.web.sessions import log_in, log_out

LOGIN_FAILED = "Wrong user name or password."
THROTTLED = "Too many failed logins: wait a few minutes and try again."
#: Checked against when the user name is unknown, so that answer takes as long as a wrong password.
UNUSABLE_HASH = generate_password_hash(secrets.token_hex(16))


@bp.get("/")
def index():
    return redirect(url_for("ui.jobs_list"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"), url_for("ui.jobs_list"))
    if request.method == "GET":
        return render_template("login.html", next_url=next_url, username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    throttle, address = _throttle(), request.remote_addr
    if throttle.is_blocked(db(), username, address):
        db().commit()
        return render_template("login.html", next_url=next_url, username=username, error=THROTTLED), 429
    user = db().scalar(select(User).where(User.username == username)) if username else None
    if user is None:
        check_password_hash(UNUSABLE_HASH, password)  # as slow as a real check: timing names no one
    # Same answer for an unknown name, a wrong password and an inactive user: names stay private.
    if user is None or not user.is_active or not check_password(user, password):
        throttle.record_failure(db(), username, address)
        db().commit()
        return render_template("login.html", next_url=next_url, username=username, error=LOGIN_FAILED), 401
    throttle.record_success(db(), username)
    db().commit()
    log_in(user)
    return redirect(next_url)


def _throttle() -> LoginThrottle:
    settings = runtime().settings
    return LoginThrottle(max_attempts=settings.login_max_attempts,
                         window_seconds=settings.login_window_seconds)


@bp.post("/logout")
def logout():
    log_out(db())
    db().commit()
    flash("You are logged out.", "info")
    return redirect(url_for("ui.login"))
