"""The jobs a module offers: ``register_jobs(*classes)`` records them for discovery."""

import json
from typing import Any

from .base import Job
from .errors import RegistrationError

_registry: dict[str, type[Job]] = {}


def job_path(job_class: type[Job]) -> str:
    """Return the ``module/ClassName`` path that names a job within its source."""
    return f"{job_class.__module__}/{job_class.__name__}"


def register_jobs(*classes: Any) -> None:
    """Register job classes; raises RegistrationError for a non-job, an unusable job or a path clash.

    Either every class is registered or none is. Registering the very same class again is a
    no-op, so re-importing a module is harmless.
    """
    accepted: dict[str, type[Job]] = {}
    for job_class in classes:
        _check_registrable(job_class)
        path = job_path(job_class)
        existing = accepted.get(path) or _registry.get(path)
        if existing is not None and existing is not job_class:
            raise RegistrationError(f"A different job class is already registered as {path}.")
        accepted[path] = job_class
    for path, job_class in accepted.items():
        _registry.setdefault(path, job_class)


def registered_jobs() -> list[type[Job]]:
    """Return the registered job classes in registration order."""
    return list(_registry.values())


def clear_registry() -> None:
    """Forget every registered job (discovery does this before importing a checkout)."""
    _registry.clear()


def _check_registrable(job_class: Any) -> None:
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
    try:
        json.dumps(job_class.job_spec())
    except (TypeError, ValueError) as exc:
        raise RegistrationError(
            f"{name} cannot be registered: its spec is not JSON-serialisable ({exc})."
        ) from None


def _missing_entry_point(job_class: type[Job]) -> str | None:
    kind = job_class._receiver_kind
    if kind == "job_hook" and _inherits_unchanged(job_class, "receive_job_hook"):
        return "it must define receive_job_hook()"
    if kind == "job_button" and _inherits_unchanged(job_class, "receive_job_button"):
        return "it must define receive_job_button()"
    if kind is None and job_class.run is Job.run and not _has_test_methods(job_class):
        return "it must define run()"
    return None


def _inherits_unchanged(job_class: type, method: str) -> bool:
    defining = next(klass for klass in job_class.__mro__ if method in vars(klass))
    return bool(vars(defining).get("_abstract_job", False))


def _has_test_methods(job_class: type) -> bool:
    return any(name.startswith("test_") and callable(getattr(job_class, name)) for name in dir(job_class))
