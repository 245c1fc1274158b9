"""Registered sources of job code."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, Timestamps, UUIDPrimaryKey


class GitRepository(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "git_repositories"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    remote_url: Mapped[str] = mapped_column(String(500))
    branch: Mapped[str] = mapped_column(String(200), default="main")
    # References such as ``env:NAME`` or ``file:/path``: never the secret itself.
    credentials: Mapped[str | None] = mapped_column(String(300))
    webhook_secret: Mapped[str | None] = mapped_column(String(300))
    provided_contents: Mapped[list] = mapped_column(default=lambda: ["jobs"])
    backend: Mapped[str] = mapped_column(String(50), default="git")
    backend_parameters: Mapped[dict] = mapped_column(default=dict)
    current_head: Mapped[str | None] = mapped_column(String(64))
    sync_status: Mapped[str | None] = mapped_column(String(30))
    sync_time: Mapped[datetime | None]
    sync_error: Mapped[str | None] = mapped_column(Text)
