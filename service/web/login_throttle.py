"""Failed logins slow guessing down: too many for one user name or one address within a window
refuse further attempts (even right ones) until older failures age out of the window.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from service.models import LoginFailure, utcnow


def _keys(username: str, address: str | None) -> list[str]:
    keys = [f"user:{username.strip().lower()[:190]}"]
    if address:
        keys.append(f"addr:{address[:190]}")
    return keys


class LoginThrottle:
    """Count failures per user name and per address; ``max_attempts`` within ``window_seconds``."""

    def __init__(self, *, max_attempts: int, window_seconds: float):
        self.max_attempts = max_attempts
        self.window = timedelta(seconds=window_seconds)

    def is_blocked(self, session: Session, username: str, address: str | None) -> bool:
        """Say whether this user name or this address has used up its attempts for now."""
        since = utcnow() - self.window
        session.execute(delete(LoginFailure).where(LoginFailure.at < since))  # forget old failures
        counts = session.execute(
            select(LoginFailure.key, func.count()).where(LoginFailure.key.in_(_keys(username, address)))
            .group_by(LoginFailure.key)).all()
        return any(count >= self.max_attempts for _, count in counts)

    def record_failure(self, session: Session, username: str, address: str | None) -> None:
        session.add_all(LoginFailure(key=key) for key in _keys(username, address))

    def record_success(self, session: Session, username: str) -> None:
        """Clear the user name's failures (the address keeps its own count)."""
        session.execute(delete(LoginFailure).where(LoginFailure.key == _keys(username, None)[0]))
