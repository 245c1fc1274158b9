"""Notification rules (who hears about which events, through which channel) and their deliveries."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, UUIDPrimaryKey, utcnow

EVENTS = ("run_failed", "run_recovered", "consecutive_failures", "sync_failed", "approval_requested",
          "queue_without_workers")
CHANNELS = ("webhook", "slack", "teams", "email")
DELIVERY_STATES = ("pending", "sent", "failed")


class NotificationRule(UUIDPrimaryKey, Base):
    __tablename__ = "notification_rules"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    events: Mapped[list] = mapped_column(default=list)
    # Filters; None matches anything. Runs match on job (class path), grouping and repository slug.
    job: Mapped[str | None] = mapped_column(String(600))
    grouping: Mapped[str | None] = mapped_column(String(200))
    repository: Mapped[str | None] = mapped_column(String(100))
    queue: Mapped[str | None] = mapped_column(String(100))
    failures: Mapped[int] = mapped_column(default=3)  # consecutive_failures: fire when the streak reaches it
    idle_minutes: Mapped[int] = mapped_column(default=10)  # queue_without_workers: after this long
    channel: Mapped[str] = mapped_column(String(20))
    # A URL (webhook, slack, teams) or a reference to one (env:NAME, file:/path), or email addresses.
    target: Mapped[str] = mapped_column(String(1000))
    secret: Mapped[str | None] = mapped_column(String(300))  # reference to the HMAC secret (webhook)
    last_sent: Mapped[datetime | None]
    suppressed: Mapped[int] = mapped_column(default=0)  # events throttled since the last message
    created: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationDelivery(UUIDPrimaryKey, Base):
    __tablename__ = "notification_deliveries"

    rule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_rules.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message: Mapped[dict] = mapped_column(default=dict)  # what was said: no secret, no run input
    created: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    completed: Mapped[datetime | None]

    rule: Mapped[NotificationRule] = relationship()
