"""Nautobot's and Celery's import paths, served by jobsync's authoring API in repository code.

A jobs repository written for Nautobot imports ``nautobot.apps.jobs`` (2.x/3.x),
``nautobot.extras.jobs`` (1.x), ``nautobot.core.celery`` (``register_jobs``) and Celery's
``celery.utils.log`` (``get_task_logger``). The processes that import repository code (discovery and
job children, through ``repos.loader``) install ``NautobotImportAliases`` so those modules resolve to
``service.jobs``; nothing else in the service sees them. Any other ``nautobot.*`` module is part of
Nautobot itself (its models need its database): importing it fails that module alone, saying so.
"""

import importlib.abc
import importlib.machinery
import sys
import types

import service.jobs
from service.jobs.logs import get_task_logger
from service.jobs.variables import netaddr_values

__all__ = ["NautobotImportAliases", "NautobotUnavailable", "install"]

_JOBS_API = {name: getattr(service.jobs, name) for name in service.jobs.__all__}
_JOBS_API["get_task_logger"] = get_task_logger
_JOBS_API.update({name: getattr(netaddr_values, name) for name in netaddr_values.__all__})

#: Module name -> the names it offers. Parent packages are made empty on the way.
ALIASES: dict[str, dict[str, object]] = {
    "nautobot.apps.jobs": _JOBS_API,
    "nautobot.extras.jobs": _JOBS_API,
    "nautobot.core.celery": {"register_jobs": service.jobs.register_jobs},
    "celery.utils.log": {"get_task_logger": get_task_logger, "get_logger": get_task_logger},
}
_PACKAGES = frozenset(
    ".".join(name.split(".")[:depth]) for name in ALIASES for depth in range(1, name.count(".") + 1)
)
_ROOTS = frozenset(name.split(".")[0] for name in ALIASES)


def _is_package(fullname: str) -> bool:
    # Nautobot's apps (``nautobot.dcim``) are empty packages, so that importing their models
    # fails on the module that needs the database and names it.
    app = fullname.startswith("nautobot.") and fullname.count(".") == 1
    return fullname in _PACKAGES or (app and fullname not in ALIASES)


class NautobotUnavailable(ModuleNotFoundError):
    """A repository module imports part of Nautobot that jobsync cannot provide."""


def _refusal(fullname: str) -> NautobotUnavailable:
    if fullname.split(".")[0] == "nautobot" and ".models" in f"{fullname}.":
        message = f"needs Nautobot's database: {fullname}"
    else:
        provided = ", ".join(sorted(ALIASES))
        message = f"needs Nautobot itself: {fullname} (jobsync provides only {provided})"
    return NautobotUnavailable(message, name=fullname)


class NautobotImportAliases(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serve the aliased modules; refuse the rest of ``nautobot.*`` with a clear message."""

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] not in _ROOTS:
            return None
        if fullname in ALIASES or _is_package(fullname):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=_is_package(fullname))
        if fullname.startswith("nautobot."):
            raise _refusal(fullname)
        return None  # celery.* beyond celery.utils.log: the usual "No module named" error

    def create_module(self, spec):
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        name = module.__name__
        if _is_package(name):
            module.__path__ = []
        for attr, value in ALIASES.get(name, {}).items():
            setattr(module, attr, value)
        if name in ALIASES:
            module.__all__ = sorted(ALIASES[name])


def install() -> None:
    """Put the aliases first on ``sys.meta_path`` of this process (once)."""
    if not any(isinstance(finder, NautobotImportAliases) for finder in sys.meta_path):
        sys.meta_path.insert(0, NautobotImportAliases())
