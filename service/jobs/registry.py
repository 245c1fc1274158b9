"""The jobs a module offers: ``register_jobs(*classes)`` records them (and any refusals) for discovery."""

import json
import sys
from typing import Any

from .base import Job
from .errors import RegistrationError
from .options import grouping_of

_registry: dict[str, type[Job]] = {}
_specs: dict[str, dict[str, Any]] = {}  # the spec each registered class was checked with
_refusals: list[tuple[str, str]] = []
_registering_modules: set[str] = set()


def job_path(job_class: type[Job]) -> str:
    """Return the ``module/ClassName`` path that names a job within its source."""
    return f"{job_class.__module__}/{job_class.__name__}"


def register_jobs(*classes: Any) -> None:
    """Register job classes, as Nautobot's ``register_jobs`` does.

    A class that cannot be a job is refused on its own: its siblings still register and
    discovery reports the refusal against its module (``registration_refusals()``). Registering
    the very same class again is a no-op, so re-importing a module is harmless.
    """
    _registering_modules.add(_caller_module())
    for job_class in classes:
        try:
            spec = _check_registrable(job_class)
            path = job_path(job_class)
            existing = _registry.get(path)
            if existing is not None and existing is not job_class:
                raise RegistrationError(f"A different job class is already registered as {path}.")
        except Exception as exc:  # job code's own errors (a Meta, a variable) refuse only that class
            reason = str(exc) if isinstance(exc, RegistrationError) else (
                f"{getattr(job_class, '__qualname__', job_class)!r} cannot be registered: "
                f"{type(exc).__name__}: {exc}"
            )
            _refusals.append((str(getattr(job_class, "__module__", None) or _caller_module()), reason))
            continue
        _registry[path] = job_class
        _specs[path] = spec


def registered_jobs() -> list[type[Job]]:
    """Return the registered job classes in registration order."""
    return list(_registry.values())


def registered_spec(job_class: type[Job]) -> dict[str, Any]:
    """Return a registered class's ``job_spec()``, as ``register_jobs`` checked it.

    Only its grouping is read again: a module may set its ``name`` after registering its jobs.
    Discovery asks for 10,000 specs at a time; working each out twice cost seconds.
    """
    path = job_path(job_class)
    spec = _specs.get(path)
    if spec is None or _registry.get(path) is not job_class:
        return job_class.job_spec()
    return {**spec, "grouping": grouping_of(job_class)}


def registration_refusals() -> list[tuple[str, str]]:
    """Return ``(module name, reason)`` for each class ``register_jobs`` refused since the last clear."""
    return list(_refusals)


def registering_modules() -> set[str]:
    """Return the names of the modules that called ``register_jobs`` since the last clear."""
    return set(_registering_modules)


def clear_registry() -> None:
    """Forget every registered job and refusal (discovery does this before importing a checkout)."""
    _registry.clear()
    _specs.clear()
    _refusals.clear()
    _registering_modules.clear()


def _caller_module() -> str:
    frame = sys._getframe(2)
    return str(frame.f_globals.get("__name__", ""))


def _check_registrable(job_class: Any) -> dict[str, Any]:
    """Return the class's spec; raises RegistrationError saying why it cannot be a job."""
    if not isinstance(job_class, type) or not issubclass(job_class, Job):
        raise RegistrationError(f"{job_class!r} is not a Job subclass, so it cannot be registered as a job.")
    name = job_class.__qualname__
    if job_class.__dict__.get("_abstract_job", False) or job_class is Job:
        raise RegistrationError(f"{name} is a base class; register a subclass of it instead.")
    problem = _missing_entry_point(job_class)
    if problem:
        raise RegistrationError(f"{name} cannot be registered: {problem}.")
    if job_class._receiver_kind and job_class.declared_variables():
        raise RegistrationError(
            f"{name} cannot be registered: receivers take no variables, "
            f"but it declares {', '.join(job_class.declared_variables())}."
        )
    spec = job_class.job_spec()
    try:
        json.dumps(spec)
    except (TypeError, ValueError) as exc:
        raise RegistrationError(
            f"{name} cannot be registered: its spec is not JSON-serialisable ({exc})."
        ) from None
    return spec


def _missing_entry_point(job_class: type[Job]) -> str | None:
    kind = job_class._receiver_kind
    if kind == "job_hook" and _inherits_unchanged(job_class, "receive_job_hook"):
        return "it must define receive_job_hook()"
    if kind == "job_button" and _inherits_unchanged(job_class, "receive_job_button"):
        return "it must define receive_job_button()"
    return None  # a job without run() registers, as in Nautobot; running it raises NotImplementedError


def _inherits_unchanged(job_class: type, method: str) -> bool:
    defining = next(klass for klass in job_class.__mro__ if method in vars(klass))
    return bool(vars(defining).get("_abstract_job", False))
