"""Which commits of a repository a host must keep checked out: the ones something may still run."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import GitRepository, Job, JobResult, Status


def pinned_commits(session: Session, repository_id: uuid.UUID) -> set[str]:
    """Return the head, every job's synced commit and the commits of waiting or running runs."""
    keep = set(
        session.scalars(select(Job.commit).where(Job.repository_id == repository_id, Job.commit.is_not(None)))
    )
    keep |= set(
        session.scalars(
            select(JobResult.commit)
            .join(Job, JobResult.job_id == Job.id)
            .where(
                Job.repository_id == repository_id,
                JobResult.status.in_((Status.PENDING, Status.STARTED)),
                JobResult.commit.is_not(None),
            )
        )
    )
    head = session.scalar(select(GitRepository.current_head).where(GitRepository.id == repository_id))
    if head:
        keep.add(head)
    return keep
