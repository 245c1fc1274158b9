"""Concurrency keys at run time: which key a run holds, its slots in the database, and who waits.

A key has ``limit`` slots, rows of ``concurrency_slots`` whose primary key (key, slot) is the lock:
a run takes one with ``INSERT ... ON CONFLICT DO NOTHING`` in the transaction that claims it
(PENDING -> STARTED), so at most ``limit`` runs of a key are STARTED at once on SQLite and
PostgreSQL alike, whatever the number of workers. A run that finds no free slot either waits
(``queue``, ``cancel_running``: it stays PENDING with ``blocked_by`` set and leaves its worker
thread at once) or ends REVOKED (``skip``). Releasing a slot wakes the oldest waiters, first come
first served; the scheduler's ``wake_waiting_runs`` step is the safety net for a lost wake-up and
frees slots of runs that ended by a path that did not release them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, cast, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.infra.outbox import forget_transient_input_after_commit, send_after_commit
from service.jobs.concurrency import format_key
from service.models import ConcurrencySlot, Job, JobLogEntry, JobResult, Status, User, utcnow
from service.runs.periodic import after_finish

# RETURNING tells whether the row went in (psycopg reports no rowcount for ON CONFLICT DO NOTHING).
_INSERT_SLOT = {
    name: dialect.insert(ConcurrencySlot).on_conflict_do_nothing().returning(ConcurrencySlot.slot)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
#: Keys whose waiters the scheduler looks at per tick.
BATCH_SIZE = 200


@dataclass(frozen=True)
class KeyedRun:
    """What acquiring a slot needs to know about a run."""

    id: uuid.UUID
    key: str
    limit: int
    policy: str
    created: datetime
    queue: str


def run_columns(
    job: Job, data: dict[str, Any], *, user: User | None, object_type: str | None, object_id: str | None,
    override: bool = False,
) -> dict[str, Any]:
    """Return a new run's concurrency columns: a singleton's class path, the job's filled-in key, or none.

    A job whose key is a function gets its limit and policy with no key yet: the worker computes it.

    ``override`` (an admin's choice) runs it without a key, as the singleton lock override always did.
    """
    if override:
        return {}
    if job.is_singleton:  # the special case: key = class path, limit 1, policy skip
        return {"concurrency_key": job.class_path, "concurrency_limit": 1, "concurrency_policy": "skip"}
    if job.concurrency_key_callable:  # repository code: computed by the worker (service.runs.late_keys)
        return {"concurrency_key": None, "concurrency_limit": job.concurrency_limit,
                "concurrency_policy": job.concurrency_policy}
    if not job.concurrency_key:
        return {}
    context = {"job": job.class_path, "user": user.username if user is not None else None,
               "object_type": object_type, "object_id": object_id}
    return {
        "concurrency_key": format_key(job.concurrency_key, {**data, **context}),
        "concurrency_limit": job.concurrency_limit,
        "concurrency_policy": job.concurrency_policy,
    }


def _held(key: str):
    return select(func.count()).select_from(ConcurrencySlot).where(ConcurrencySlot.key == key)


def _waiting(key):
    """Runs that found the key busy and wait for it (``blocked_by`` is set only while waiting)."""
    return (
        JobResult.concurrency_key == key,
        JobResult.status == Status.PENDING,
        JobResult.blocked_by.is_not(None),
        JobResult.cancel_requested.is_(False),
    )


def _ahead_of(run: KeyedRun):
    return (
        select(func.count())
        .select_from(JobResult)
        .where(*_waiting(run.key), JobResult.created < run.created, JobResult.id != run.id)
    )


# Built once, for the claim and the release of every keyed run (see service.worker.claim for why).
_KEY, _RUN, _CREATED = bindparam("slot_key"), bindparam("slot_run"), bindparam("slot_created")
_HELD_AND_AHEAD = select(
    select(func.count()).select_from(ConcurrencySlot).where(ConcurrencySlot.key == _KEY).scalar_subquery(),
    select(func.count()).select_from(JobResult)
    .where(*_waiting(_KEY), JobResult.created < _CREATED, JobResult.id != _RUN).scalar_subquery(),
)
_RELEASE = delete(ConcurrencySlot).where(ConcurrencySlot.job_result_id == _RUN).returning(ConcurrencySlot.key)
_WAITERS = (
    select(JobResult.id, JobResult.queue, JobResult.concurrency_limit)
    .where(*_waiting(_KEY)).order_by(JobResult.created).limit(BATCH_SIZE)
)


def take_free_slot(candidate, now, *, name: str = "slot"):
    """PostgreSQL's one-statement claim: a CTE inserting the lowest free slot of ``candidate``'s key.

    ``candidate`` is a CTE of the run (id, concurrency_key, concurrency_limit, created), or of a batch
    of runs, locked FOR UPDATE so that only one claimer of a run gets this far. The slot is taken only where
    ``acquire`` would take it (held + waiting ahead < limit); a slot another claimer took meanwhile
    is a conflict, ``DO NOTHING``: no row comes back and the caller falls back to ``acquire``.
    The CTE returns the id of the run that took a slot.
    """
    limit = func.coalesce(candidate.c.concurrency_limit, 1)
    held = select(func.count()).select_from(ConcurrencySlot).where(
        ConcurrencySlot.key == candidate.c.concurrency_key).scalar_subquery()
    waiter = JobResult.__table__.alias("waiter")
    # ``status || ''`` keeps the status index out of the count: with statistics from before a burst
    # of new runs PostgreSQL may pick it and walk every PENDING run; the waiting runs' partial index
    # (key, created) is the one that reads only this key's waiters.
    ahead = select(func.count()).select_from(waiter).where(
        waiter.c.concurrency_key == candidate.c.concurrency_key, waiter.c.status.concat("") == Status.PENDING,
        waiter.c.blocked_by.is_not(None), waiter.c.cancel_requested.is_(False),
        waiter.c.created < candidate.c.created, waiter.c.id != candidate.c.id,
    ).scalar_subquery()
    series = func.generate_series(0, limit - 1).table_valued("slot").render_derived(name="numbers")
    lowest_free = select(func.min(series.c.slot)).where(~exists().where(
        ConcurrencySlot.key == candidate.c.concurrency_key, ConcurrencySlot.slot == series.c.slot,
    ).correlate(candidate, series)).correlate(candidate).scalar_subquery()
    # ``count(*) OVER ()`` reads every candidate, locking its row, before the first slot goes in. A
    # batch taking a slot and then waiting for a row would deadlock with a claim holding that row
    # and waiting for the slot (the slow path, ``acquire``, or another batch).
    free = select(
        candidate.c.concurrency_key.label("key"), lowest_free.label("slot"), candidate.c.id,
        func.count().over().label("locked"),
    ).where(held + ahead < limit).subquery("free")
    acquired = cast(now, ConcurrencySlot.__table__.c.acquired.type)
    return (
        postgresql.insert(ConcurrencySlot)
        .from_select(["key", "slot", "job_result_id", "acquired"],
                     select(free.c.key, free.c.slot, free.c.id, acquired)
                     .where(free.c.slot.is_not(None), free.c.locked > 0))  # used, so the count is kept
        .on_conflict_do_nothing()
        .returning(ConcurrencySlot.job_result_id)
        .cte(name)
    )


def acquire(connection, run: KeyedRun) -> uuid.UUID | None:
    """Take a free slot of the run's key in the caller's transaction; return None, else a holder.

    Runs that waited longer go first: a slot is free for this run only beyond those waiting ahead.
    """
    held, ahead = connection.execute(
        _HELD_AND_AHEAD, {"slot_key": run.key, "slot_run": run.id, "slot_created": run.created}
    ).one()
    if held + ahead < run.limit:
        insert = _INSERT_SLOT[connection.dialect.name]
        for slot in range(run.limit):
            values = {"key": run.key, "slot": slot, "job_result_id": run.id, "acquired": utcnow()}
            if connection.execute(insert, values).first() is not None:
                return None
    return holder_of(connection, run.key) or run.id  # a run ahead of us, not yet started


def holder_of(connection, key: str) -> uuid.UUID | None:
    return connection.scalar(
        select(ConcurrencySlot.job_result_id).where(ConcurrencySlot.key == key)
        .order_by(ConcurrencySlot.acquired).limit(1)
    )


def refuse(session: Session, run: KeyedRun, holder: uuid.UUID, *, now: datetime | None = None) -> None:
    """Deal with a run that found its key busy, by its policy: end it (skip) or make it wait."""
    now = now or utcnow()
    if run.policy == "skip":
        _skip(session, run, holder, now)
        return
    if run.policy == "cancel_running":
        session.execute(
            update(JobResult)
            .where(
                JobResult.id.in_(select(ConcurrencySlot.job_result_id).where(ConcurrencySlot.key == run.key)),
                JobResult.status == Status.STARTED,
            )
            .values(cancel_requested=True)
            .execution_options(synchronize_session=False)
        )
    waiting = session.execute(
        update(JobResult)
        .where(JobResult.id == run.id, JobResult.status == Status.PENDING,
               JobResult.cancel_requested.is_(False))
        .values(blocked_by=holder, enqueued=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    # The holder may have released between our attempt and this write, seeing no waiter to wake:
    # try again now rather than at the scheduler's next look.
    if waiting and session.scalar(_held(run.key)) + session.scalar(_ahead_of(run)) < run.limit:
        send_after_commit(session, run.id, run.queue)


def _skip(session: Session, run: KeyedRun, holder: uuid.UUID, now: datetime) -> None:
    message = f"Skipped: concurrency key {run.key} is held by run {holder}."
    ended = session.execute(
        update(JobResult)
        .where(JobResult.id == run.id, JobResult.status == Status.PENDING)
        .values(status=Status.REVOKED, completed=now, error=message, blocked_by=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if ended:
        session.add(JobLogEntry(job_result_id=run.id, level="warning", grouping="run", message=message,
                                created=now))
        session.flush()
        forget_transient_input_after_commit(session, run.id)
        after_finish(session, run.id, now=now)


def release(session: Session, job_result_id: uuid.UUID) -> None:
    """Free the run's slots and wake the oldest waiters of their keys once ``session`` commits.

    Waking only sends messages (no row is locked), so a release never deadlocks with a claim.
    """
    keys = session.connection().scalars(_RELEASE, {"slot_run": job_result_id}).all()
    for key in set(keys):
        wake(session, key)


def wake(
    session: Session, key: str, *, sent_before: datetime | None = None, now: datetime | None = None
) -> int:
    """Send the oldest waiters of ``key`` that its free slots can take; return how many.

    ``sent_before`` (the scheduler's safety net) wakes only waiters not sent to since, and stamps them.
    """
    query = _WAITERS
    if sent_before is not None:
        query = query.where(func.coalesce(JobResult.enqueued, JobResult.created) < sent_before)
    waiters = session.connection().execute(query, {"slot_key": key}).all()
    if not waiters:
        return 0
    free = max(0, (waiters[0].concurrency_limit or 1) - session.scalar(_held(key)))
    woken = waiters[:free]
    for waiter in woken:
        send_after_commit(session, waiter.id, waiter.queue)
    if woken and sent_before is not None:
        session.execute(
            update(JobResult).where(JobResult.id.in_([w.id for w in woken]))
            .values(enqueued=now or utcnow()).execution_options(synchronize_session=False)
        )
    return len(woken)


def wake_waiting_runs(runtime, now: datetime) -> int:
    """Scheduler step: free slots of runs no longer STARTED, and wake waiters a lost message stranded."""
    sent_before = now - timedelta(seconds=runtime.settings.resend_pending_after_seconds)
    with runtime.db.session() as session:
        stale = session.scalars(
            delete(ConcurrencySlot)
            .where(ConcurrencySlot.job_result_id.in_(
                select(JobResult.id).where(JobResult.status != Status.STARTED)))
            .returning(ConcurrencySlot.key)
        ).all()
        keys = set(stale) | set(session.scalars(
            select(JobResult.concurrency_key).where(
                JobResult.status == Status.PENDING, JobResult.blocked_by.is_not(None),
                JobResult.cancel_requested.is_(False))
            .distinct().limit(BATCH_SIZE)
        ))
        woken = 0
        for key in keys:
            woken += wake(session, key, sent_before=None if key in stale else sent_before, now=now)
    return woken + len(stale)
