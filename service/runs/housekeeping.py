"""The housekeeping system job: forget finished runs older than ``results_retention_days``.

Deletes each old run with its log entries and output files (stored in the database), and fired
schedule slots older than the same horizon. Waiting and running work is never touched.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from service.jobs import JobIntervals, JobRunner, system_job
from service.models import JobLogEntry, JobOutputFile, JobResult, ScheduledSlot, Status, utcnow

#: Runs deleted per transaction, so a large purge never holds one long lock.
DELETE_BATCH = 500


def purge_old_results(db, retention_days: int, *, now: datetime) -> dict[str, int]:
    """Delete finished runs (with logs and files) and schedule slots older than the retention."""
    cutoff = now - timedelta(days=retention_days)
    ended = func.coalesce(JobResult.completed, JobResult.created)
    old = select(JobResult.id).where(JobResult.status.in_(Status.FINAL), ended < cutoff).limit(DELETE_BATCH)
    counts = {"results": 0, "logs": 0, "files": 0, "slots": 0}
    while True:
        with db.session() as session:
            ids = session.scalars(old).all()
            if not ids:
                break
            # Explicit deletes rather than relying on ON DELETE CASCADE being enforced everywhere.
            counts["logs"] += session.execute(
                delete(JobLogEntry).where(JobLogEntry.job_result_id.in_(ids))
            ).rowcount
            counts["files"] += session.execute(
                delete(JobOutputFile).where(JobOutputFile.job_result_id.in_(ids))
            ).rowcount
            counts["results"] += session.execute(delete(JobResult).where(JobResult.id.in_(ids))).rowcount
    with db.session() as session:
        counts["slots"] = session.execute(
            delete(ScheduledSlot).where(ScheduledSlot.slot_time < cutoff)
        ).rowcount
    return counts


@system_job(interval=JobIntervals.DAILY)
class Housekeeping(JobRunner):
    """Delete results, logs and output files older than ``results_retention_days``."""

    runner_name = "jobsync.housekeeping"  # stored in JobResult.runner: never change it

    class Meta:
        name = "Housekeeping"

    def run(self) -> dict[str, int]:
        settings = self.runtime.settings
        counts = purge_old_results(self.runtime.db, settings.results_retention_days, now=utcnow())
        self.logger.info(
            "deleted %(results)d results, %(logs)d log entries, %(files)d files, %(slots)d schedule slots",
            counts,
        )
        return counts
