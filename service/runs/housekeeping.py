"""The housekeeping system job: forget finished runs older than ``results_retention_days``.

Also forgets idempotency keys past their 24 hours (service.runs.idempotency).

Deletes each old run with its log entries and output files (stored in the database), and fired
schedule slots older than the same horizon. Waiting and running work is never touched. It also
removes dependency environments no installed job and no waiting or running run uses, beyond the
``keep_environments`` most recently used. Webhook deliveries and object change events older than
``events_retention_days`` go too: anyone can send them, so without a horizon they would grow.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, tuple_

from repos import environments
from service.jobs import JobIntervals, JobRunner, system_job
from service.models import (
    Job,
    JobLogEntry,
    JobOutputFile,
    JobResult,
    ObjectChangeEvent,
    ScheduledSlot,
    Status,
    WebhookDelivery,
    utcnow,
)
from service.observability import metrics
from service.runs.idempotency import forget_expired_keys

#: Most runs deleted per transaction, so a large purge never holds one long lock.
DELETE_BATCH = 1_000
#: Most log entries deleted per transaction: a run with 200,000 lines goes in many short steps.
LOG_DELETE_BATCH = 20_000
#: What one purge transaction aims to take. On a busy database the batches shrink (down to a
#: twentieth) until a transaction takes about this long, and grow back when it is quiet: the
#: transactions stay well under a second whatever the load, and the purge as fast as it allows.
TARGET_SECONDS = 0.25
#: The clock pacing the batches (a test may slow it down).
clock = time.monotonic


class _Pace:
    """A batch size between ``most // 20`` and ``most``, halved after a transaction took over twice
    TARGET_SECONDS and doubled after one under half of it."""

    def __init__(self, most: int):
        self.most, self.least = most, max(most // 20, 1)
        self.size = most

    @contextmanager
    def timed(self) -> Iterator[None]:
        began = clock()
        yield
        took = clock() - began
        if took > 2 * TARGET_SECONDS:
            self.size = max(self.size // 2, self.least)
        elif took < TARGET_SECONDS / 2:
            self.size = min(self.size * 2, self.most)


def purge_old_results(db, retention_days: int, *, now: datetime) -> dict[str, int]:
    """Delete finished runs (with logs and files) and schedule slots older than the retention.

    Every transaction is short: runs go at most ``DELETE_BATCH`` at a time, their log entries
    first in steps of at most ``LOG_DELETE_BATCH``, fewer while the database is slow (``_Pace``),
    so a purge of a year of history never blocks the runs that are being written meanwhile. A
    run is only deleted once its logs are gone, so an interrupted purge leaves nothing dangling
    and the next one carries on. The old runs are walked in ``(created, id)`` order from where the
    last batch stopped, so runs kept (still waiting, or ended lately) are read once, not again by
    every batch.
    """
    cutoff = now - timedelta(days=retention_days)
    ended = func.coalesce(JobResult.completed, JobResult.created)
    # A run ends after it is created, so ``created < cutoff`` (indexed) only narrows the search.
    old = (select(JobResult.id, JobResult.created)
           .where(JobResult.created < cutoff, JobResult.status.in_(Status.FINAL), ended < cutoff)
           .order_by(JobResult.created, JobResult.id))
    counts = {"results": 0, "logs": 0, "files": 0, "slots": 0}
    runs, lines = _Pace(DELETE_BATCH), _Pace(LOG_DELETE_BATCH)
    after = None
    while True:
        with db.session() as session:
            page = old if after is None else old.where(tuple_(JobResult.created, JobResult.id) > after)
            rows = session.execute(page.limit(runs.size)).all()
        if not rows:
            break
        after = tuple(rows[-1])[::-1]  # (created, id) of the last one
        ids = [row.id for row in rows]
        counts["logs"] += _delete_logs_of(db, ids, lines)
        with runs.timed(), db.session() as session:
            # Explicit deletes rather than relying on ON DELETE CASCADE being enforced everywhere.
            counts["files"] += session.execute(
                delete(JobOutputFile).where(JobOutputFile.job_result_id.in_(ids))
            ).rowcount
            counts["results"] += session.execute(delete(JobResult).where(JobResult.id.in_(ids))).rowcount
    with db.session() as session:
        counts["slots"] = session.execute(
            delete(ScheduledSlot).where(ScheduledSlot.slot_time < cutoff)
        ).rowcount
    return counts


def _delete_logs_of(db, result_ids: list, pace: _Pace) -> int:
    """Delete the log entries of ``result_ids`` in steps of ``pace.size``; return how many.

    On PostgreSQL a step names its rows by their physical address (``ctid``): deleting them by
    primary key instead looked each one up again in the key's index, ten times slower.
    """
    deleted = 0
    while True:
        step = pace.size
        if db.engine.dialect.name == "postgresql":
            statement = text(
                "DELETE FROM job_log_entries WHERE ctid = ANY(ARRAY("
                "SELECT ctid FROM job_log_entries WHERE job_result_id = ANY(:ids) LIMIT :step))")
            parameters = {"ids": list(result_ids), "step": step}
        else:
            statement = delete(JobLogEntry).where(JobLogEntry.id.in_(
                select(JobLogEntry.id).where(JobLogEntry.job_result_id.in_(result_ids))
                .limit(step).scalar_subquery()))
            parameters = {}
        with pace.timed(), db.session() as session:
            count = session.execute(statement, parameters).rowcount
        deleted += count
        if count < step:
            return deleted


def purge_old_events(db, retention_days: int, *, now: datetime) -> dict[str, int]:
    """Delete webhook deliveries and object change events received before the retention."""
    cutoff = now - timedelta(days=retention_days)
    counts = {}
    for name, model in (("deliveries", WebhookDelivery), ("change_events", ObjectChangeEvent)):
        counts[name] = 0
        old = select(model.id).where(model.received < cutoff).limit(DELETE_BATCH)
        while True:
            with db.session() as session:
                ids = session.scalars(old).all()
                if not ids:
                    break
                counts[name] += session.execute(delete(model).where(model.id.in_(ids))).rowcount
    return counts


def sweep_transient_input(db, store) -> int:
    """Drop kept input whose run has ended or is gone (it was never taken); return how many."""
    stashed = store.stashed_ids()
    waiting: set[str] = set()
    for start in range(0, len(stashed), DELETE_BATCH):
        chunk = [_uuid(value) for value in stashed[start:start + DELETE_BATCH]]
        with db.session() as session:
            waiting.update(str(value) for value in session.scalars(
                select(JobResult.id).where(JobResult.id.in_([c for c in chunk if c]),
                                           JobResult.status.not_in(Status.FINAL))
            ))
    orphans = [value for value in stashed if value not in waiting]
    for value in orphans:
        store.drop(value)
    return len(orphans)


def environment_keys_in_use(session) -> set[str]:
    """Keys of installed jobs' commits and of runs waiting or running."""
    used = set(
        session.scalars(select(Job.environment_key).where(Job.installed, Job.environment_key.is_not(None)))
    )
    used |= set(
        session.scalars(
            select(JobResult.environment_key).where(
                JobResult.status.in_((Status.PENDING, Status.STARTED)), JobResult.environment_key.is_not(None)
            )
        )
    )
    return used


