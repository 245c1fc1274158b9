"""Where repository files live, and materialising one version of a source exactly once.

``<data_dir>/repos/<slug>/`` holds a backend's private files (e.g. git's ``mirror.git``) and one
read-only directory per version, named by its 40-hex version identifier (a commit sha, or a
content hash for other backends). A file lock per repository serialises work across processes.
"""

import fcntl
import os
import re
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from repos.naming import is_slug_shaped
from service.jobs.errors import ValidationError

__all__ = [
    "checkout_path",
    "collect_garbage",
    "materialise_version",
    "mirror_path",
    "remove_repository_files",
    "remove_tree",
    "repository_dir",
    "repository_lock",
]

_FULL_SHA = re.compile(r"[0-9a-f]{40}")


def repository_dir(data_dir: str | os.PathLike, slug: str) -> Path:
    """Return ``<data_dir>/repos/<slug>``, refusing slugs that could escape it."""
    if not is_slug_shaped(slug):
        raise ValidationError({"slug": [f"{slug!r} is not a valid repository slug."]})
    return Path(data_dir) / "repos" / slug


def mirror_path(data_dir: str | os.PathLike, slug: str) -> Path:
    """Return where the bare mirror of repository ``slug`` lives."""
    return repository_dir(data_dir, slug) / "mirror.git"


def checkout_path(data_dir: str | os.PathLike, slug: str, sha: str) -> Path:
    """Return where the read-only tree of version ``sha`` (40-hex) lives."""
    if not isinstance(sha, str) or not _FULL_SHA.fullmatch(sha):
        raise ValidationError({"commit": [f"{sha!r} is not a full lowercase 40-hex version."]})
    return repository_dir(data_dir, slug) / sha


_held_locks = threading.local()


@contextmanager
def repository_lock(data_dir: str | os.PathLike, slug: str) -> Iterator[None]:
    """Hold an exclusive flock on the repository so git operations never overlap across processes.

    Re-entrant within one thread, so a caller holding the lock may call ``fetch``.
    """
    directory = repository_dir(data_dir, slug)
    directory.mkdir(parents=True, exist_ok=True)
    # The pid is part of the key: a forked child inherits this thread's state but not the flock.
    key = (os.getpid(), str(directory.resolve()))
    held = _held_locks.__dict__.setdefault("paths", set())
    if key in held:
        yield
        return
    with open(directory / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def materialise_version(
    data_dir: str | os.PathLike, slug: str, version: str, fill: Callable[[Path], None]
) -> Path:
    """Return the read-only directory of ``version``, calling ``fill(empty_dir)`` the first time.

    Safe when several processes race: each fills a directory beside the target and renames it
    into place atomically; the loser's copy is discarded.
    """
    target = checkout_path(data_dir, slug, version)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version[:12]}-", suffix=".tmp", dir=target.parent))
    try:
        fill(staging)
        _make_read_only(staging)
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        if staging.exists():
            remove_tree(staging)
    return target


def collect_garbage(data_dir: str | os.PathLike, slug: str, keep: set[str]) -> list[str]:
    """Delete the checkouts whose sha is not in ``keep``; return the removed shas, sorted."""
    directory = repository_dir(data_dir, slug)
    if not directory.is_dir():
        return []
    removed = []
    with repository_lock(data_dir, slug):
        for entry in sorted(directory.iterdir()):
            if _FULL_SHA.fullmatch(entry.name) and entry.name not in keep and entry.is_dir():
                remove_tree(entry)
                removed.append(entry.name)
    return removed


def remove_repository_files(data_dir: str | os.PathLike, slug: str) -> None:
    """Delete the mirror, every checkout and the lock file of repository ``slug``."""
    directory = repository_dir(data_dir, slug)
    if not directory.exists():
        return
    with repository_lock(data_dir, slug):
        remove_tree(directory)


def _make_read_only(root: Path) -> None:
    for directory, _subdirectories, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & ~0o222)
        os.chmod(directory, 0o555)


def remove_tree(root: Path) -> None:
    """Delete a (possibly read-only) tree."""
    # Checkouts are read-only; deleting entries needs write permission on their directories.
    if root.is_dir() and not root.is_symlink():
        for directory, _subdirectories, _files in os.walk(root):
            os.chmod(directory, 0o755)
        shutil.rmtree(root)
    elif root.exists() or root.is_symlink():
        root.unlink()
