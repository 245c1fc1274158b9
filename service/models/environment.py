"""Dependency environments: which pinned set a key stands for, so any worker can rebuild it."""

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, utcnow


class JobEnvironment(Base):
    """A content-addressed environment (``repos.environments``): the folder itself lives per machine."""

    __tablename__ = "job_environments"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    requirements: Mapped[str] = mapped_column(Text)  # the pinned set: what a worker installs
    packages: Mapped[dict] = mapped_column(JSON, default=dict)  # installed name -> version
    platform: Mapped[str] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(default=utcnow)
