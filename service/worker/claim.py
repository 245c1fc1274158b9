"""Claiming a run: the one conditional UPDATE (PENDING -> STARTED) that makes delivery idempotent.

A message delivered twice runs once. The claim also reads what running the job needs as plain
columns, so no ORM object and no open connection is held while the job runs. On PostgreSQL the
claims a worker process's threads make at the same moment are one statement (group commit,
service.worker.group_commit): an idle worker claims alone at once, a busy one pays one round trip
and one commit for many runs. Each row still names the thread that claimed it.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime

from sqlalchemy import Row, String, Uuid, any_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from service.models import GitRepository, Job, JobResult, Status, User, utcnow
from service.runs.concurrency import KeyedRun, acquire, refuse, take_free_slot
from service.worker.group_commit import Committers

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def worker_id() -> str:
    return f"{WORKER_ID}:{threading.get_ident()}"


_NOW, RUN_ID = bindparam("claim_now"), bindparam("run_id")
# A claim finds its run by primary key alone: ``status || ''`` cannot use the status index, which
# PostgreSQL otherwise picks with statistics from before a burst of new runs, walking past every
# PENDING run for each claim (the checks stay: they are re-evaluated on the row being claimed).
_IS_PENDING = JobResult.status.concat("") == Status.PENDING

# Built once: the hot path runs these for every job, and SQLAlchemy memoises a reused statement's
# cache key, so each execution goes straight to the compiled form.
_CLAIMABLE = (
    _IS_PENDING,
    JobResult.cancel_requested.is_(False),
    (JobResult.scheduled_at.is_(None)) | (JobResult.scheduled_at <= _NOW),
)
_CLAIMED_VALUES = dict(status=Status.STARTED, started=_NOW, heartbeat=_NOW, attempts=JobResult.attempts + 1)
_CLAIM = (
    update(JobResult)
    .where(JobResult.id == RUN_ID, *_CLAIMABLE)
    .values(worker_id=bindparam("claim_worker"), **_CLAIMED_VALUES)
)

# Most runs have no concurrency key: their claim stays one statement. A keyed run is claimed in a
# transaction that also takes a slot of its key (service.runs.concurrency), or is rolled back.
_CLAIM_FREE = _CLAIM.where(JobResult.concurrency_key.is_(None))
_CLAIM_KEYED = (
    _CLAIM.where(JobResult.concurrency_key.is_not(None))
    .values(blocked_by=None)
    .returning(JobResult.id, JobResult.concurrency_key, JobResult.concurrency_limit,
               JobResult.concurrency_policy, JobResult.created, JobResult.queue)
)

# What running a claimed result needs, as plain columns: no ORM objects on the hot path.
_RUN_COLUMNS = (
    "id", "runner", "interval", "commit", "environment_key", "dryrun", "input_data", "user_id", "job_id",
    "concurrency_key", "concurrency_policy", "queue", "class_path", "enqueued",
)
_DETAILS = (
    User.username,
    Job.source,
    Job.module_name,
    Job.job_class_name,
    Job.repository_id,
    GitRepository.slug.label("repository_slug"),
    Job.soft_time_limit,
    Job.time_limit,
    Job.has_sensitive_variables,
    Job.variables,
    Job.installed.label("job_installed"),  # metrics label runs by job only while it is installed
)


def _run_details(runs, columns: tuple[str, ...] = _RUN_COLUMNS):
    """Select ``columns`` of ``runs`` (the table, or the claim's RETURNING) with their job's details."""
    return (
        select(*(runs.c[name] for name in columns), *_DETAILS)
        .select_from(runs)
        .outerjoin(Job, runs.c.job_id == Job.id)
        .outerjoin(GitRepository, Job.repository_id == GitRepository.id)
        .outerjoin(User, runs.c.user_id == User.id)
    )


_CLAIMED_RUN = _run_details(JobResult.__table__).where(JobResult.id == RUN_ID)
# PostgreSQL claims and reads in one statement (UPDATE ... RETURNING in a WITH clause), a keyed run
# together with a free slot of its key: its row is locked first (FOR UPDATE, so a duplicate claimer
# waits and then finds it STARTED), the slot is inserted ON CONFLICT DO NOTHING, and the run is
# updated only if that insert returned it. No free slot (or a lost race for one): nothing changes,
# and ``_claim_keyed`` takes the slow path, which applies the key's policy.
_KEYED_CANDIDATE = (
    select(JobResult.id, JobResult.concurrency_key, JobResult.concurrency_limit, JobResult.created)
    .where(JobResult.id == RUN_ID, *_CLAIMABLE, JobResult.concurrency_key.is_not(None))
    .with_for_update()
    .cte("candidate")
)
_SLOT = take_free_slot(_KEYED_CANDIDATE, _NOW)
_CLAIM_WITH_SLOT = _CLAIM.where(
    or_(JobResult.concurrency_key.is_(None), JobResult.id.in_(select(_SLOT.c.job_result_id)))
).values(blocked_by=None)
_CLAIM_RETURNING_RUN = _run_details(
    _CLAIM_WITH_SLOT.returning(*(JobResult.__table__.c[name] for name in _RUN_COLUMNS)).cte("claimed")
)
# A batch of claims: the runs and the threads claiming them as arrays. Keyed runs take slots as a
# lone claim does, their rows locked in id order (two batches holding one run never deadlock); two
# runs of a batch picking one slot conflict, and the one left without it is tried alone.
_BATCH_IDS = bindparam("claim_ids", type_=ARRAY(Uuid()))
_BATCH_WORKERS = bindparam("claim_workers", type_=ARRAY(String()))
_BATCH = func.unnest(_BATCH_IDS, _BATCH_WORKERS).table_valued("id", "worker").render_derived("batch")
_BATCH_KEYED = (
    select(JobResult.id, JobResult.concurrency_key, JobResult.concurrency_limit, JobResult.created)
    .where(JobResult.id == any_(_BATCH_IDS), *_CLAIMABLE, JobResult.concurrency_key.is_not(None))
    .order_by(JobResult.id)
    .with_for_update()
    .cte("candidates")
)
_BATCH_SLOTS = take_free_slot(_BATCH_KEYED, _NOW, name="slots")
_CLAIM_MANY_RETURNING_RUNS = _run_details(
    update(JobResult)
    .where(JobResult.id == _BATCH.c.id, *_CLAIMABLE,
           or_(JobResult.concurrency_key.is_(None), JobResult.id.in_(select(_BATCH_SLOTS.c.job_result_id))))
    .values(worker_id=_BATCH.c.worker, blocked_by=None, **_CLAIMED_VALUES)
    .returning(*(JobResult.__table__.c[name] for name in (*_RUN_COLUMNS, "worker_id")))
    .cte("claimed"),
    (*_RUN_COLUMNS, "worker_id"),
)


def _claim_parameters(job_result_id: uuid.UUID, now: datetime | None) -> dict:
    return {"run_id": job_result_id, "claim_now": now or utcnow(), "claim_worker": worker_id()}


def claim(db, job_result_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """Atomically move a due, uncancelled PENDING result to STARTED; False if someone else did."""
    return claim_and_load(db, job_result_id, now=now) is not None


def claim_and_load(db, job_result_id: uuid.UUID, *, now: datetime | None = None) -> Row | None:
    """Claim the run and read what running it needs, atomically; None if not ours (or it must wait)."""
    parameters = _claim_parameters(job_result_id, now)
    if db.is_sqlite:  # no UPDATE inside WITH: two statements in one transaction
        with db.engine.begin() as connection:
            if connection.execute(_CLAIM_FREE, parameters).rowcount == 1:
                return connection.execute(_CLAIMED_RUN, parameters).one()
    else:
        # A claim at a given moment (tests) goes alone; the worker's join its threads' others. A
        # claim a batch did not take (say, two runs of a batch wanted one slot) is tried alone.
        run = None if now is not None else claims_for(db).submit(parameters)
        if run is _TRY_ALONE or now is not None:
            run = _claim_one(db, parameters)
        if run is not None:
            return run
    return _claim_keyed(db, parameters)


#: What a batch answers for a claim it did not take: a run with a key, already taken, or not due.
_TRY_ALONE = object()


def _claim_one(db, parameters: dict) -> Row | None:
    """Claim one run (with a free slot of its key, if it has one) in one statement."""
    with db.autocommit_engine.connect() as connection:  # one statement is its own transaction
        return connection.execute(_CLAIM_RETURNING_RUN, parameters).first()


def _claim_many(db, batch: list[dict]) -> list:
    """Claim a batch of runs (keyed ones with a slot) in one statement: each its row, or ``_TRY_ALONE``."""
    with db.autocommit_engine.connect() as connection:
        rows = connection.execute(_CLAIM_MANY_RETURNING_RUNS, {
            "claim_ids": [parameters["run_id"] for parameters in batch],
            "claim_workers": [parameters["claim_worker"] for parameters in batch],
            "claim_now": utcnow(),
        }).all()
    # A run sent twice to two threads of this process is claimed once: by the thread its row names.
    claimed = {(row.id, row.worker_id): row for row in rows}
    return [claimed.get((parameters["run_id"], parameters["claim_worker"]), _TRY_ALONE)
            for parameters in batch]


#: The claim committer of a database in this process (PostgreSQL), shared by its threads.
claims_for: Committers[dict, Row | None] = Committers(_claim_many, _claim_one)


def _claim_keyed(db, parameters: dict) -> Row | None:
    """Claim a run with a concurrency key together with a slot of its key, or apply its policy."""
    with db.engine.connect() as connection, connection.begin() as transaction:
        row = connection.execute(_CLAIM_KEYED, parameters).first()
        if row is None:
            return None  # not PENDING, not due, cancelled, or claimed by someone else
        run = KeyedRun(row.id, row.concurrency_key, row.concurrency_limit or 1,
                       row.concurrency_policy or "queue", row.created, row.queue)
        holder = acquire(connection, run)
        if holder is None:
            return connection.execute(_CLAIMED_RUN, parameters).one()
        transaction.rollback()  # nobody ever saw it STARTED
    with db.session() as session:
        refuse(session, run, holder, now=parameters["claim_now"])
    return None


_OURS_ALREADY = _run_details(JobResult.__table__).where(
    JobResult.id == RUN_ID,
    JobResult.status == Status.STARTED,
    JobResult.worker_id == bindparam("claim_worker"),
)


def claimed_by_this_thread(db, job_result_id: uuid.UUID) -> Row | None:
    """Read a run this thread's earlier claim already took (its reply was lost to an outage)."""
    with db.engine.connect() as connection:
        return connection.execute(
            _OURS_ALREADY, {"run_id": job_result_id, "claim_worker": worker_id()}
        ).first()


def _may_have_transient_input(run: Row) -> bool:
    """Only sensitive jobs and jobs taking files stash input beside the broker (see runs.py)."""
    return run.source is not None and (
        run.has_sensitive_variables or any(v.get("type") == "FileVar" for v in run.variables or [])
    )