def sweep_environments(db, settings) -> list[str]:
    """Remove environment folders nothing uses, beyond the ``keep_environments`` most recently used."""
    with db.session() as session:
        keep = environment_keys_in_use(session)
    return environments.collect_garbage(settings.data_dir, keep, keep_unused=settings.keep_environments)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@system_job(interval=JobIntervals.DAILY)
class Housekeeping(JobRunner):
    """Delete results, logs and output files older than ``results_retention_days``."""

    runner_name = "jobsync.housekeeping"  # stored in JobResult.runner: never change it

    class Meta:
        name = "Housekeeping"

    def run(self) -> dict[str, int]:
        settings = self.runtime.settings
        counts = purge_old_results(self.runtime.db, settings.results_retention_days, now=utcnow())
        counts.update(purge_old_events(self.runtime.db, settings.events_retention_days, now=utcnow()))
        counts["transient_inputs"] = sweep_transient_input(self.runtime.db, self.runtime.outbox.transient)
        with self.runtime.db.session() as session:
            counts["idempotency_keys"] = forget_expired_keys(session)
        counts["environments"] = len(sweep_environments(self.runtime.db, settings))
        metrics.housekeeping_purged(counts)
        self.logger.info(
            "deleted %(results)d results, %(logs)d log entries, %(files)d files, %(slots)d schedule slots,"
            " %(deliveries)d webhook deliveries, %(change_events)d change events,"
            " %(transient_inputs)d orphaned inputs, %(idempotency_keys)d idempotency keys"
            " and %(environments)d unused environments",
            counts,
        )
        return counts
