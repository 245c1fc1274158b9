"""Job records: one per discovered job class, never deleted (``installed`` goes False)."""

import uuid

from sqlalchemy import ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.jobs.options import OVERRIDABLE_FIELDS  # noqa: F401 (re-exported)
from service.models.base import Base, Timestamps, UUIDPrimaryKey
from service.models.environment import JobEnvironment
from service.models.repository import GitRepository

SOURCES = ("git", "local", "system", "extensions")


class Job(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "jobs"

    source: Mapped[str] = mapped_column(String(20), default="git")
    repository_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("git_repositories.id", ondelete="SET NULL"), index=True)
    module_name: Mapped[str] = mapped_column(String(300))
    job_class_name: Mapped[str] = mapped_column(String(200))
    class_path: Mapped[str] = mapped_column(String(600), unique=True)

    grouping: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    approval_required: Mapped[bool] = mapped_column(default=False)
    dryrun_default: Mapped[bool] = mapped_column(default=False)
    field_order: Mapped[list] = mapped_column(default=list)
    has_sensitive_variables: Mapped[bool] = mapped_column(default=True)
    hidden: Mapped[bool] = mapped_column(default=False)
    read_only: Mapped[bool] = mapped_column(default=False)
    soft_time_limit: Mapped[float | None]
    time_limit: Mapped[float | None]
    task_queues: Mapped[list] = mapped_column(default=list)

    grouping_override: Mapped[bool] = mapped_column(default=False)
    name_override: Mapped[bool] = mapped_column(default=False)
    description_override: Mapped[bool] = mapped_column(default=False)
    approval_required_override: Mapped[bool] = mapped_column(default=False)
    dryrun_default_override: Mapped[bool] = mapped_column(default=False)
    field_order_override: Mapped[bool] = mapped_column(default=False)
    has_sensitive_variables_override: Mapped[bool] = mapped_column(default=False)
    hidden_override: Mapped[bool] = mapped_column(default=False)
    read_only_override: Mapped[bool] = mapped_column(default=False)
    soft_time_limit_override: Mapped[bool] = mapped_column(default=False)
    time_limit_override: Mapped[bool] = mapped_column(default=False)
    task_queues_override: Mapped[bool] = mapped_column(default=False)

    enabled: Mapped[bool] = mapped_column(default=False)
    installed: Mapped[bool] = mapped_column(default=True)
    is_job_hook_receiver: Mapped[bool] = mapped_column(default=False)
    is_job_button_receiver: Mapped[bool] = mapped_column(default=False)
    is_singleton: Mapped[bool] = mapped_column(default=False)
    # Discovered: the job honours a dry run (a DryRunVar, or a 1.x run(data, commit)), so one may
    # skip approval (service.runs.approval).
    supports_dryrun: Mapped[bool] = mapped_column(default=False, server_default=false())
    retry_on_worker_lost: Mapped[bool] = mapped_column(default=False)
    concurrency_key: Mapped[str | None] = mapped_column(String(300))  # a template: service.jobs.concurrency
    # Discovered: the key is a function of the run's data and context, computed by the worker per run.
    concurrency_key_callable: Mapped[bool] = mapped_column(default=False, server_default=false())
    concurrency_limit: Mapped[int] = mapped_column(default=1)
    concurrency_policy: Mapped[str] = mapped_column(String(20), default="queue")
    retries: Mapped[int] = mapped_column(default=0)  # attempts after the first: service.jobs.retries
    retry_backoff: Mapped[dict | None]  # base, factor, max, jitter (seconds); None: the defaults
    retry_on: Mapped[list | None]  # exception class names, for display; the child checks the classes
    on_success_run: Mapped[list | None]  # class paths of jobs started when a run ends: service.runs.chains
    on_failure_run: Mapped[list | None]
    variables: Mapped[list] = mapped_column(default=list)
    commit: Mapped[str | None] = mapped_column(String(64))
    environment_key: Mapped[str | None] = mapped_column(String(64))  # its commit's declared dependencies
    import_error: Mapped[str | None] = mapped_column(Text)

    repository: Mapped[GitRepository | None] = relationship()
    environment: Mapped[JobEnvironment | None] = relationship(
        primaryjoin="foreign(Job.environment_key) == JobEnvironment.key", viewonly=True
    )

    @property
    def summary(self) -> str:
        return next((line.strip() for line in self.description.splitlines() if line.strip()), "")

    @property
    def runnable(self) -> bool:
        return self.enabled and self.installed
