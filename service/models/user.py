"""Users, their permissions and API tokens (stored hashed, never in clear)."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, UUIDPrimaryKey, utcnow

#: ``manage_repository`` registers repositories and changes their remote, branch or credentials: it
#: decides what code runs on the workers. ``sync_repository`` only re-syncs existing ones.
PERMISSIONS = ("run_job", "approve_job", "change_job", "sync_repository", "manage_repository",
               "view_all_results", "admin")


#: Holding the key permission grants the ones listed too.
IMPLIED_BY = {"sync_repository": ("manage_repository",)}


def grants(is_superuser: bool, held, permission: str) -> bool:
    """Say whether a user with ``held`` permissions (and superuser flag) has ``permission``."""
    return (is_superuser or permission in held or "admin" in held
            or any(implying in held for implying in IMPLIED_BY.get(permission, ())))


class User(UUIDPrimaryKey, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_superuser: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    permissions: Mapped[list] = mapped_column(default=list)
    # Signed into every session cookie; bumped on logout and password change to end all sessions.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created: Mapped[datetime] = mapped_column(default=utcnow)

    tokens: Mapped[list["Token"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def has_permission(self, permission: str) -> bool:
        return self.is_active and grants(self.is_superuser, self.permissions or (), permission)


class Token(UUIDPrimaryKey, Base):
    __tablename__ = "tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display: Mapped[str] = mapped_column(String(16))  # the key's last characters, to tell tokens apart
    description: Mapped[str] = mapped_column(String(200), default="")
    write_enabled: Mapped[bool] = mapped_column(default=True)
    expires: Mapped[datetime | None]
    last_used: Mapped[datetime | None]
    created: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="tokens")


class LoginFailure(UUIDPrimaryKey, Base):
    """One failed login, counted against a user name and an address (``user:<name>``, ``addr:<ip>``)."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
