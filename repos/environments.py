"""Content-addressed dependency environments, built with uv under ``<data_dir>/envs/<key>``.

A declaration is resolved once (``uv pip compile``) into a pinned set; the environment's key is a
hash of that set plus this interpreter's version and platform, so commits and repositories with
the same set share one directory. An environment is a plain ``--target`` folder of packages that
children put ahead of the service's own on ``sys.path`` (``activate``); the service never imports it.

A build happens in a scratch folder renamed into place only when complete, under a per-key file
lock: a build that was interrupted is never mistaken for an environment, and concurrent builders of
one key wait for the first and reuse its work. uv runs with the allow-listed environment that
repository code gets, without the capabilities that read other processes (same trust as repository
code: installing packages runs their build code).
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from repos.declarations import Declaration
from repos.errors import InstallFailed, ResolutionFailed
from repos.process_guard import child_environment, drop_ptrace_capability

__all__ = [
    "Environment",
    "MARKER",
    "PackageSource",
    "activate",
    "collect_garbage",
    "ensure_environment",
    "environment_key",
    "environment_path",
    "environments_dir",
    "load_environment",
    "platform_tag",
    "prepare",
    "resolve",
    "touch",
]

MARKER = ".jobsync-environment.json"
_SCRATCH_PREFIX = ".building-"
_SECRET_IN_URL = re.compile(r"(?<=://)[^/@\s]+@")
# uv explains a failed resolution starting from the package at fault: "Because <name> was not found",
# "Because there is no version of <name>==3", "Because all versions of <name> depend on ...".
_PACKAGE_IN_MESSAGE = re.compile(
    r"Because (?:there (?:is|are) no versions? of |all versions of |only )?([A-Za-z0-9][A-Za-z0-9._-]*)"
)


@dataclasses.dataclass(frozen=True)
class PackageSource:
    """Where packages come from: an index URL (None: uv's default) and folders or URLs of wheels.

    With find_links and no index URL, only find_links is searched: an offline build.
    """

    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    timeout: float = 600.0

    def arguments(self) -> list[str]:
        arguments = [item for link in self.find_links for item in ("--find-links", link)]
        if not self.index_url and self.find_links:
            arguments.append("--no-index")
        return arguments

    def variables(self) -> dict[str, str]:
        """The index URL goes to uv in its environment, never its command line (``ps`` shows that)."""
        return {"UV_DEFAULT_INDEX": self.index_url} if self.index_url else {}

    @property
    def fingerprint(self) -> str:
        return json.dumps([self.index_url, list(self.find_links)])


@dataclasses.dataclass(frozen=True)
class Environment:
    """A built environment: its key, folder, pinned requirements and installed package versions."""

    key: str
    path: Path
    requirements: str
    packages: dict[str, str]


def environments_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / "envs"


def environment_path(data_dir: str | Path, key: str) -> Path:
    return environments_dir(data_dir) / key


def platform_tag() -> str:
    """This interpreter's implementation, version and platform: part of every key."""
    return f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}-{sysconfig.get_platform()}"


def environment_key(requirements: str) -> str:
    """Hash a pinned requirement set with this interpreter's platform tag."""
    lines = sorted({line.strip() for line in requirements.splitlines() if line.strip()}, key=str.lower)
    return hashlib.sha256("\n".join([platform_tag(), *lines]).encode()).hexdigest()[:32]


def prepare(data_dir: str | Path, declaration: Declaration, source: PackageSource) -> Environment:
    """Resolve ``declaration`` (once per distinct declaration) and build its environment if missing.

    Raises ResolutionFailed or InstallFailed with uv's message, naming the package when it can.
    """
    return ensure_environment(data_dir, resolve(data_dir, declaration, source), source)


def resolve(data_dir: str | Path, declaration: Declaration, source: PackageSource) -> str:
    """Return the pinned set for ``declaration``; remembered per declaration, so a resync is a file read."""
    digest = hashlib.sha256(f"{declaration.digest}\n{source.fingerprint}\n{platform_tag()}".encode())
    remembered = environments_dir(data_dir) / ".resolved" / f"{digest.hexdigest()[:32]}.txt"
    if remembered.is_file():
        return remembered.read_text()
    if declaration.pinned:
        pinned = "\n".join(declaration.requirements) + "\n"
    else:
        pinned = _compile(data_dir, declaration, source)
    _write_atomically(remembered, pinned)
    return pinned


def ensure_environment(data_dir: str | Path, requirements: str, source: PackageSource) -> Environment:
    """Return the environment of a pinned set, building it under its lock if this machine lacks it."""
    key = environment_key(requirements)
    built = load_environment(data_dir, key)
    if built is not None:
        return built
    with _build_lock(data_dir, key):
        built = load_environment(data_dir, key)  # another builder finished while we waited
        if built is not None:
            return built
        return _build(data_dir, key, requirements, source)


