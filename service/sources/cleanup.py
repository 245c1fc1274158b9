"""Cleanup on every host: each worker prunes its own checkouts and the files of deleted repositories.

Hosts share no disk, so the host that ran a sync cannot clean the others: every worker runs
``clean_host`` at start and every ``host_cleanup_seconds`` on its own thread. A checkout is kept
while something may run it (``pins``) or while it is among the ``keep_checkouts`` newest.
"""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path

from sqlalchemy import select

from repos.checkouts import collect_garbage, remove_repository_files, repository_dir
from repos.naming import is_slug_shaped
from service.models import GitRepository
from service.sources.pins import pinned_commits

logger = logging.getLogger(__name__)


def prune_repository(current, repository_id: uuid.UUID, slug: str) -> list[str]:
    """Drop this host's checkouts of one repository that nothing pins; return the removed shas."""
    with current.db.session() as session:
        keep = pinned_commits(session, repository_id)
    directory = repository_dir(current.settings.data_dir, slug)
    if not directory.is_dir():
        return []
    recent = sorted(
        (p for p in directory.iterdir() if p.is_dir() and len(p.name) == 40),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )[: current.settings.keep_checkouts]
    keep |= {p.name for p in recent}
    return collect_garbage(current.settings.data_dir, slug, keep)


def clean_host(current) -> dict[str, list[str]]:
    """Prune every repository's checkouts on this host and delete the files of removed repositories.

    Returns ``{"pruned": [slug/sha...], "removed": [slug...]}``.
    """
    root = Path(current.settings.data_dir) / "repos"
    report: dict[str, list[str]] = {"pruned": [], "removed": []}
    if not root.is_dir():
        return report
    with current.db.session() as session:
        known = {
            slug: repository_id
            for slug, repository_id in session.execute(select(GitRepository.slug, GitRepository.id))
        }
    for entry in sorted(root.iterdir()):
        if not entry.is_dir() or not is_slug_shaped(entry.name):
            continue
        if entry.name in known:
            pruned = prune_repository(current, known[entry.name], entry.name)
            report["pruned"] += [f"{entry.name}/{sha}" for sha in pruned]
        elif not _registered(current, entry.name):  # asked again: it may have been added just now
            remove_repository_files(current.settings.data_dir, entry.name)
            report["removed"].append(entry.name)
    return report


def _registered(current, slug: str) -> bool:
    with current.db.session() as session:
        return session.scalar(select(GitRepository.id).where(GitRepository.slug == slug)) is not None


class HostCleaner:
    """A worker's thread running ``clean_host`` at start and then every ``host_cleanup_seconds``."""

    def __init__(self, current):
        self.current = current
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="jobsync-host-cleanup")

    def start(self) -> HostCleaner:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                report = clean_host(self.current)
                if report["pruned"] or report["removed"]:
                    logger.info("host cleanup: pruned %s, removed %s", report["pruned"], report["removed"])
            except Exception:  # a failed pass is retried next time; the worker must live on
                logger.warning("host cleanup failed", exc_info=True)
            self._stop.wait(self.current.settings.host_cleanup_seconds)
