"""Keys a job's function computes: the worker stores them on the run it claimed, then takes a slot.

A run of a job whose ``Meta.concurrency_key`` is a function is created with its limit and policy but
no key (``service.runs.concurrency.run_columns``): the key is repository code's answer, so only the
worker may ask it, in the job's child, once it has claimed the run (PENDING -> STARTED, no slot).
``attach`` then stores the key and takes a slot of it in one transaction, or hands the run back by
its policy exactly as a claim of a busy template key does: PENDING and waiting (``blocked_by``), with
its key stored so it is never computed again and is woken in order, or REVOKED (``skip``). A run
whose key is stored is claimed from then on like any keyed run.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update

from service.models import JobResult, Status, utcnow
from service.runs.concurrency import KeyedRun, acquire, refuse


class Attached(enum.Enum):
    """What became of a run whose computed key was attached."""

    HELD = "held"  # it holds a slot of its key: run it
    WAITING = "waiting"  # handed back PENDING, waiting for its key (queue, cancel_running)
    SKIPPED = "skipped"  # ended REVOKED naming the key's holder (skip)
    CANCELLED = "cancelled"  # a cancel came while its key was computed: end it REVOKED, holding nothing
    GONE = "gone"  # no longer this worker's (declared lost meanwhile): leave it alone


@dataclass(frozen=True)
class KeyPending:
    """What computing and attaching a run's key needs beyond what its claim read."""

    id: uuid.UUID
    limit: int
    policy: str
    created: datetime
    queue: str
    object_type: str | None
    object_id: str | None

    def keyed(self, key: str) -> KeyedRun:
        return KeyedRun(self.id, key, self.limit, self.policy, self.created, self.queue)


def awaits_key(run) -> bool:
    """Whether a claimed run (its row's ``concurrency_key`` and ``_policy``) has its key still to compute."""
    return run.concurrency_key is None and run.concurrency_policy is not None


_RUN, _WORKER = bindparam("late_run"), bindparam("late_worker")
_PENDING = select(JobResult.id, JobResult.concurrency_limit, JobResult.concurrency_policy, JobResult.created,
                  JobResult.queue, JobResult.object_type, JobResult.object_id).where(JobResult.id == _RUN)
_MINE = (JobResult.id == _RUN, JobResult.status == Status.STARTED, JobResult.worker_id == _WORKER)
_STORE_KEY = update(JobResult).where(*_MINE).values(concurrency_key=bindparam("late_key"))
# As if never claimed, so the policy deals with it as with a run of a busy template key.
_HAND_BACK = (
    update(JobResult).where(*_MINE, JobResult.cancel_requested.is_(False))
    .values(concurrency_key=bindparam("late_key"), status=Status.PENDING, started=None, heartbeat=None,
            worker_id=None, attempts=JobResult.attempts - 1)
)


def read_pending(db, run_id: uuid.UUID) -> KeyPending | None:
    with db.autocommit_engine.connect() as connection:  # one statement: no transaction to open
        row = connection.execute(_PENDING, {"late_run": run_id}).first()
    if row is None:
        return None
    return KeyPending(row.id, row.concurrency_limit or 1, row.concurrency_policy or "queue", row.created,
                      row.queue, row.object_type, row.object_id)


def attach(db, run: KeyedRun, *, worker: str, now: datetime | None = None) -> Attached:
    """Store ``run.key`` on the STARTED run ``worker`` claimed and take a slot of it, in one
    transaction; else hand the run back by its policy, its key stored, in another."""
    parameters = {"late_run": run.id, "late_worker": worker, "late_key": run.key}
    with db.engine.connect() as connection, connection.begin() as transaction:
        if not connection.execute(_STORE_KEY, parameters).rowcount:
            return Attached.GONE
        holder = acquire(connection, run)
        if holder is None:
            return Attached.HELD
        transaction.rollback()  # nobody saw the key taken: the policy deals with the run below
    with db.session() as session:
        connection = session.connection()
        if connection.execute(_HAND_BACK, parameters).rowcount:
            refuse(session, run, holder, now=now or utcnow())
            return Attached.SKIPPED if run.policy == "skip" else Attached.WAITING
        if connection.execute(_STORE_KEY, parameters).rowcount:
            return Attached.CANCELLED  # it stays STARTED, holding no slot, for its worker to end REVOKED
    return Attached.GONE
