"""The UI blueprint and what every page shares: the request's database session, the logged-in
user, permission checks, error pages and the security headers that keep injected markup inert.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, g, jsonify, redirect, render_template, request, session, url_for
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from service.errors import AuthenticationFailed, JobsyncError, NotFound, PermissionDenied
from service.models import User
from service.ui import formatting
from service.web import csrf
from service.web.app_runtime import current_runtime
from service.web.auth import authenticate

bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static",
               static_url_path="/ui/static")

#: Pages anyone may open; every other page needs a logged-in user.
PUBLIC_ENDPOINTS = frozenset({"ui.login", "ui.static"})
#: Endpoints answered with JSON, so a missing login is a 401 rather than a redirect.
JSON_ENDPOINTS = frozenset({"ui.result_live"})
#: No inline script or style may run: job output that slipped through escaping would stay inert.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


@bp.record_once
def _configure(state) -> None:
    state.app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    state.app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    formatting.register_filters(state.app)


def db() -> Session:
    """Return this request's database session, opening it on first use."""
    if "ui_db" not in g:
        g.ui_db = current_runtime().db.sessionmaker()
    return g.ui_db


def runtime():
    return current_runtime()


def known_queues() -> tuple[str, ...]:
    return runtime().settings.all_queues


@bp.teardown_request
def _close_session(_exc: BaseException | None) -> None:
    session_ = g.pop("ui_db", None)
    if session_ is not None:
        session_.close()  # anything a view did not commit is rolled back


def session_user(db_session: Session) -> User | None:
    """Return the logged-in, active user of this browser session, or None."""
    try:
        principal = authenticate(db_session, None, session)
    except AuthenticationFailed:
        return None
    return db_session.get(User, principal.user_id)


def current_user() -> User:
    return g.ui_user


def can(permission: str) -> bool:
    user = g.get("ui_user")
    return user is not None and user.has_permission(permission)


def require(permission: str) -> User:
    """Return the current user; raises PermissionDenied unless they hold ``permission``."""
    if not can(permission):
        raise PermissionDenied(f"You need the {permission} permission to do this.")
    return g.ui_user


@bp.before_request
def _require_login():
    g.ui_user = session_user(db())
    if request.endpoint in PUBLIC_ENDPOINTS or g.ui_user is not None:
        return None
    if request.endpoint in JSON_ENDPOINTS:
        return jsonify(error="Log in first."), 401
    back = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("ui.login", next=back))


bp.before_request(csrf.check_csrf)


@bp.after_request
def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "ui.static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.context_processor
def _page_context() -> dict[str, Any]:
    return {"current_user": g.get("ui_user"), "can": can, "csrf_token": csrf.csrf_token}


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` if it is a path on this site (never another host), else ``default``."""
    if not target:
        return default
    parts = urlsplit(target)
    # Browsers read a backslash as a slash, so "/\host" would leave for "//host" too.
    leaves = parts.scheme or parts.netloc or target.startswith("//") or "\\" in target
    if leaves or not target.startswith("/"):
        return default
    return target


def render_error(status: int, title: str, message: str):
    return render_template("error.html", status=status, title=title, message=message), status


@bp.errorhandler(JobsyncError)
def _jobsync_error(exc: JobsyncError):
    if isinstance(exc, AuthenticationFailed):
        return redirect(url_for("ui.login"))
    if isinstance(exc, NotFound):
        return render_error(404, "Not found", str(exc))
    if isinstance(exc, PermissionDenied):
        return render_error(403, "Not allowed", str(exc))
    status = getattr(exc, "status", 400)
    return render_error(status if 400 <= status < 600 else 400, "Cannot do that", str(exc))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return render_error(exc.code or 500, exc.name, exc.description or exc.name)
