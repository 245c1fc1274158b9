"""Read the dependencies a checkout declares at its root; pure (reads files, runs nothing).

Looked for in this order, the first found wins:

- ``requirements.lock`` (a pinned file, e.g. from ``uv pip compile``): installed as it is, not
  resolved again;
- ``requirements.txt``;
- ``pyproject.toml`` ``[project] dependencies``.

A ``uv.lock`` beside a ``pyproject.toml`` makes the pyproject's dependencies resolve with the lock's
pins (``uv export --frozen``), done by ``repos.environments``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from pathlib import Path

from repos.errors import DeclarationInvalid

__all__ = ["Declaration", "PINNED_FILES", "read_declaration"]

PINNED_FILES = ("requirements.lock",)
REQUIREMENTS_FILE = "requirements.txt"
PYPROJECT_FILE = "pyproject.toml"
UV_LOCK_FILE = "uv.lock"


@dataclasses.dataclass(frozen=True)
class Declaration:
    """What a commit declares: requirement lines, where they came from, and whether they are pinned."""

    source: str  # the file at the checkout's root that declared them
    requirements: tuple[str, ...]
    pinned: bool = False  # a lock: install exactly these, do not resolve
    uv_lock: str | None = None  # the text of uv.lock, when the pyproject's set is locked by it
    pyproject: str | None = None  # the pyproject.toml text uv.lock belongs to

    @property
    def digest(self) -> str:
        """A hash of what was declared: equal declarations resolve once (see repos.environments)."""
        text = "\n".join((self.source, str(self.pinned), *self.requirements, self.uv_lock or "",
                          self.pyproject or ""))
        return hashlib.sha256(text.encode()).hexdigest()


def read_declaration(checkout: str | Path) -> Declaration | None:
    """Return the checkout's declared dependencies, or None when it declares none.

    Raises DeclarationInvalid when a declaration file cannot be read or parsed.
    """
    root = Path(checkout)
    for name in PINNED_FILES:
        if (root / name).is_file():
            return _from_requirements(root / name, pinned=True)
    if (root / REQUIREMENTS_FILE).is_file():
        return _from_requirements(root / REQUIREMENTS_FILE, pinned=False)
    if (root / PYPROJECT_FILE).is_file():
        return _from_pyproject(root)
    return None


def _from_requirements(path: Path, *, pinned: bool) -> Declaration | None:
    lines = tuple(_requirement_lines(_read_text(path)))
    for line in lines:
        if line.startswith("-"):  # -r, -e, --index-url...: would reach outside the checkout or index
            raise DeclarationInvalid(f"{path.name}: options are not allowed ({line.split()[0]}).")
    return Declaration(source=path.name, requirements=lines, pinned=pinned) if lines else None


def _requirement_lines(text: str) -> list[str]:
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line:
            lines.append(line)
    return lines


def _from_pyproject(root: Path) -> Declaration | None:
    text = _read_text(root / PYPROJECT_FILE)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DeclarationInvalid(f"{PYPROJECT_FILE} is not valid TOML: {exc}") from None
    dependencies = data.get("project", {}).get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise DeclarationInvalid(f"{PYPROJECT_FILE}: [project] dependencies must be a list of strings.")
    if not dependencies:
        return None
    lock = root / UV_LOCK_FILE
    return Declaration(
        source=PYPROJECT_FILE,
        requirements=tuple(d.strip() for d in dependencies),
        uv_lock=_read_text(lock) if lock.is_file() else None,
        pyproject=text if lock.is_file() else None,
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DeclarationInvalid(f"{path.name} could not be read: {exc}") from None
