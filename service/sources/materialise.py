"""Materialising a run's pinned commit on this host: its own mirror, fetched on demand, no shared disk.

A host that never synced the repository, or whose data dir was wiped, creates its mirror and fetches
the commit the first time a run needs it; a host that already holds the checkout reads no row and
takes no lock. Runs fetch with ``run_fetch_timeout_seconds``, shorter than a sync's, so a hanging
remote fails the run quickly with an honest message instead of stalling the host's workers.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from repos.checkouts import checkout_path, materialise_version
from repos.errors import RepositoryError
from service.errors import ServiceError
from service.models import GitRepository
from service.sources.repositories import open_backend


class CommitUnavailable(ServiceError):
    """This host cannot get the run's commit: the remote is down, hangs, or no longer has it."""

    code = "commit_unavailable"


def ensure_run_checkout(db, settings, repository_id: uuid.UUID | None, slug: str, commit: str) -> Path:
    """Return this host's checkout of ``commit``, fetching and extracting it first if it is missing.

    Raises CommitUnavailable saying why (remote unreachable or timed out, commit gone, repository
    removed).
    """
    target = checkout_path(settings.data_dir, slug, commit)
    if target.is_dir():  # the warm path: no database read, no lock
        return target

    def fill(directory: Path) -> None:  # only when missing: the repository row is read just then
        with db.session() as session:
            repository = session.get(GitRepository, repository_id) if repository_id else None
            if repository is None:
                raise CommitUnavailable("its repository was removed")
            backend = open_backend(repository, settings, timeout=settings.run_fetch_timeout_seconds)
        backend.materialise(commit, directory)

    try:
        return materialise_version(settings.data_dir, slug, commit, fill)
    except RepositoryError as exc:
        raise CommitUnavailable(
            f"commit {commit[:12]} of {slug} is not available on this host: {exc}"
        ) from None
