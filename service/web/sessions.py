"""Browser sessions: who a signed cookie names, and how logging out anywhere ends every copy of it.

The cookie carries the user's id and their ``session_version``; a logout or a password change bumps
the version in the database, so every cookie issued before (stolen or copied) stops working.
The cookie's ``Secure`` flag follows ``session_cookie_secure``: ``auto`` sets it on https requests.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from flask import Flask, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import update
from sqlalchemy.orm import Session

from service.models import User
from service.web.csrf import rotate_csrf_token

USER_KEY = "user_id"
VERSION_KEY = "session_version"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, with ``Secure`` decided per request when configured ``auto``."""

    def __init__(self, secure: str):
        self.secure = secure

    def get_cookie_secure(self, app: Flask) -> bool:
        if self.secure == "auto":
            return request.is_secure
        return self.secure == "true"


def init_sessions(app: Flask, *, secret_key: str, secure: str) -> None:
    """Sign ``app``'s session cookies with ``secret_key``; HttpOnly and SameSite=Lax always."""
    app.config.update(SECRET_KEY=secret_key, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.session_interface = SessionInterface(secure)


def session_user(db_session: Session, browser_session: Mapping) -> User | None:
    """Return the active user a browser session names at their current session version, or None."""
    try:
        user_id = uuid.UUID(str(browser_session.get(USER_KEY)))
    except ValueError:
        return None
    user = db_session.get(User, user_id)
    version = browser_session.get(VERSION_KEY)
    if user is None or not user.is_active or not isinstance(version, int) or version != user.session_version:
        return None
    return user


def log_in(user: User) -> None:
    """Start a fresh session for ``user`` (nothing from before login survives; a new CSRF token)."""
    session.clear()
    session[USER_KEY] = str(user.id)
    session[VERSION_KEY] = user.session_version
    rotate_csrf_token()


def end_all_sessions(db_session: Session, user_id: uuid.UUID) -> None:
    """Invalidate every session cookie issued to the user so far (logout, password change)."""
    db_session.execute(update(User).where(User.id == user_id)
                       .values(session_version=User.session_version + 1))


def log_out(db_session: Session) -> None:
    """End this browser's session and every other session of its user."""
    user = session_user(db_session, session)
    if user is not None:
        end_all_sessions(db_session, user.id)
    session.clear()
