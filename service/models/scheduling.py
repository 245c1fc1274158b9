"""Nautobot-style scheduled jobs, and the fired slots that make each slot fire once."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, Timestamps, UUIDPrimaryKey, utcnow
from service.models.job import Job
from service.models.user import User

INTERVAL_TYPES = ("future", "custom", "hourly", "daily", "weekly", "crontab")
APPROVAL_STATES = ("not_required", "needs_approval", "approved", "denied")


class ScheduledJob(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
    interval_type: Mapped[str] = mapped_column(String(20), default="future")
    every_minutes: Mapped[int | None]  # for "custom"
    start_time: Mapped[datetime]
    crontab: Mapped[str | None] = mapped_column(String(100))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    data: Mapped[dict] = mapped_column(default=dict)
    queue: Mapped[str | None] = mapped_column(String(100))
    dryrun: Mapped[bool] = mapped_column(default=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approval_state: Mapped[str] = mapped_column(String(20), default="not_required")
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    # Slots missed while no scheduler ran: "once" runs the latest of them once, "skip" runs none.
    catch_up: Mapped[str] = mapped_column(String(10), default="once", server_default="once")
    last_run_at: Mapped[datetime | None]
    total_run_count: Mapped[int] = mapped_column(default=0)

    job: Mapped[Job | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])


class ScheduledSlot(UUIDPrimaryKey, Base):
    """One row per fired (schedule, slot): the unique key lets several schedulers race safely."""

    __tablename__ = "scheduled_slots"
    __table_args__ = (UniqueConstraint("scheduled_job_id", "slot_time"),)

    scheduled_job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scheduled_jobs.id", ondelete="CASCADE"))
    slot_time: Mapped[datetime]
    # Indexed: deleting a run (housekeeping) looks up the slots pointing at it.
    job_result_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("job_results.id", ondelete="SET NULL"), index=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
