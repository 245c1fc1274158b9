"""Fetch job repositories into bare mirrors and materialise one immutable checkout per commit.

The only module that imports GitPython. Layout under ``data_dir``::

    repos/<slug>/.lock          flock serialising git operations on this repository across processes
    repos/<slug>/mirror.git     bare mirror; the remote URL is passed per fetch, never stored
    repos/<slug>/<sha>/         read-only tree of one commit, created once by an atomic rename

Every git call runs with prompts disabled, an allow-list of protocols, a timeout, and errors
translated to ``repos.errors`` with git's stderr scrubbed of URL userinfo and known secrets.
"""

import os
import re
import signal
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from git import GitCommandError, GitCommandNotFound, Repo

from repos.checkouts import (
    checkout_path,
    collect_garbage,
    materialise_version,
    mirror_path,
    remove_repository_files,
    remove_tree,
    repository_dir,
    repository_lock,
)
from repos.credentials import (
    Credentials,
    credentials_environment,
    resolve_credentials,
    validate_credentials_reference,
)
from repos.errors import (
    CredentialNotPinned,
    GitCommandFailed,
    RefNotFound,
    RemoteUnreachable,
    RepositoryError,
)
from repos.remotes import scrub, validate_ref, validate_remote_url

__all__ = [
    "Credentials",
    "DEFAULT_TIMEOUT",
    "GitSettings",
    "checkout_path",
    "collect_garbage",
    "ensure_checkout",
    "extract_commit",
    "fetch",
    "has_commit",
    "is_ancestor",
    "mirror_path",
    "remove_repository_files",
    "repository_dir",
    "repository_lock",
    "resolve_credentials",
    "validate_credentials_reference",
    "validate_ref",
    "validate_remote_url",
]

T = TypeVar("T")
DEFAULT_TIMEOUT = 120.0
FETCH_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
_FULL_SHA = re.compile(r"[0-9a-f]{40}")
_ABBREVIATED_SHA = re.compile(r"[0-9a-fA-F]{4,40}")
_MISSING_REF_HINTS = ("couldn't find remote ref", "no such ref")


@dataclass(frozen=True)
class GitSettings:
    """How git may be run: the per-command timeout and whether local paths/file:// are allowed."""

    timeout: float = DEFAULT_TIMEOUT
    allow_local: bool = False

    @property
    def allowed_protocols(self) -> str:
        """Return the GIT_ALLOW_PROTOCOL value: git refuses every transport not listed."""
        return "https:ssh:file" if self.allow_local else "https:ssh"


DEFAULT_SETTINGS = GitSettings()


def fetch(
    data_dir: str | os.PathLike,
    slug: str,
    remote_url: str,
    ref: str,
    *,
    credentials: Credentials | None = None,
    settings: GitSettings = DEFAULT_SETTINGS,
) -> str:
    """Update the mirror from ``remote_url`` and return the 40-hex commit ``ref`` points at.

    ``ref`` is tried as a branch, then a tag, then a commit sha present in the mirror.
    Raises ValidationError (bad URL/ref), CredentialNotPinned (``credentials`` may not go to this
    remote's host), RemoteUnreachable, RefNotFound, GitCommandFailed.
    """
    validate_remote_url(remote_url, allow_local=settings.allow_local)
    validate_ref(ref)
    if credentials is not None and not credentials.allows(remote_url):
        raise CredentialNotPinned(
            f"Credential {credentials.reference!r} is not pinned to this remote's host.")
    secrets = credentials.redactions() if credentials else []
    with repository_lock(data_dir, slug):
        mirror = _ensure_mirror(data_dir, slug, settings)
        with credentials_environment(credentials) as credential_env:
            env = {**_base_environment(settings), **credential_env}
            with Repo(mirror) as repo:
                _run(
                    lambda: repo.git.fetch(
                        "--prune",
                        "--force",
                        "--no-write-fetch-head",
                        "--",
                        remote_url,
                        *FETCH_REFSPECS,
                        env=env,
                        kill_after_timeout=settings.timeout,
                    ),
                    secrets,
                    remote_url=remote_url,
                    timeout=settings.timeout,
                )
        sha = _resolve_commit(mirror, ref, settings)
    if sha is None:
        raise RefNotFound(f"No branch, tag or commit {ref!r} in {scrub(remote_url, secrets)}.")
    return sha


def ensure_checkout(
    data_dir: str | os.PathLike, slug: str, sha: str, *, settings: GitSettings = DEFAULT_SETTINGS
) -> Path:
    """Return the read-only tree of commit ``sha``, extracting it from the mirror the first time.

    Raises RefNotFound if the mirror does not hold the commit (fetch first).
    """
    target = checkout_path(data_dir, slug, sha)
    if target.is_dir():
        return target
    mirror = mirror_path(data_dir, slug)
    if not mirror.is_dir():
        raise RefNotFound(f"Commit {sha} cannot be checked out: repository {slug!r} was never fetched.")
    return materialise_version(
        data_dir, slug, sha, lambda staging: extract_commit(mirror, sha, staging, settings)
    )


def _base_environment(settings: GitSettings) -> dict[str, str]:
    # Empty askpass variables plus GIT_TERMINAL_PROMPT=0 mean git fails instead of asking anyone.
    return {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GCM_INTERACTIVE": "never",
        "GIT_ALLOW_PROTOCOL": settings.allowed_protocols,
    }


