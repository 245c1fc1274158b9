"""Who is calling and what they may do: token or session authentication, one policy per blueprint.

The app factory declares a ``Policy`` for each API blueprint (GOV.UK Notify style) and
``enforce_policies`` checks it before every request to that blueprint, so views only ask for
``current_principal()`` and never repeat the checks.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping

from flask import Flask, g, request, session
from sqlalchemy.orm import Session

from service.errors import AuthenticationFailed, PermissionDenied
from service.models import User
from service.models.user import grants
from service.users import authenticate_token
from service.web.request_session import request_session
from service.web.sessions import session_user

#: Methods that change nothing: allowed with a write-disabled token and under ``Policy.read``.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_KEYWORD = "Token"


@dataclasses.dataclass(frozen=True)
class Policy:
    """The permission a blueprint's reads and writes need (None: authentication only)."""

    read: str | None = None
    write: str | None = None

    def permission_for(self, method: str) -> str | None:
        return self.read if method in SAFE_METHODS else self.write


@dataclasses.dataclass(frozen=True)
class Principal:
    """The authenticated caller, detached from any database session."""

    user_id: uuid.UUID
    username: str
    is_superuser: bool
    permissions: frozenset[str]
    token_id: uuid.UUID | None = None
    write_enabled: bool = True

    @classmethod
    def of(cls, user: User, *, token=None) -> Principal:
        return cls(user_id=user.id, username=user.username, is_superuser=user.is_superuser,
                   permissions=frozenset(user.permissions or ()),
                   token_id=token.id if token is not None else None,
                   write_enabled=token.write_enabled if token is not None else True)

    def has_permission(self, permission: str | None) -> bool:
        if permission is None:
            return True
        return grants(self.is_superuser, self.permissions, permission)


def parse_authorization(header: str) -> str:
    """Return the key from ``Token <key>``; raises AuthenticationFailed for any other shape."""
    keyword, _, key = header.strip().partition(" ")
    if keyword != TOKEN_KEYWORD or not key.strip() or " " in key.strip():
        raise AuthenticationFailed("Invalid token header. Expected 'Authorization: Token <key>'.")
    return key.strip()


def authenticate(db_session: Session, authorization: str | None,
                 browser_session: Mapping | None) -> Principal:
    """Identify the caller by API token, else by logged-in session; raises AuthenticationFailed."""
    if authorization:
        token = authenticate_token(db_session, parse_authorization(authorization))
        # The identity map holds rows weakly: keep the caller's loaded for the view (no second query).
        db_session.info["caller"] = token.user
        return Principal.of(token.user, token=token)
    user = session_user(db_session, browser_session) if browser_session else None
    if user is not None:
        return Principal.of(user)
    raise AuthenticationFailed("Authentication credentials were not provided.")


def authorise(principal: Principal, policy: Policy, method: str) -> None:
    """Raise PermissionDenied unless ``principal`` may make a ``method`` request under ``policy``."""
    if method not in SAFE_METHODS and not principal.write_enabled:
        raise PermissionDenied("This token does not have write permission.")
    require(principal, policy.permission_for(method))


def require(principal: Principal, permission: str | None) -> None:
    """Raise PermissionDenied unless ``principal`` holds ``permission``."""
    if not principal.has_permission(permission):
        raise PermissionDenied(f"You do not have the {permission} permission.")


def current_principal() -> Principal:
    """Return the caller authenticated for this request."""
    return g.principal


def enforce_policies(app: Flask, policies: dict[str, Policy]) -> None:
    """Check each request to a blueprint named in ``policies`` before its view runs."""

    @app.before_request
    def _enforce_policy():
        policy = policies.get(request.blueprint or "")
        if policy is None:
            return
        db_session = request_session()  # the view's too: it finds the caller's rows loaded
        principal = authenticate(db_session, request.headers.get("Authorization"), session)
        if db_session.dirty:  # the token's last_used moved (once a minute): kept whatever the view does
            db_session.commit()
        g.principal = principal
        if principal.token_id is None and request.method not in SAFE_METHODS:
            # A browser sends its session cookie whatever page asks: writes need the UI's CSRF token.
            from service.web.csrf import check_csrf

            check_csrf()
        authorise(principal, policy, request.method)
