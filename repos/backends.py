"""The data backend registry: ``git`` and ``local`` built in, more from extensions."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from repos import git as repo_git
from repos.errors import RefNotFound, RepositoryError
from service.jobs import StringVar
from service.jobs.backends import BackendContext, DataBackend

__all__ = [
    "BackendContext",
    "GitBackend",
    "LocalDirectoryBackend",
    "UnknownBackend",
    "backend_class",
    "content_hash",
    "register_backend",
    "registered_backends",
]


class UnknownBackend(RepositoryError):
    """A repository names a backend nobody registered (e.g. its extension was removed)."""

    code = "unknown_backend"


class GitBackend(DataBackend):
    """A git remote, fetched into a bare mirror; versions are commit shas."""

    name = "git"
    label = "Git"
    remote_url = StringVar(description="https://, ssh:// or git@host:path")
    branch = StringVar(default="main", required=False, description="Branch, tag or commit")

    def _settings(self) -> repo_git.GitSettings:
        return repo_git.GitSettings(timeout=self.context.timeout, allow_local=self.context.allow_local)

    def latest_version(self) -> str:
        return repo_git.fetch(
            self.context.data_dir,
            self.context.slug,
            self.parameters["remote_url"],
            self.parameters["branch"],
            credentials=self.context.credentials,
            settings=self._settings(),
        )

    def _mirror(self) -> Path:
        return repo_git.mirror_path(self.context.data_dir, self.context.slug)

    def materialise(self, version: str, destination: Path) -> None:
        """Extract ``version``, fetching first when this host's mirror lacks it (or does not exist).

        Raises RefNotFound saying so when the remote no longer has the commit (force-pushed away).
        """
        if repo_git.has_commit(self._mirror(), version, self._settings()):
            repo_git.extract_commit(self._mirror(), version, destination, self._settings())
            return
        self.latest_version()  # another host synced it, or this data dir is new or was wiped
        try:
            repo_git.extract_commit(self._mirror(), version, destination, self._settings())
        except RefNotFound:
            raise RefNotFound(
                f"Commit {version[:12]} is no longer on the remote's branches or tags (force-pushed "
                "away?) and this host never fetched it; run the job at a commit the branch still has."
            ) from None

    def is_newer(self, candidate: str, installed: str) -> bool:
        """Return False when ``candidate`` is ``installed`` or one of its ancestors: applying it
        would move the repository backwards. Unrelated histories (a force push) count as newer."""
        if candidate == installed:
            return False
        if not repo_git.has_commit(self._mirror(), installed, self._settings()):
            self.latest_version()  # another host installed a commit pushed after this host fetched
            if not repo_git.has_commit(self._mirror(), installed, self._settings()):
                return True  # the installed head was force-pushed away: the branch moved on
        return not repo_git.is_ancestor(self._mirror(), candidate, installed, self._settings())


def content_hash(root: Path) -> str:
    """Return a 40-hex digest of every file under ``root`` (relative paths and contents)."""
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class LocalDirectoryBackend(DataBackend):
    """A directory on the server; versions are content hashes of its files."""

    name = "local"
    label = "Local directory"
    path = StringVar(description="Absolute path of a directory holding a jobs package")

    def _root(self) -> Path:
        if not self.context.allow_local:
            raise RepositoryError("Local directories are not allowed here (allow_local_repositories is off).")
        root = Path(self.parameters["path"])
        if not root.is_absolute() or not root.is_dir():
            raise RefNotFound(f"{root} is not an existing absolute directory.")
        return root

    def latest_version(self) -> str:
        return content_hash(self._root())

    def materialise(self, version: str, destination: Path) -> None:
        root = self._root()
        shutil.copytree(root, destination, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        if content_hash(destination) != version:
            raise RefNotFound(f"Version {version[:12]} of {root} is gone: the directory has changed since.")


_registry: dict[str, type[DataBackend]] = {"git": GitBackend, "local": LocalDirectoryBackend}


def register_backend(backend: type[DataBackend]) -> None:
    """Add a backend; a name already taken by another class is refused."""
    if not (isinstance(backend, type) and issubclass(backend, DataBackend)) or not backend.name:
        raise RepositoryError(f"{backend!r} is not a named DataBackend subclass.")
    existing = _registry.get(backend.name)
    if existing is not None and existing is not backend:
        raise RepositoryError(f"A data backend named {backend.name!r} is already registered.")
    _registry[backend.name] = backend


def backend_class(name: str) -> type[DataBackend]:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownBackend(
            f"No data backend named {name!r} is installed (was its extension removed?)."
        ) from None


def registered_backends() -> dict[str, type[DataBackend]]:
    return dict(_registry)

