"""Send broker messages only once the rows they point at are committed.

The database is the source of truth: a message must never reach a worker before its JobResult
exists, and a rolled-back transaction must send nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from service import runtime
from service.models import JobResult, utcnow

_PENDING_KEY = "jobsync.pending_messages"


def send_run(job_result_id: uuid.UUID, queue: str, sensitive_data: dict | None = None) -> None:
    """Send the run message for one committed JobResult now."""
    send_runs([(job_result_id, queue, sensitive_data)])


def send_runs(items: Iterable[tuple[uuid.UUID, str, dict | None]]) -> None:
    """Send run messages and note when they left, so lost ones can be found and re-sent."""
    current = runtime.current()
    items = list(items)
    if not items:
        return
    messages = []
    for job_result_id, queue, sensitive_data in items:
        actor = current.actors[queue]
        kwargs = {"sensitive_data": sensitive_data} if sensitive_data else {}
        messages.append(actor.message(str(job_result_id), **kwargs))
    for message in messages:
        current.broker.enqueue(message)
    with current.db.session() as session:
        session.execute(update(JobResult).where(JobResult.id.in_([i[0] for i in items]))
                        .values(enqueued=utcnow()))


def send_after_commit(session: Session, job_result_id: uuid.UUID, queue: str,
                      sensitive_data: dict | None = None) -> None:
    """Queue a run message to be sent when ``session`` commits (dropped on rollback)."""
    pending = session.info.setdefault(_PENDING_KEY, [])
    if not pending and not event.contains(session, "after_commit", _flush_pending):
        event.listen(session, "after_commit", _flush_pending)
        event.listen(session, "after_rollback", _drop_pending)
    pending.append((job_result_id, queue, sensitive_data))


def _flush_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, [])
    if pending:
        send_runs(pending)


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
