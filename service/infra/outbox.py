"""Send broker messages only once the rows they point at are committed.

The database is the source of truth: a message must never reach a worker before its JobResult
exists, and a rolled-back transaction must send nothing. The bootstrap puts one ``Outbox`` in every
session's ``info`` (through the sessionmaker), so use cases queue messages on the session they
write with and never look up a broker themselves.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from service.infra.broker import enqueue_many
from service.infra.outage import BROKER, outage_of, outages
from service.infra.transient_input import TransientInputStore
from service.models import JobResult, Status

logger = logging.getLogger(__name__)

_PENDING_KEY = "jobsync.pending_messages"
_FORGET_KEY = "jobsync.forget_transient_input"
_OUTBOX_KEY = "jobsync.outbox"
_MESSAGES_KEY = "jobsync.pending_other_messages"


class Outbox:
    """Sends run messages to the run actors of one broker, keeping transient input beside it."""

    def __init__(self, broker, actors: dict):
        self.broker = broker
        self.actors = actors
        self.transient = TransientInputStore(broker)

    def send_runs(self, items: Iterable[tuple[uuid.UUID, str, dict | None]]) -> None:
        """Send run messages for committed rows, in one round trip on Redis for a whole fan-out."""
        messages = []
        for job_result_id, queue, transient in items:
            if transient:
                self.transient.stash(job_result_id, transient)
            messages.append(self.actors[queue].message(str(job_result_id)))
        if messages:
            enqueue_many(self.broker, messages)

    def install(self, database) -> None:
        """Make every session of ``database`` find this outbox."""
        database.sessionmaker.configure(info={_OUTBOX_KEY: self})


def outbox_of(session: Session) -> Outbox:
    """Return the outbox the bootstrap attached to ``session``'s database."""
    try:
        return session.info[_OUTBOX_KEY]
    except KeyError:
        raise RuntimeError("this session's database has no outbox: build it with service.bootstrap") from None


def send_after_commit(
    session: Session, job_result_id: uuid.UUID, queue: str, transient: dict | None = None
) -> None:
    """Queue a run message to be sent when ``session`` commits (dropped on rollback).

    The caller stamps the row's ``enqueued`` time in the same transaction, so the recovery step
    never mistakes a row whose message is about to leave for a lost one.
    """
    _listen(session)
    session.info.setdefault(_PENDING_KEY, []).append((job_result_id, queue, transient))


def send_message_after_commit(session: Session, message) -> None:
    """Queue any other Dramatiq ``message`` (a notification's) to be sent when ``session`` commits."""
    _listen(session)
    session.info.setdefault(_MESSAGES_KEY, []).append(message)


def forget_transient_input_after_commit(session: Session, job_result_id: uuid.UUID) -> None:
    """Drop a run's transient input once ``session`` commits the end it wrote (it will never start)."""
    _listen(session)
    session.info.setdefault(_FORGET_KEY, []).append(job_result_id)


def _listen(session: Session) -> None:
    if not event.contains(session, "after_commit", _flush_pending):
        event.listen(session, "after_commit", _flush_pending)
        event.listen(session, "after_rollback", _drop_pending)


def _flush_pending(session: Session) -> None:
    pending, forgotten = session.info.pop(_PENDING_KEY, []), session.info.pop(_FORGET_KEY, [])
    others = session.info.pop(_MESSAGES_KEY, [])  # notifications: their rows stay pending if lost
    try:
        if pending:
            outbox_of(session).send_runs(pending)
        if others:
            enqueue_many(outbox_of(session).broker, others)
        for job_result_id in forgotten:
            outbox_of(session).transient.drop(job_result_id)
    except Exception as exc:
        # The rows are committed, so the work is accepted: the scheduler re-sends runs whose
        # message did not leave (service.scheduling.recovery). Failing here would tell the
        # caller its request failed, and a client retrying it would run the job twice.
        if outage_of(exc) is None:
            raise
        outages.down(BROKER, exc)
        _mark_unsent(session, [job_result_id for job_result_id, _, _ in pending])
        return
    if pending and outages.is_down(BROKER):
        outages.up(BROKER)


def _mark_unsent(session: Session, ids: list[uuid.UUID]) -> None:
    """Clear the runs' ``enqueued`` stamp so the scheduler's next tick re-sends them (best effort:
    if this fails too, it re-sends them after ``resend_pending_after_seconds``)."""
    if not ids:
        return
    try:
        with session.get_bind().begin() as connection:
            connection.execute(
                update(JobResult)
                .where(JobResult.id.in_(ids), JobResult.status == Status.PENDING)
                .values(enqueued=None)
            )
    except Exception as exc:
        if outage_of(exc) is None:
            raise
        logger.warning("could not mark %d unsent run(s) for an early re-send", len(ids))


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
    session.info.pop(_FORGET_KEY, None)
    session.info.pop(_MESSAGES_KEY, None)
