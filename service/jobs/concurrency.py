"""Concurrency keys: the ``Meta.concurrency_key`` template, checked at registration, filled per run.

A key is a ``str.format`` template over the run's variables and its context (``job``, ``user``,
``object_type``, ``object_id``): ``"device:{device}"``, ``"site:{site.slug}"``, ``"repo"``.
Attribute access reaches into mapping values, so ``{site.slug}`` reads ``data["site"]["slug"]``.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from typing import Any

#: What a run's waiting policy may be when its key is at its limit.
POLICIES = ("queue", "skip", "cancel_running")
#: Names a key template may use besides the job's variables.
CONTEXT_NAMES = ("job", "user", "object_type", "object_id")
MAX_KEY_LENGTH = 300


def template_names(template: str) -> set[str]:
    """Return the top-level names a template uses; raises ValueError if it does not parse."""
    names = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field is None:
            continue
        name = field.split(".", 1)[0].split("[", 1)[0]
        if not name or name.isdigit():
            raise ValueError("every {field} must be named (positional fields have nothing to fill them)")
        names.add(name)
    return names


def check_template(template: str, variables: Iterable[str]) -> None:
    """Raise ValueError naming what a template uses that no run will have."""
    unknown = template_names(template) - set(variables) - set(CONTEXT_NAMES)
    if unknown:
        raise ValueError(
            f"it names {', '.join(sorted(unknown))}, which is neither a variable of the job nor one of "
            f"{', '.join(CONTEXT_NAMES)}"
        )


class _Attributes:
    """A mapping read by attribute, so ``{site.slug}`` works on a dict value."""

    def __init__(self, mapping: Mapping[str, Any]):
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        return _wrap(self._mapping.get(name))

    def __getitem__(self, name: str) -> Any:
        return _wrap(self._mapping[name])

    def __format__(self, spec: str) -> str:
        return format(str(dict(self._mapping)), spec)


def _wrap(value: Any) -> Any:
    return _Attributes(value) if isinstance(value, Mapping) else value


def format_key(template: str, values: Mapping[str, Any]) -> str:
    """Fill a key template from a run's variables and context; a missing value reads ``None``."""
    names = {name: _wrap(values.get(name)) for name in template_names(template)}
    return template.format_map(names)[:MAX_KEY_LENGTH]
