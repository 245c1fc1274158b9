"""Cross-site request forgery protection: one random token per browser session, checked on every POST.

Every form carries the token in a hidden ``csrf_token`` field (scripts send it as ``X-CSRF-Token``);
another site can make a browser post to us but cannot read the token out of our pages.
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

from service.errors import ServiceError

SESSION_KEY = "csrf_token"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRefused(ServiceError):
    """A state-changing request came without this session's CSRF token."""

    code = "csrf_refused"
    status = 400


def csrf_token() -> str:
    """Return this session's token, creating it on first use."""
    token = session.get(SESSION_KEY)
    if not token:
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def rotate_csrf_token() -> str:
    """Replace the token (at login), so one picked up before logging in is worthless afterwards."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)
    return session[SESSION_KEY]


def check_csrf() -> None:
    """Refuse a state-changing request whose token is missing or wrong; raises CsrfRefused."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get(SESSION_KEY)
    sent = request.headers.get(HEADER) or request.form.get(FORM_FIELD) or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused("The form has expired or did not come from this site: "
                          "reload the page and try again.")
