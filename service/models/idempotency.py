"""Idempotency keys: a client's retried run request returns the run it already started."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UUIDPrimaryKey, utcnow


class IdempotencyKey(UUIDPrimaryKey, Base):
    """One client key per user, naming the run (or schedule) its first request created."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    key: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    # Indexed: deleting a run (housekeeping) looks up the keys pointing at it.
    job_result_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("job_results.id", ondelete="CASCADE"), index=True)
    scheduled_job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("scheduled_jobs.id", ondelete="CASCADE"))
    created: Mapped[datetime] = mapped_column(default=utcnow, index=True)
