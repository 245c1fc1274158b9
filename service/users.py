"""Users and API tokens: create, authenticate. Tokens are shown once and stored as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from service.errors import AuthenticationFailed, NotFound, ValidationError
from service.models import PERMISSIONS, Token, User, utcnow

#: A token's ``last_used`` moves at most this often (as NetBox's does): a busy API client would
#: otherwise add a write and a commit to every request.
LAST_USED_EVERY = timedelta(minutes=1)


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_user(session: Session, username: str, *, password: str | None = None,
                is_superuser: bool = False, permissions: list[str] | None = None) -> User:
    """Create a user; raises ValidationError for a taken name or an unknown permission."""
    username = username.strip()
    if not username:
        raise ValidationError({"username": ["This field may not be blank."]})
    if session.scalar(select(User).where(User.username == username)):
        raise ValidationError({"username": [f"A user named {username!r} already exists."]})
    unknown = sorted(set(permissions or []) - set(PERMISSIONS))
    if unknown:
        raise ValidationError({"permissions": [f"Unknown permission(s): {', '.join(unknown)}."]})
    user = User(username=username, is_superuser=is_superuser, permissions=list(permissions or []),
                password_hash=generate_password_hash(password) if password else None)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    return user


def check_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def set_password(session: Session, user: User, password: str) -> None:
    """Replace ``user``'s password and end every session they have open."""
    if not password:
        raise ValidationError({"password": ["This field may not be blank."]})
    user.password_hash = generate_password_hash(password)
    user.session_version = (user.session_version or 0) + 1
    session.flush()


def create_token(session: Session, user: User, *, description: str = "", write_enabled: bool = True,
                 expires: datetime | None = None) -> tuple[Token, str]:
    """Create a token for ``user``; return the row and the key, which is never stored."""
    key = secrets.token_hex(20)
    token = Token(user=user, key_hash=hash_token(key), display=key[-6:], description=description,
                  write_enabled=write_enabled, expires=expires)
    session.add(token)
    session.flush()
    return token, key


def authenticate_token(session: Session, key: str) -> Token:
    """Return the live token for ``key``; raises AuthenticationFailed otherwise."""
    query = select(Token).options(joinedload(Token.user)).where(Token.key_hash == hash_token(key))
    token = session.scalar(query)
    # The lookup is by hash; compare again in constant time so timing says nothing about the key.
    if token is None or not hmac.compare_digest(token.key_hash, hash_token(key)):
        raise AuthenticationFailed("Invalid token.")
    if token.expires is not None and token.expires <= utcnow():
        raise AuthenticationFailed("Token expired.")
    if not token.user.is_active:
        raise AuthenticationFailed("User inactive.")
    now = utcnow()
    if token.last_used is None or now - token.last_used >= LAST_USED_EVERY:
        token.last_used = now  # not on every request: each would be one more write and commit
    return token
