"""The one builder of PENDING JobResult rows, and the writes that send their messages on commit.

Every run starts here, whichever path asked for it (a run request, a hook fan-out, a JobRunner, a
periodic successor): a row first, its message only once that row is committed, and only when due.
A run scheduled for later is sent by the scheduler when its time comes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from service.infra.outbox import send_after_commit
from service.models import JobResult, Status


def is_due(scheduled_at: datetime | None, now: datetime) -> bool:
    return scheduled_at is None or scheduled_at <= now


def pending_row(*, now: datetime, scheduled_at: datetime | None = None, **columns: Any) -> dict[str, Any]:
    """Return a PENDING run's column values; ``enqueued`` is stamped when its message leaves on commit."""
    return {
        "id": uuid.uuid4(),
        "status": Status.PENDING,
        "created": now,
        "scheduled_at": scheduled_at,
        # Stamped in the same transaction, so recovery never takes a row about to be sent for a lost one.
        "enqueued": now if is_due(scheduled_at, now) else None,
        **columns,
    }


#: What a follow-up run (a periodic successor, a retry) takes over from the run before it.
FOLLOW_UP_COLUMNS = ("job_id", "name", "class_path", "runner", "user_id", "queue", "dryrun", "object_type",
                     "object_id", "scheduled_job_id", "input_data")


def follow_up_row(previous: JobResult, *, now: datetime, scheduled_at: datetime | None,
                  **columns: Any) -> dict[str, Any]:
    """A PENDING row for the run that follows ``previous``: its job, user, queue, object and input."""
    taken = {name: getattr(previous, name) for name in FOLLOW_UP_COLUMNS}
    return pending_row(now=now, scheduled_at=scheduled_at, **(taken | columns))


def add_pending(
    session: Session, row: dict[str, Any], transient: dict | None = None, **related: Any
) -> JobResult:
    """Add one PENDING run through the ORM (``related`` sets relationships) and send it on commit if due."""
    result = JobResult(**row)
    for name, value in related.items():
        setattr(result, name, value)
    session.add(result)
    session.flush()
    if row["enqueued"] is not None:
        send_after_commit(session, result.id, result.queue, transient)
    return result


def insert_pending(session: Session, runs: list[tuple[dict[str, Any], dict | None]]) -> None:
    """Write many PENDING runs in one INSERT, without the ORM, and send the due ones on commit."""
    if not runs:
        return
    # One executemany per set of columns: runs of different jobs may carry different columns
    # (a concurrency key or not), and every row of one executemany must bind the same ones.
    by_columns: dict[frozenset, list[dict[str, Any]]] = {}
    for row, _ in runs:
        by_columns.setdefault(frozenset(row), []).append(row)
    for rows in by_columns.values():
        session.connection().execute(insert(JobResult), rows)
    for row, transient in runs:
        if row["enqueued"] is not None:
            send_after_commit(session, row["id"], row["queue"], transient)
