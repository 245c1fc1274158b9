"""Choosing the commit a run executes: any commit its repository has synced, by full or short sha.

The API calls it ``source_commit`` (``commit`` is Nautobot's "not a dry run"), the CLI ``--at``.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import ValidationError
from service.models import GitRepository, Job, JobResult

SYNC_RUNNER = "jobsync.sync_repository"  # SyncRepository.runner_name, stable by contract
_SHA = re.compile(r"[0-9a-f]{4,40}")
#: How many of a repository's latest syncs are searched for the commits they installed.
RECENT_SYNCS = 1000


def synced_commits(session: Session, job: Job) -> set[str]:
    """Return the commits ``job``'s repository is known to have synced (heads, its runs' commits)."""
    head = session.scalar(select(GitRepository.current_head).where(GitRepository.id == job.repository_id))
    commits = {sha for sha in (job.commit, head) if sha}
    commits |= set(
        session.scalars(
            select(JobResult.commit).where(JobResult.job_id == job.id, JobResult.commit.is_not(None))
        )
    )
    results = session.scalars(
        select(JobResult.result)
        .where(JobResult.runner == SYNC_RUNNER, JobResult.object_id == str(job.repository_id))
        .order_by(JobResult.created.desc())
        .limit(RECENT_SYNCS)
    )
    for result in results:
        head = result.get("new_head") if isinstance(result, dict) else None
        if isinstance(head, str) and not result.get("dryrun"):
            commits.add(head)
    return commits


def resolve_source_commit(session: Session, job: Job, ref: str) -> str:
    """Return the full sha ``ref`` names among the commits ``job``'s repository synced.

    Raises ValidationError on ``source_commit`` when the job is not from git, ``ref`` is not a sha,
    or no single synced commit matches it.
    """
    ref = (ref or "").strip().lower()
    if job.source != "git" or job.repository_id is None:
        raise ValidationError(
            {"source_commit": ["Only jobs from a git repository can run at a chosen commit."]}
        )
    if not _SHA.fullmatch(ref):
        raise ValidationError({"source_commit": [f"{ref[:50]!r} is not a commit sha (4 to 40 hex digits)."]})
    matches = sorted(sha for sha in synced_commits(session, job) if sha.startswith(ref))
    if not matches:
        raise ValidationError({"source_commit": [f"The repository never synced a commit {ref}."]})
    if len(matches) > 1:
        raise ValidationError({"source_commit": [f"{ref} names several synced commits; give more digits."]})
    return matches[0]
