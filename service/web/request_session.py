"""The database session of one request: opened on first use, closed at the request's end.

Authentication and the view share it, so the caller's token and user are read once per request
and the view finds them loaded. Anything not committed by the end is rolled back.
"""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy.orm import Session

from service.web.app_runtime import current_runtime


def request_session() -> Session:
    """Return this request's database session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_runtime().db.sessionmaker()
    return g.db_session


def close_request_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()  # anything not committed is rolled back


def init_request_sessions(app: Flask) -> None:
    app.teardown_appcontext(close_request_session)
