"""Data backends: where a repository's job code comes from, one version at a time.

A backend names the latest version of its source (a 40-hex identifier: a commit sha, or a
content hash) and materialises any version it can still reach into an empty directory. The
service stores each version once, read-only, and runs every job at the version it was synced
at, whatever the backend. Extensions add backends through their ``data_backends``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .errors import ValidationError
from .variables import Variable


@dataclasses.dataclass(frozen=True)
class BackendContext:
    """What the service hands a backend: its private work directory and the rules in force."""

    workdir: Path  # persists between syncs: caches such as git's mirror live here
    slug: str
    data_dir: Path
    allow_local: bool = False
    timeout: float = 120.0
    credentials: Any = None  # resolved from the repository's credentials reference


class DataBackend:
    """Base of data backends; declare ``parameters`` as class attributes, like job variables."""

    name: str = ""
    label: str = ""

    def __init__(self, parameters: dict[str, Any], context: BackendContext):
        self.parameters = self.validate_parameters(parameters)
        self.context = context

    @classmethod
    def parameter_variables(cls) -> dict[str, Variable]:
        """Return the declared parameters in definition order, parents first."""
        found: dict[str, Variable] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                if isinstance(value, Variable):
                    found[attr] = value
        return found

    @classmethod
    def validate_parameters(cls, parameters: dict[str, Any] | None) -> dict[str, Any]:
        """Return cleaned parameters; raises ValidationError naming every bad one."""
        given = dict(parameters or {})
        declared = cls.parameter_variables()
        errors: dict[str, list[str]] = {
            name: ["Unknown parameter."] for name in given.keys() - declared.keys()
        }
        cleaned = {}
        for name, variable in declared.items():
            try:
                cleaned[name] = variable.clean(given.get(name))
            except ValueError as exc:
                errors[name] = [str(exc)]
        if errors:
            raise ValidationError(errors)
        return cleaned

    def latest_version(self) -> str:
        """Return the identifier of the source's current version (40 lowercase hex digits)."""
        raise NotImplementedError

    def materialise(self, version: str, destination: Path) -> None:
        """Write the files of ``version`` into the empty directory ``destination``."""
        raise NotImplementedError

    def is_newer(self, candidate: str, installed: str) -> bool:
        """Return whether applying ``candidate`` over ``installed`` moves the source forward.

        Versions without an order (content hashes) are newer whenever they differ; git compares
        ancestry, so a slow sync of an older commit never rolls a repository back.
        """
        return candidate != installed
