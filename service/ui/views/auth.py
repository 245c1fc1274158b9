"""Logging in and out: the user's id in the signed session cookie, a fresh CSRF token each login."""

from __future__ import annotations

import secrets

from flask import flash, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from service.models import User
from service.ui.base import bp, db, safe_next
from service.users import check_password
from service.web.csrf import rotate_csrf_token

LOGIN_FAILED = "Wrong user name or password."
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
    user = db().scalar(select(User).where(User.username == username)) if username else None
    if user is None:
        check_password_hash(UNUSABLE_HASH, password)  # as slow as a real check: timing names no one
    # Same answer for an unknown name, a wrong password and an inactive user: names stay private.
    if user is None or not user.is_active or not check_password(user, password):
        return render_template("login.html", next_url=next_url, username=username, error=LOGIN_FAILED), 401
    session.clear()
    session["user_id"] = str(user.id)
    rotate_csrf_token()
    return redirect(next_url)


@bp.post("/logout")
def logout():
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("ui.login"))
