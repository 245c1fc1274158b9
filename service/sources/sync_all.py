"""Asking for many syncs at once: every repository, each coalesced with the sync already waiting."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import GitRepository, JobResult
from service.sources.sync import request_sync


def request_sync_all(session: Session, *, user=None) -> list[JobResult]:
    """Queue a sync of every repository, by name; one already waiting absorbs its repository's request.

    ``session`` only lists the repositories: each request commits on its own, so pass a session
    that has written nothing yet (SQLite allows one writer at a time).
    """
    repositories = session.scalars(select(GitRepository).order_by(GitRepository.name)).all()
    return [request_sync(repository, user=user) for repository in repositories]
