"""Job hooks (run on object change events), job buttons (run on an object) and the events log."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, Timestamps, UUIDPrimaryKey, utcnow
from service.models.job import Job


class JobHook(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "job_hooks"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    content_types: Mapped[list] = mapped_column(default=list)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    type_create: Mapped[bool] = mapped_column(default=False)
    type_update: Mapped[bool] = mapped_column(default=False)
    type_delete: Mapped[bool] = mapped_column(default=False)
    run_on_noop_update: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)

    job: Mapped[Job] = relationship()


class JobButton(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "job_buttons"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    content_types: Mapped[list] = mapped_column(default=list)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    button_class: Mapped[str] = mapped_column(String(30), default="default")
    confirmation: Mapped[bool] = mapped_column(default=True)
    weight: Mapped[int] = mapped_column(default=100)
    group_name: Mapped[str] = mapped_column(String(100), default="")
    enabled: Mapped[bool] = mapped_column(default=True)

    job: Mapped[Job] = relationship()


class ObjectChangeEvent(UUIDPrimaryKey, Base):
    """A received object change; the unique key makes a repeated event run nothing new."""

    __tablename__ = "object_change_events"
    __table_args__ = (UniqueConstraint("request_id", "object_type", "object_id", "action"),)

    request_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(10))
    object_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str] = mapped_column(String(100))
    object_repr: Mapped[str] = mapped_column(String(300), default="")
    prechange: Mapped[dict | None]
    postchange: Mapped[dict | None]
    user: Mapped[str | None] = mapped_column(String(150))
    time: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(20), default="jobsync")
    sender: Mapped[str | None] = mapped_column(String(150))
    matched: Mapped[list] = mapped_column(default=list)  # [{hook, job_result or skipped reason}]
    received: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
