"""Asking for many syncs at once: every repository, in one transaction and one broker round trip.

Each repository's request joins the sync already waiting for it, as ``request_sync`` does: the
locks of every repository are taken in one statement, the waiting syncs read in one query, the
missing ones written in one INSERT, and their messages leave together when the caller commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import GitRepository, JobResult, Status, utcnow
from service.runs.pending import insert_pending
from service.runs.runners import lock_identities, once_identity, runner_row
from service.sources.sync import SYNC_RUNNER, sync_call


def request_sync_all(session: Session, *, user=None, now: datetime | None = None) -> list[JobResult]:
    """Queue a sync of every repository in ``session``'s transaction; return them by repository name.

    A sync already waiting for a repository absorbs its request; the new syncs' messages leave in
    one pipelined round trip when the caller commits.
    """
    now = now or utcnow()
    repositories = session.scalars(select(GitRepository).order_by(GitRepository.name)).all()
    if not repositories:
        return []
    calls = [sync_call(repository, user=user) for repository in repositories]
    lock_identities(session, [once_identity(call.path, call.object_type, call.object_id) for call in calls])
    waiting = _waiting_syncs(session, [call.object_id for call in calls])
    rows = [runner_row(call, now=now) for call in calls if call.object_id not in waiting]
    insert_pending(session, [(row, None) for row in rows])
    chosen = {**{row["object_id"]: row["id"] for row in rows}, **waiting}
    results = {
        result.id: result
        for result in session.scalars(select(JobResult).where(JobResult.id.in_(chosen.values())))
    }
    return [results[chosen[call.object_id]] for call in calls]


def _waiting_syncs(session: Session, repository_ids: list[str]) -> dict[str, uuid.UUID]:
    """Return the oldest PENDING sync of each repository that has one, by repository id."""
    rows = session.execute(
        select(JobResult.object_id, JobResult.id)
        .where(
            JobResult.runner == SYNC_RUNNER,
            JobResult.status == Status.PENDING,
            JobResult.object_type == GitRepository.__tablename__,
            JobResult.object_id.in_(repository_ids),
        )
        .order_by(JobResult.created.desc())
    )
    return {object_id: result_id for object_id, result_id in rows}  # newest first: the oldest wins
