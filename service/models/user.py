"""Users, their permissions and API tokens (stored hashed, never in clear)."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, UUIDPrimaryKey, utcnow

PERMISSIONS = ("run_job", "approve_job", "change_job", "sync_repository", "admin")


class User(UUIDPrimaryKey, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_superuser: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    permissions: Mapped[list] = mapped_column(default=list)
    created: Mapped[datetime] = mapped_column(default=utcnow)

    tokens: Mapped[list["Token"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def has_permission(self, permission: str) -> bool:
        return self.is_active and (self.is_superuser or permission in self.permissions
                                   or "admin" in self.permissions)


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
