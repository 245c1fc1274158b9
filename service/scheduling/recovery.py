"""Finding work the broker lost or a dead worker left behind: scheduler steps.

The database is the source of truth: a PENDING row whose message never left, left before the
run was due, or left long ago without being claimed is sent again (the worker's atomic claim
makes a duplicate harmless); a STARTED row whose heartbeat stopped (each worker process stamps
its runs, ``service.worker.engine``) ends FAILURE "worker lost", or is re-queued once when its job
asks for that (``retry_on_worker_lost``); a job that also declares ``retries`` gets a new attempt
instead, on its backoff, like any other retried failure (service.runs.retries).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from service.infra.broker import enqueue_many
from service.infra.outbox import forget_transient_input_after_commit, send_after_commit
from service.models import JobLogEntry, JobResult, Status
from service.notifications import events as notify
from service.runs.chains import start_next
from service.runs.concurrency import release
from service.runs.periodic import after_finish
from service.runs.retries import retry_policy_of, schedule_retry

logger = logging.getLogger(__name__)

#: Rows handled per step and tick, so one tick stays short however large a backlog grows.
BATCH_SIZE = 500
#: Runs of a job marked ``retry_on_worker_lost`` are re-queued after a lost worker this often.
WORKER_LOST_RETRIES = 1


def _waiting_unsent(now: datetime, resend_before: datetime):
    """PENDING, due, and either never sent, sent before it was due, or sent before ``resend_before``."""
    due = or_(JobResult.scheduled_at.is_(None), JobResult.scheduled_at <= now)
    unsent = or_(
        JobResult.enqueued.is_(None),
        JobResult.enqueued < resend_before,
        and_(JobResult.scheduled_at.is_not(None), JobResult.enqueued < JobResult.scheduled_at),
    )
    # A run waiting for its concurrency key is woken when the key frees (runs.concurrency), not resent.
    return and_(
        JobResult.status == Status.PENDING,
        JobResult.cancel_requested.is_(False),
        JobResult.blocked_by.is_(None),
        due,
        unsent,
    )


def send_waiting_runs(runtime, now: datetime) -> int:
    """Send due PENDING runs whose message never left or was lost; return how many were sent."""
    resend_before = now - timedelta(seconds=runtime.settings.resend_pending_after_seconds)
    condition = _waiting_unsent(now, resend_before)
    with runtime.db.session() as session:
        ids = session.scalars(
            select(JobResult.id).where(condition).order_by(JobResult.created).limit(BATCH_SIZE)
        ).all()
        if not ids:
            return 0
        # The condition again in the UPDATE: of several schedulers, only one claims each send.
        claimed = session.execute(
            update(JobResult)
            .where(JobResult.id.in_(ids), condition)
            .values(enqueued=now)
            .returning(JobResult.id, JobResult.queue)
            .execution_options(synchronize_session=False)
        ).all()
    return _send(runtime, claimed, now)


def _send(runtime, claimed: list, now: datetime) -> int:
    unknown = [row.id for row in claimed if row.queue not in runtime.actors]
    # One pipelined round trip on Redis, however many a broker outage left to re-send.
    enqueue_many(runtime.broker, [runtime.actors[row.queue].message(str(row.id))
                                  for row in claimed if row.queue in runtime.actors])
    if unknown:
        with runtime.db.session() as session:
            session.execute(
                update(JobResult)
                .where(JobResult.id.in_(unknown), JobResult.status == Status.PENDING)
                .values(
                    status=Status.FAILURE,
                    completed=now,
                    error="Its queue is no longer configured, so no worker serves it.",
                )
                .execution_options(synchronize_session=False)
            )
            for job_result_id in unknown:
                forget_transient_input_after_commit(session, job_result_id)
    if claimed:
        logger.info("sent %d waiting run(s)", len(claimed) - len(unknown))
    return len(claimed)


def _lost(cutoff: datetime):
    return and_(
        JobResult.status == Status.STARTED, func.coalesce(JobResult.heartbeat, JobResult.started) < cutoff
    )


def fail_lost_runs(runtime, now: datetime) -> int:
    """End (or re-queue once) STARTED runs whose worker stopped beating; return how many."""
    cutoff = now - timedelta(seconds=runtime.settings.worker_lost_seconds)
    with runtime.db.session() as session:
        ids = session.scalars(select(JobResult.id).where(_lost(cutoff)).limit(BATCH_SIZE)).all()
    done = 0
    for job_result_id in ids:
        with runtime.db.session() as session:
            acted = recover_lost_run(session, job_result_id, cutoff=cutoff, now=now,
                                     known_queues=runtime.settings.all_queues)
        if acted:
            _notify_if_failed(runtime, job_result_id)
        done += acted
    return done


def _notify_if_failed(runtime, job_result_id: uuid.UUID) -> None:
    """A run ended FAILURE because its worker was lost: the rules for failed runs hear of it too."""
    with runtime.db.session() as session:
        run = session.execute(
            select(JobResult.id, JobResult.runner, JobResult.job_id, JobResult.queue, JobResult.commit,
                   JobResult.status, JobResult.error).where(JobResult.id == job_result_id)
        ).first()
    if run is not None and run.status == Status.FAILURE:
        notify.run_finished(runtime, run, run.status, run.error)


def _may_retry(result: JobResult) -> bool:
    """Re-queue a lost run once if its job (or JobRunner) is safe to repeat and declares no retries
    (with retries it gets a new attempt instead: service.runs.retries). The policy is None when its
    input held sensitive values or files, handed to the first attempt only: a retry would lack them."""
    policy = retry_policy_of(result)
    return (
        policy is not None
        and policy.on_worker_lost
        and not policy.retries
        and result.attempts <= WORKER_LOST_RETRIES
        and not result.cancel_requested
    )


def recover_lost_run(
    session: Session, job_result_id: uuid.UUID, *, cutoff: datetime, now: datetime,
    known_queues: tuple[str, ...] = (),
) -> int:
    """Re-queue or end one lost run if it is still lost (starting what it chains to when it ends
    FAILURE); return 1 if this call acted on it."""
    result = session.scalar(
        select(JobResult)
        .options(joinedload(JobResult.job))
        .where(JobResult.id == job_result_id, _lost(cutoff))
    )
    if result is None:
        return 0
    since = f"{(result.heartbeat or result.started):%Y-%m-%d %H:%M:%S} UTC"
    where = (JobResult.id == result.id, _lost(cutoff))
    if _may_retry(result):
        values = dict(status=Status.PENDING, started=None, heartbeat=None, worker_id=None, enqueued=now)
        message, level = f"Worker lost (no heartbeat since {since}): re-queued.", "warning"
    else:
        status = Status.REVOKED if result.cancel_requested else Status.FAILURE
        message, level = f"Worker lost: no heartbeat from its worker since {since}.", "failure"
        values = dict(status=status, completed=now, error=message)
    if not session.execute(
        update(JobResult).where(*where).values(**values).execution_options(synchronize_session=False)
    ).rowcount:
        return 0  # another scheduler got there first, or the worker came back
    session.add(
        JobLogEntry(job_result_id=result.id, level=level, grouping="run", message=message, created=now)
    )
    session.flush()
    session.expire(result)
    release(session, result.id)  # a lost run holds its concurrency key no longer
    if values["status"] == Status.PENDING:
        send_after_commit(session, result.id, result.queue)
    else:
        retried = values["status"] == Status.FAILURE and schedule_retry(
            session, result.id, lost=True, now=now) is not None
        start_next(session, result.id, known_queues=known_queues, retrying=retried)
        after_finish(session, result.id, now=now)
    logger.warning("run %s: %s", result.id, message)
    return 1
