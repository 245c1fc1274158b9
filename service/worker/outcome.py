"""Storing a run's outcome: its last log lines and files, the outcome, and what follows it.

What follows (a periodic run's successor, the release of its concurrency key, its next attempt,
the runs its job chains to) is written in the transaction that stores the outcome. The runs a
worker process finishes at the same moment share that transaction (service.worker.group_commit):
``finish`` returns once the transaction holding the outcome committed, so the run's message is
acked only after it. A run cancelled or declared lost meanwhile keeps that ending.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import bindparam, text, update
from sqlalchemy.orm import Session

from service.infra.outage import outage_of
from service.models import JobResult, Status, utcnow
from service.runs.chains import start_next
from service.runs.concurrency import release, wake
from service.runs.periodic import after_finish
from service.runs.retries import schedule_retry
from service.worker.claim import RUN_ID
from service.worker.group_commit import Committers
from service.worker.job_process import ChildOutcome
from service.worker.recorder import RunRecorder, write_held

logger = logging.getLogger(__name__)

_OUTCOME_FIELDS = ("status", "completed", "result", "error", "traceback", "log_counts")
_STORE_OUTCOME = (
    update(JobResult)
    .where(JobResult.id == RUN_ID, JobResult.status == Status.STARTED)
    .values({name: bindparam(f"outcome_{name}") for name in _OUTCOME_FIELDS})
)
_STORE_OUTCOME_NOTING_INTERVAL = _STORE_OUTCOME.returning(JobResult.interval)
# PostgreSQL stores a batch of plain endings (log lines and outcomes, no files) in one statement that
# is its own transaction: one round trip and one execution whatever the batch's size, rows as arrays.
# The same statement frees the slots of the keyed runs among them (only of runs it ended: one
# cancelled or declared lost meanwhile was released by whoever ended it) and returns the freed keys
# that have waiters, the only ones worth a wake-up (a run with a key of its own costs nothing more).
_STORE_PLAIN_ENDINGS = text(f"""
WITH logs AS (
    INSERT INTO job_log_entries (id, job_result_id, level, grouping, message, object, created)
    SELECT * FROM unnest(CAST(:log_ids AS uuid[]), CAST(:log_runs AS uuid[]), CAST(:levels AS varchar[]),
                         CAST(:groupings AS varchar[]), CAST(:messages AS text[]), CAST(:objects AS json[]),
                         CAST(:created AS timestamptz[]))
), ended AS (
    UPDATE job_results AS run
    SET status = ending.status, completed = ending.completed, result = ending.result, error = ending.error,
        traceback = ending.traceback, log_counts = ending.log_counts
    FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS varchar[]), CAST(:completed AS timestamptz[]),
                CAST(:results AS json[]), CAST(:errors AS text[]), CAST(:tracebacks AS text[]),
                CAST(:counts AS json[]))
         AS ending (id, status, completed, result, error, traceback, log_counts)
    WHERE run.id = ending.id AND run.status = '{Status.STARTED}'
    RETURNING run.id
), freed AS (
    DELETE FROM concurrency_slots AS slot USING ended
    WHERE slot.job_result_id = ended.id
    RETURNING slot.key
)
SELECT DISTINCT freed.key FROM freed
WHERE EXISTS (SELECT FROM job_results AS waiter  -- ix_job_results_waiting ('||': not by status)
              WHERE waiter.concurrency_key = freed.key AND waiter.blocked_by IS NOT NULL
                    AND waiter.status || '' = '{Status.PENDING}' AND NOT waiter.cancel_requested)
""")


@dataclasses.dataclass(frozen=True)
class OutcomeWrite:
    """Everything one run's ending writes, ready to join a transaction."""

    run_id: uuid.UUID
    rows: list[dict]
    files: list[dict]
    parameters: dict
    keyed: bool = False
    retry: bool = False
    lost: bool = False
    chain: tuple[str, ...] | None = None
    periodic: bool = False

    @property
    def plain(self) -> bool:
        """Nothing follows it: the outcome is one UPDATE, batched with the others'."""
        return not self.keyed and self.plain_but_for_key

    @property
    def plain_but_for_key(self) -> bool:
        """Nothing follows it but its key's release (which PostgreSQL's batched statement does)."""
        return not (self.periodic or self.retry) and self.chain is None


def outcome_write(
    job_result_id: uuid.UUID, outcome: ChildOutcome, recorder: RunRecorder, *, periodic: bool = True,
    keyed: bool = True, known_queues: tuple[str, ...] = (),
) -> OutcomeWrite:
    """Build what storing ``outcome`` writes, with the log lines and files ``recorder`` still holds."""
    counts = dict(recorder.counts) or dict(outcome.log_counts or {})
    values = dict(status=outcome.status, completed=utcnow(), result=outcome.result, error=outcome.error,
                  traceback=outcome.traceback, log_counts=counts)
    parameters = {"run_id": job_result_id, **{f"outcome_{name}": values[name] for name in _OUTCOME_FIELDS}}
    # A failure by a retried exception, or by a job process that died, may have a next attempt.
    died = outcome.killed == "died"
    return OutcomeWrite(
        job_result_id, list(recorder.pending), list(recorder.files), parameters, keyed=keyed,
        retry=outcome.status == Status.FAILURE and (outcome.retryable or died), lost=died,
        chain=known_queues if outcome.chained else None, periodic=periodic,
    )