def _local_options(settings: GitSettings) -> dict:
    """Return the execute options every git call gets: the safe environment and the timeout."""
    return {"env": _base_environment(settings), "kill_after_timeout": settings.timeout}


def _ensure_mirror(data_dir: str | os.PathLike, slug: str, settings: GitSettings) -> Path:
    mirror = mirror_path(data_dir, slug)
    if mirror.is_dir():
        return mirror
    staging = Path(tempfile.mkdtemp(prefix=".mirror-", suffix=".tmp", dir=mirror.parent))
    try:
        _run(lambda: Repo.init(staging, bare=True, expand_vars=False, **_local_options(settings)).close(), [])
        os.rename(staging, mirror)
    finally:
        if staging.exists():
            remove_tree(staging)
    return mirror


def _resolve_commit(mirror: Path, ref: str, settings: GitSettings) -> str | None:
    candidates = [f"refs/heads/{ref}", f"refs/tags/{ref}"]
    if ref.startswith("refs/"):
        candidates.insert(0, ref)
    if _ABBREVIATED_SHA.fullmatch(ref):
        candidates.append(ref.lower())
    with Repo(mirror) as repo:
        for candidate in candidates:
            try:
                sha = repo.git.rev_parse(
                    "--verify", "--quiet", f"{candidate}^{{commit}}", **_local_options(settings)
                )
            except GitCommandError:
                continue
            if _FULL_SHA.fullmatch(sha):
                return sha
    return None


def has_commit(mirror: Path, sha: str, settings: GitSettings = DEFAULT_SETTINGS) -> bool:
    """Return whether this host's mirror holds commit ``sha`` (False when there is no mirror yet)."""
    if not (mirror / "HEAD").is_file():
        return False
    with Repo(mirror) as repo:
        try:
            repo.git.cat_file("-e", f"{sha}^{{commit}}", **_local_options(settings))
        except GitCommandError:
            return False
    return True


def is_ancestor(mirror: Path, older: str, newer: str, settings: GitSettings = DEFAULT_SETTINGS) -> bool:
    """Return whether commit ``older`` is ``newer`` or one of its ancestors (both must be in the mirror)."""
    with Repo(mirror) as repo:
        try:
            repo.git.merge_base("--is-ancestor", older, newer, **_local_options(settings))
        except GitCommandError:
            return False
    return True


def extract_commit(mirror: Path, sha: str, destination: Path, settings: GitSettings) -> None:
    """Write commit ``sha``'s tree into ``destination``; raises RefNotFound when the mirror lacks it.

    The check comes before the mirror is opened, so a host that never fetched (or whose data dir
    was wiped) gets RefNotFound, which callers answer by fetching.
    """
    if not has_commit(mirror, sha, settings):
        raise RefNotFound(f"Commit {sha} is not in this host's mirror.")
    with Repo(mirror) as repo:
        with tempfile.TemporaryFile(dir=destination.parent) as archive:
            _run(
                lambda: repo.git.archive(
                    "--format=tar", sha, output_stream=archive, **_local_options(settings)
                ),
                [],
            )
            archive.seek(0)
            with tarfile.open(fileobj=archive, mode="r:") as tar:
                tar.extractall(destination, filter=_safe_member)


def _safe_member(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
    # Skip (rather than fail on) members the "data" filter refuses, e.g. links pointing outside the tree.
    try:
        return tarfile.data_filter(member, destination)
    except tarfile.FilterError:
        return None


def _run(
    command: Callable[[], T],
    secrets: list[str],
    *,
    remote_url: str | None = None,
    timeout: float | None = None,
) -> T:
    """Run a GitPython call, turning its errors into ours with git's stderr scrubbed.

    The error is raised outside the ``except`` block so the original, unscrubbed exception is not
    attached as ``__context__`` for a logger or error tracker to print.
    """
    error: RepositoryError
    try:
        return command()
    except GitCommandNotFound:
        error = GitCommandFailed("The git executable was not found.")
    except GitCommandError as exc:
        error = _translate(exc, secrets, remote_url=remote_url, timeout=timeout)
    raise error


def _translate(
    exc: GitCommandError, secrets: list[str], *, remote_url: str | None, timeout: float | None
) -> RepositoryError:
    detail = scrub(_stderr_text(exc), secrets)
    if remote_url is None:
        return GitCommandFailed(f"git {_subcommand(exc)} failed: {detail}")
    where = scrub(remote_url, secrets)
    # GitPython kills a command that outlives kill_after_timeout; its "Timeout:" note can lose the race.
    if detail.startswith("Timeout:") or exc.status == -signal.SIGKILL:
        return RemoteUnreachable(f"Fetching {where} timed out after {timeout:g} s.")
    if any(hint in detail for hint in _MISSING_REF_HINTS):
        return RefNotFound(f"{where}: {detail}")
    return RemoteUnreachable(f"Could not fetch {where}: {detail}")


def _stderr_text(exc: GitCommandError) -> str:
    text = exc.stderr or ""
    match = re.fullmatch(r"\s*stderr: '(.*)'\s*", text, flags=re.DOTALL)
    text = match.group(1) if match else text
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines[-5:]) or f"exit status {exc.status}"


def _subcommand(exc: GitCommandError) -> str:
    command = [str(part) for part in exc.command[1:2]] if isinstance(exc.command, list | tuple) else []
    return command[0] if command else ""
