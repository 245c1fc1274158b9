"""Send broker messages only once the rows they point at are committed.

The database is the source of truth: a message must never reach a worker before its JobResult
exists, and a rolled-back transaction must send nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session

from service import runtime
from service.infra.broker import enqueue_many

_PENDING_KEY = "jobsync.pending_messages"


#: How long sensitive input waits for its run before it is dropped (the run then fails, saying so).
SENSITIVE_TTL_SECONDS = 7 * 24 * 3600
_local_sensitive: dict[str, dict] = {}


def _sensitive_key(job_result_id) -> str:
    return f"jobsync:sensitive:{job_result_id}"


def stash_sensitive_input(job_result_id: uuid.UUID, data: dict) -> None:
    """Keep input that must not be stored (sensitive values, uploaded files) beside the broker.

    Never in the database, the message or a log; the worker takes it once and it is gone.
    """
    client = getattr(runtime.current().broker, "client", None)
    if client is None:
        _local_sensitive[str(job_result_id)] = data
    else:
        client.set(_sensitive_key(job_result_id), json.dumps(data), ex=SENSITIVE_TTL_SECONDS)


def take_sensitive_input(job_result_id: uuid.UUID) -> dict | None:
    """Return and forget the transient input stashed for a run, if any."""
    client = getattr(runtime.current().broker, "client", None)
    if client is None:
        return _local_sensitive.pop(str(job_result_id), None)
    raw = client.getdel(_sensitive_key(job_result_id))
    return json.loads(raw) if raw is not None else None


def send_runs(items: Iterable[tuple[uuid.UUID, str, dict | None]]) -> None:
    """Send run messages for committed rows (their ``enqueued`` time was stamped with them)."""
    current = runtime.current()
    items = list(items)
    if not items:
        return
    messages = []
    for job_result_id, queue, sensitive_data in items:
        if sensitive_data:
            stash_sensitive_input(job_result_id, sensitive_data)
        messages.append(current.actors[queue].message(str(job_result_id)))
    enqueue_many(current.broker, messages)  # one round trip on Redis for a whole fan-out


def send_after_commit(
    session: Session, job_result_id: uuid.UUID, queue: str, sensitive_data: dict | None = None
) -> None:
    """Queue a run message to be sent when ``session`` commits (dropped on rollback).

    The caller stamps the row's ``enqueued`` time in the same transaction, so the recovery step
    never mistakes a row whose message is about to leave for a lost one.
    """
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
