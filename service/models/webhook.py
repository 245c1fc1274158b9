"""Git provider webhook deliveries, every one recorded (body never stored)."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UUIDPrimaryKey, utcnow

OUTCOMES = ("accepted", "ignored", "rejected", "duplicate")


class WebhookDelivery(UUIDPrimaryKey, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("provider", "delivery_id"),)

    provider: Mapped[str] = mapped_column(String(30))
    delivery_id: Mapped[str | None] = mapped_column(String(200))
    repository_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("git_repositories.id", ondelete="SET NULL"), index=True)
    event: Mapped[str | None] = mapped_column(String(100))
    ref: Mapped[str | None] = mapped_column(String(300))
    sha: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    # Indexed: deleting a run (housekeeping) looks up the deliveries pointing at it.
    sync_result_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("job_results.id", ondelete="SET NULL"), index=True)
    received: Mapped[datetime] = mapped_column(default=utcnow, index=True)
