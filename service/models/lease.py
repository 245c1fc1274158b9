"""Named leases: a row that says who holds a lock until when, so a crashed holder frees it."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UUIDPrimaryKey


class LockLease(UUIDPrimaryKey, Base):
    """One held lock (e.g. ``sync:<repository id>``); a row past ``expires_at`` may be taken over."""

    __tablename__ = "lock_leases"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