def load_environment(data_dir: str | Path, key: str) -> Environment | None:
    """Return the complete environment ``key``, or None (missing, or never finished)."""
    path = environment_path(data_dir, key)
    try:
        record = json.loads((path / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return Environment(key=key, path=path, requirements=record["requirements"], packages=record["packages"])


def activate(path: str | Path) -> None:
    """Put an environment ahead of everything else on ``sys.path`` (its .pth files processed too)."""
    import site

    before = list(sys.path)
    site.addsitedir(str(path))
    added = [entry for entry in sys.path if entry not in before]
    sys.path[:] = added + before


def collect_garbage(data_dir: str | Path, keep: Iterable[str], *, keep_unused: int = 0) -> list[str]:
    """Remove environments not in ``keep`` beyond the ``keep_unused`` most recently used; return keys."""
    root = environments_dir(data_dir)
    if not root.is_dir():
        return []
    keep = set(keep)
    unused = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )[keep_unused:]
    removed = []
    for path in unused:
        with _build_lock(data_dir, path.name):
            shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def touch(path: str | Path) -> None:
    """Mark an environment folder as just used (housekeeping keeps the most recently used)."""
    try:
        os.utime(path)
    except OSError:
        pass


# --- building -----------------------------------------------------------------------------


@contextmanager
def _build_lock(data_dir: str | Path, key: str):
    locks = environments_dir(data_dir) / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{key}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(data_dir: str | Path, key: str, requirements: str, source: PackageSource) -> Environment:
    root = environments_dir(data_dir)
    for stale in root.glob(f"{_SCRATCH_PREFIX}{key}-*"):  # interrupted builds: we hold the lock
        shutil.rmtree(stale, ignore_errors=True)
    final = environment_path(data_dir, key)
    if final.exists():  # a folder without its marker was never finished: rebuild it
        shutil.rmtree(final)
    scratch = root / f"{_SCRATCH_PREFIX}{key}-{uuid.uuid4().hex[:8]}"
    scratch.mkdir(parents=True)
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=root, delete=False) as listing:
            listing.write(requirements)
        try:
            _uv(data_dir, ["pip", "install", "--target", str(scratch), "--no-deps", "-r", listing.name],
                source, InstallFailed)
        finally:
            os.unlink(listing.name)
        packages = _installed_packages(scratch)
        record = {"key": key, "platform": platform_tag(), "requirements": requirements, "packages": packages}
        (scratch / MARKER).write_text(json.dumps(record, indent=1, sort_keys=True))
        os.rename(scratch, final)  # the commit point: a complete environment appears at once
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return Environment(key=key, path=final, requirements=requirements, packages=packages)


def _compile(data_dir: str | Path, declaration: Declaration, source: PackageSource) -> str:
    with tempfile.TemporaryDirectory(dir=_ensure(environments_dir(data_dir))) as scratch:
        if declaration.uv_lock is not None:
            return _export_lock(data_dir, declaration, source, Path(scratch))
        listing = Path(scratch) / "requirements.in"
        listing.write_text("\n".join(declaration.requirements) + "\n")
        output = _uv(
            data_dir,
            ["pip", "compile", str(listing), "--no-header", "--no-annotate", "--quiet"],
            source,
            ResolutionFailed,
        )
    return "\n".join(line for line in output.splitlines() if line.strip() and not line.startswith("#")) + "\n"


def _export_lock(data_dir, declaration: Declaration, source: PackageSource, scratch: Path) -> str:
    """Read the pinned set out of a uv.lock (frozen: never re-resolved, no network)."""
    (scratch / "uv.lock").write_text(declaration.uv_lock or "")
    (scratch / "pyproject.toml").write_text(declaration.pyproject or "")
    output = _uv(
        data_dir,
        ["export", "--frozen", "--no-hashes", "--no-header", "--no-emit-project", "--format",
         "requirements-txt", "--project", str(scratch)],
        PackageSource(),  # export reads the lock only
        ResolutionFailed,
        with_python=False,
    )
    lines = [line.strip() for line in output.splitlines()]
    return "\n".join(line for line in lines if line and not line.startswith(("#", "-e", "."))) + "\n"


def _uv(data_dir, arguments: list[str], source: PackageSource, failure: type, *, with_python=True) -> str:
    from uv import find_uv_bin

    command = [find_uv_bin(), *arguments, *source.arguments()]
    if with_python:
        command += ["--python", sys.executable]
    environment = child_environment()  # as much of this process as repository code sees
    environment.update(
        UV_CACHE_DIR=str(environments_dir(data_dir) / ".cache"),
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
        **source.variables(),
    )
    try:
        done = subprocess.run(command, env=environment, capture_output=True, text=True,
                              timeout=source.timeout, stdin=subprocess.DEVNULL,
                              preexec_fn=drop_ptrace_capability)  # builds run package code
    except subprocess.TimeoutExpired:
        raise failure(f"uv did not finish within {source.timeout:g} s.") from None
    if done.returncode != 0:
        message = _SECRET_IN_URL.sub("***@", _summarise(done.stderr))
        raise failure(message, package=_package_named(message))
    return done.stdout


def _summarise(stderr: str) -> str:
    lines = [line.rstrip() for line in stderr.splitlines() if line.strip()]
    return " ".join(line.strip() for line in lines)[:2000] or "uv failed without a message."


def _package_named(message: str) -> str | None:
    found = _PACKAGE_IN_MESSAGE.search(message)
    return found.group(1) if found else None


def _installed_packages(target: Path) -> dict[str, str]:
    packages = {}
    for info in target.glob("*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        packages[name.replace("_", "-").lower()] = version
    return dict(sorted(packages.items()))


def _write_atomically(path: Path, text: str) -> None:
    _ensure(path.parent)
    scratch = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    scratch.write_text(text)
    os.replace(scratch, path)


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
