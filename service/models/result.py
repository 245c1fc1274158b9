"""Runs and what they wrote: JobResult, its log entries and output files."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, UUIDPrimaryKey, utcnow
from service.models.environment import JobEnvironment
from service.models.job import Job
from service.models.user import User


class Status:
    """JobResult states, named as Nautobot names them."""

    PENDING = "PENDING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"

    WAITING = (PENDING,)
    RUNNING = (STARTED,)
    FINAL = (SUCCESS, FAILURE, REVOKED)
    ALL = (PENDING, STARTED, SUCCESS, FAILURE, REVOKED)


LOG_LEVELS = ("debug", "info", "success", "warning", "failure", "error", "critical")  # Nautobot's levels


class JobResult(UUIDPrimaryKey, Base):
    __tablename__ = "job_results"
    __table_args__ = (
        Index("ix_job_results_status_scheduled_at", "status", "scheduled_at"),
        Index("ix_job_results_runner_object", "runner", "object_type", "object_id"),
        # The results list's orderings: newest first, alone or within a job, a status or a user.
        Index("ix_job_results_created_id", "created", "id"),
        Index("ix_job_results_job_created", "job_id", "created"),
        Index("ix_job_results_status_created", "status", "created"),
        Index("ix_job_results_user_created", "user_id", "created"),
        # Runs waiting for a concurrency key, oldest first: an ending asks whether its key has any and a
        # claim how many wait ahead of it, never walking the key's history or every PENDING run.
        Index("ix_job_results_waiting", "concurrency_key", "created",
              postgresql_where=text("blocked_by IS NOT NULL"), sqlite_where=text("blocked_by IS NOT NULL")),
    )

    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    class_path: Mapped[str] = mapped_column(String(600))
    runner: Mapped[str | None] = mapped_column(String(300))  # a JobRunner's path, for background work
    status: Mapped[str] = mapped_column(String(20), default=Status.PENDING)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    queue: Mapped[str] = mapped_column(String(100), default="default")
    commit: Mapped[str | None] = mapped_column(String(64))
    environment_key: Mapped[str | None] = mapped_column(String(64))  # pinned with the commit
    dryrun: Mapped[bool] = mapped_column(default=False)
    object_type: Mapped[str | None] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(100))
    scheduled_job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("scheduled_jobs.id", ondelete="SET NULL"), index=True)
    scheduled_at: Mapped[datetime | None]
    interval: Mapped[int | None]  # minutes, for periodic background work
    created: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued: Mapped[datetime | None]  # when the broker message was last sent
    started: Mapped[datetime | None]
    completed: Mapped[datetime | None]
    heartbeat: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(200))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    input_data: Mapped[dict | None]
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    log_counts: Mapped[dict] = mapped_column(default=dict)
    # The run's filled-in concurrency key (service.runs.concurrency); None runs without one, unless
    # concurrency_policy is set: then its job's key function has yet to compute it (service.runs.late_keys).
    concurrency_key: Mapped[str | None] = mapped_column(String(300), index=True)
    concurrency_limit: Mapped[int | None]
    concurrency_policy: Mapped[str | None] = mapped_column(String(20))
    blocked_by: Mapped[uuid.UUID | None]  # set while waiting: the run that held the key last time it tried
    # Retries (service.runs.retries): each attempt is its own run, linked to the first one.
    retry_of: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("job_results.id", ondelete="SET NULL"), index=True)
    attempt: Mapped[int] = mapped_column(default=1, server_default="1")
    # Chains (service.runs.chains): the run whose ending started this one.
    triggered_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("job_results.id", ondelete="SET NULL"), index=True)

    job: Mapped[Job | None] = relationship()
    user: Mapped[User | None] = relationship()
    environment: Mapped[JobEnvironment | None] = relationship(
        primaryjoin="foreign(JobResult.environment_key) == JobEnvironment.key", viewonly=True
    )

    @property
    def is_final(self) -> bool:
        return self.status in Status.FINAL

    @property
    def waiting_for(self) -> str | None:
        """``device:r1 held by <run>`` while this run waits for its concurrency key, else None."""
        if self.status != Status.PENDING or self.blocked_by is None:
            return None
        return f"{self.concurrency_key} held by {self.blocked_by}"

    @property
    def status_label(self) -> str:
        """The status, with what a waiting run waits for: ``PENDING (waiting for k held by <run>)``."""
        waiting = self.waiting_for
        return f"{self.status} (waiting for {waiting})" if waiting else self.status

    @property
    def duration(self) -> float | None:
        if self.started and self.completed:
            return (self.completed - self.started).total_seconds()
        return None


class JobLogEntry(UUIDPrimaryKey, Base):
    __tablename__ = "job_log_entries"
    __table_args__ = (
        # A run's log in order, whole or by level: pages at any depth read only these indexes.
        Index("ix_job_log_entries_result_created_id", "job_result_id", "created", "id"),
        Index("ix_job_log_entries_result_level_created_id", "job_result_id", "level", "created", "id"),
    )

    job_result_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("job_results.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(10), default="info")
    grouping: Mapped[str] = mapped_column(String(100), default="run")
    message: Mapped[str] = mapped_column(Text, default="")
    object: Mapped[dict | None]
    created: Mapped[datetime] = mapped_column(default=utcnow)


class JobOutputFile(UUIDPrimaryKey, Base):
    __tablename__ = "job_output_files"

    job_result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("job_results.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    created: Mapped[datetime] = mapped_column(default=utcnow)


class ConcurrencySlot(Base):
    """One of a concurrency key's ``limit`` slots, held by a STARTED run: the primary key is the lock."""

    __tablename__ = "concurrency_slots"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True)
    job_result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("job_results.id", ondelete="CASCADE"), index=True)
    acquired: Mapped[datetime] = mapped_column(default=utcnow)
