"""Nautobot 1.x discovery: job modules that never call ``register_jobs``.

Nautobot 1.x imported every module of ``jobs/`` and took its ``jobs = [...]`` list, or else every
job class defined in it. Here that applies to each repository module that neither called
``register_jobs`` nor had a class registered by another module; when the repository calls
``register_jobs`` nowhere (a 1.x repository), every module of ``jobs/`` is imported first.
"""

import sys
from pathlib import Path

from repos.loader import JOBS_PACKAGE, import_remaining_submodules
from repos.report import ModuleError
from service.jobs import Job
from service.jobs.base import is_job
from service.jobs.legacy import test_method_names
from service.jobs.registry import register_jobs, registered_jobs, registering_modules

__all__ = ["discover_unregistered_modules"]


def discover_unregistered_modules(namespace: str, checkout: Path) -> list[ModuleError]:
    """Register the jobs of 1.x-style modules of ``namespace``; return the import failures met."""
    package = f"{namespace}.{JOBS_PACKAGE}"
    calling = {name for name in registering_modules() if _inside(name, package)}
    errors = [] if calling else import_remaining_submodules(namespace, checkout)
    registered_from = {job.__module__ for job in registered_jobs()}
    for name in sorted(name for name in list(sys.modules) if _inside(name, package)):
        if name not in calling and name not in registered_from:
            register_jobs(*_module_jobs(sys.modules[name]))
    return errors


def _inside(module_name: str, package: str) -> bool:
    return module_name == package or module_name.startswith(f"{package}.")


def _module_jobs(module) -> list[type]:
    listed = getattr(module, "jobs", None)
    if isinstance(listed, (list, tuple)):
        return list(listed)
    return [
        value
        for value in vars(module).values()
        if is_job(value) and value.__module__ == module.__name__ and _runnable(value)
    ]


def _runnable(job_class: type) -> bool:
    # A class with neither run() nor test_* methods is a shared base, not a job of its own.
    return job_class._receiver_kind is not None or job_class.run is not Job.run or bool(
        test_method_names(job_class)
    )