def finish(
    db, job_result_id: uuid.UUID, outcome: ChildOutcome, recorder: RunRecorder, *, periodic: bool = True,
    keyed: bool = True, known_queues: tuple[str, ...] = (),
) -> None:
    """Store the outcome and what follows it; return once committed (may be retried through an outage).

    ``periodic=False`` says the run has no interval, ``keyed=False`` that it holds no key;
    ``known_queues`` are where runs its job chains to may go.
    """
    write = outcome_write(job_result_id, outcome, recorder, periodic=periodic, keyed=keyed,
                          known_queues=known_queues)
    committer_for(db).submit(write)
    # Kept until written: a failed finish is retried with the same lines.
    recorder.pending, recorder.files = recorder.pending[len(write.rows):], recorder.files[len(write.files):]


def commit_batch(db, writes: Sequence[OutcomeWrite]) -> None:
    """Write several runs' endings in one transaction (a session only if one needs what follows)."""
    if _in_one_statement(db, writes):
        _store_plain_endings(db, writes)
        return
    rows = [row for write in writes for row in write.rows]
    files = [file for write in writes for file in write.files]
    plain = [write.parameters for write in writes if write.plain]
    followed = [write for write in writes if not write.plain]
    if not followed:
        with db.engine.begin() as connection:
            write_held(connection, rows, files)
            connection.execute(_STORE_OUTCOME, plain)
        return
    with db.session() as session:
        connection = session.connection()
        write_held(connection, rows, files)
        if plain:
            connection.execute(_STORE_OUTCOME, plain)
        for write in followed:
            _store_and_follow(session, write)


def commit_one(db, write: OutcomeWrite) -> None:
    """Write one run's ending in its own transaction; if what follows it fails, store the outcome alone."""
    if _in_one_statement(db, [write]):
        _store_plain_endings(db, [write])
        return
    if write.plain:
        _store_outcome(db, write)
        return
    try:  # the last log lines, the outcome and the successor in one transaction
        with db.session() as session:
            write_held(session.connection(), write.rows, write.files)
            _store_and_follow(session, write)
    except Exception as exc:  # never lose the outcome (the scheduler frees a slot left behind)
        if outage_of(exc) is not None:
            raise  # retried whole by the caller
        logger.exception("run %s: could not schedule what follows it", write.run_id)
        _store_outcome(db, write)


def _store_and_follow(session: Session, write: OutcomeWrite) -> None:
    stored = session.connection().execute(_STORE_OUTCOME_NOTING_INTERVAL, write.parameters).first()
    if stored is None:
        return  # cancelled or declared lost meanwhile: that ending stands, nothing follows
    if write.keyed:
        release(session, write.run_id)
    retried = write.retry and schedule_retry(
        session, write.run_id, lost=write.lost, now=write.parameters["outcome_completed"]) is not None
    if write.chain is not None:
        start_next(session, write.run_id, known_queues=write.chain, retrying=retried)
    if stored.interval:  # only periodic runs have anything to follow
        after_finish(session, write.run_id)


def _in_one_statement(db, writes: Sequence[OutcomeWrite]) -> bool:
    return not db.is_sqlite and all(write.plain_but_for_key and not write.files for write in writes)


def _store_plain_endings(db, writes: Sequence[OutcomeWrite]) -> None:
    rows = [row for write in writes for row in write.rows]
    endings = [write.parameters for write in writes]
    with db.autocommit_engine.connect() as connection:
        awaited = connection.scalars(_STORE_PLAIN_ENDINGS, {
            "log_ids": [row["id"] for row in rows],
            "log_runs": [row["job_result_id"] for row in rows],
            "levels": [row["level"] for row in rows],
            "groupings": [row.get("grouping") or "run" for row in rows],
            "messages": [row.get("message") or "" for row in rows],
            "objects": [json.dumps(row.get("object")) for row in rows],
            "created": [_aware(row.get("created")) for row in rows],
            "ids": [ending["run_id"] for ending in endings],
            "statuses": [ending["outcome_status"] for ending in endings],
            "completed": [ending["outcome_completed"] for ending in endings],
            "results": [json.dumps(ending["outcome_result"]) for ending in endings],
            "errors": [ending["outcome_error"] for ending in endings],
            "tracebacks": [ending["outcome_traceback"] for ending in endings],
            "counts": [json.dumps(ending["outcome_log_counts"]) for ending in endings],
        }).all()
    if awaited:
        _wake(db, awaited)


def _wake(db, keys: Sequence[str]) -> None:
    """Wake the oldest waiters of keys the committed endings freed (the scheduler's safety net wakes
    them if this fails: the outcomes are stored, so the failure is not the endings')."""
    try:
        with db.session() as session:
            for key in keys:
                wake(session, key)
    except Exception:
        logger.warning("could not wake the waiters of %s: the scheduler will", ", ".join(keys),
                       exc_info=True)


def _aware(moment: datetime | None) -> datetime:
    """A log line's time as UTCDateTime stores it (a naive time is taken as UTC)."""
    if moment is None:
        return utcnow()
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _store_outcome(db, write: OutcomeWrite) -> None:
    """Write the last log lines, files and the outcome in one transaction."""
    with db.engine.begin() as connection:
        write_held(connection, write.rows, write.files)
        connection.execute(_STORE_OUTCOME, write.parameters)


#: The group committer of a database in this process (one per database, shared by its threads).
committer_for: Committers[OutcomeWrite, None] = Committers(commit_batch, commit_one)
