"""A system job every minute: warn about runs stuck on the acme queues."""

from datetime import UTC, datetime, timedelta

from service.jobs import JobRunner, system_job


@system_job(interval=1)
class AcmeHousekeeping(JobRunner):
    """Count runs waiting on acme's queues for longer than ``stale_after_minutes``."""

    class Meta:
        name = "Acme housekeeping"

    def run(self) -> dict:
        from sqlalchemy import func, select

        from service import runtime
        from service.extensions import get_extension
        from service.models import JobResult, Status

        extension = get_extension("acme")
        minutes = extension.settings["stale_after_minutes"]
        cutoff = datetime.now(UTC) - timedelta(minutes=minutes)
        with runtime.installed().db.session() as session:
            stale = session.scalar(
                select(func.count()).select_from(JobResult).where(
                    JobResult.status == Status.PENDING,
                    JobResult.queue.in_(extension.queue_names),
                    JobResult.created < cutoff,
                )
            )
        if stale:
            self.logger.warning("%d run(s) waited on %s for over %s minutes: is a worker serving them?",
                                stale, ", ".join(extension.queue_names), minutes)
        return {"stale_runs": stale}
