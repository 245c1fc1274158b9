"""Concurrency keys: ``Meta.concurrency_key``, checked at registration, filled or computed per run.

A key is a ``str.format`` template over the run's variables and its context (``job``, ``user``,
``object_type``, ``object_id``): ``"device:{device}"``, ``"site:{site.slug}"``, ``"repo"``.
Attribute access reaches into mapping values, so ``{site.slug}`` reads ``data["site"]["slug"]``.

Or it is a function ``concurrency_key(data, context) -> str`` (a plain function, a staticmethod, or
a classmethod, which gets the job class as ``cls``): ``data`` is the run's input, ``context`` the
names above. Being repository code, it is called only where the job's own code runs (the worker's
job child), as the run's first step: never where the run is requested.
"""

from __future__ import annotations

import functools
import inspect
import string
import traceback
from collections.abc import Callable, Iterable, Mapping
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


# --- keys computed by a function ---------------------------------------------------------------


class KeyFunctionFailed(Exception):
    """A key function raised or returned no usable key; the message names the function."""

    def __init__(self, message: str, trace: str | None = None):
        super().__init__(message)
        self.trace = trace


def key_function(job_class: type) -> Callable[[dict, dict], Any] | None:
    """Return the job's key function, ready to call with ``(data, context)``; None for a template."""
    meta = getattr(job_class, "Meta", None)
    declared = inspect.getattr_static(meta, "concurrency_key", None) if meta is not None else None
    if isinstance(declared, classmethod):  # bound to the job class, not to its Meta
        return functools.partial(declared.__func__, job_class)
    if isinstance(declared, staticmethod):
        return declared.__func__
    if declared is None or isinstance(declared, str) or not callable(declared):
        return None
    return declared


def check_key_function(function: Callable) -> None:
    """Raise ValueError unless ``function`` can be called as ``function(data, context)``."""
    if inspect.isclass(function):
        raise ValueError("it is a class; give a function taking (data, context)")
    if inspect.iscoroutinefunction(function):
        raise ValueError("it is async; the key must be returned, not awaited")
    try:
        inspect.signature(function).bind({}, {})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"it must take (data, context): {exc}") from None


def compute_key(job_class: type, data: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    """Call the job's key function for one run; raises KeyFunctionFailed naming it."""
    name = f"{job_class.__qualname__}.Meta.concurrency_key"
    function = key_function(job_class)
    if function is None:  # a run pinned to a commit whose job had a template: fill that in
        template = getattr(getattr(job_class, "Meta", None), "concurrency_key", None)
        if isinstance(template, str) and template.strip():
            return format_key(template, {**data, **context})
        raise KeyFunctionFailed(f"{name} is neither a function nor a template")
    try:
        key = function(dict(data), dict(context))
    except Exception as exc:
        trace = traceback.format_exc()
        raise KeyFunctionFailed(f"{name} raised {type(exc).__name__}: {exc}", trace) from None
    if not isinstance(key, str) or not key.strip():
        raise KeyFunctionFailed(f"{name} returned {key!r}: a key must be a non-empty string")
    return key[:MAX_KEY_LENGTH]
