"""Real git repositories for tests, made and changed by small helpers (after pre-commit's fixtures)."""

import os
import subprocess
import textwrap
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity and no user configuration; return its stdout."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def write_files(repo: Path, files: dict[str, str]) -> None:
    """Write each ``relative path -> source`` (dedented) into the working tree."""
    for relative, content in files.items():
        path = repo / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))


def commit(repo: Path, message: str = "change") -> str:
    """Stage everything and commit; return the new commit's sha."""
    git(repo, "add", "--all")
    git(repo, "commit", "--allow-empty", "--no-gpg-sign", "-m", message)
    return head(repo)


def head(repo: Path, ref: str = "HEAD") -> str:
    """Return the sha ``ref`` points at."""
    return git(repo, "rev-parse", ref)


def make_work_repo(path: Path, files: dict[str, str] | None = None, branch: str = "main") -> Path:
    """Create a working repository on ``branch`` with one commit holding ``files``."""
    path.mkdir(parents=True)
    git(path, "init", "--quiet", f"--initial-branch={branch}")
    write_files(path, files or {"README.md": "jobs\n"})
    commit(path, "initial")
    return path


def make_remote(tmp_path: Path, files: dict[str, str] | None = None) -> tuple[Path, Path]:
    """Create a working repository and a bare remote it has pushed ``main`` to; return (work, remote)."""
    work = make_work_repo(tmp_path / "work", files)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    git(work, "remote", "add", "origin", str(remote))
    push(work, "main")
    return work, remote


def push(work: Path, branch: str, *, force: bool = False) -> None:
    """Push ``branch`` to origin, force-pushing when asked."""
    git(work, "push", "--quiet", *(["--force"] if force else []), "origin", f"{branch}:{branch}")


def delete_remote_branch(work: Path, branch: str) -> None:
    """Delete ``branch`` on origin."""
    git(work, "push", "--quiet", "origin", "--delete", branch)


def orphan_commit(work: Path, files: dict[str, str], branch: str = "main") -> str:
    """Replace ``branch`` with a new commit that shares no history with it; return its sha."""
    git(work, "checkout", "--quiet", "--orphan", "rewritten")
    git(work, "rm", "-r", "--quiet", "--cached", ".")
    for path in list(work.iterdir()):
        if path.name != ".git":
            _remove(path)
    write_files(work, files)
    sha = commit(work, "rewritten history")
    git(work, "branch", "--quiet", "-M", branch)
    return sha


def _remove(path: Path) -> None:
    if path.is_dir():
        for child in path.iterdir():
            _remove(child)
        path.rmdir()
    else:
        path.unlink()
