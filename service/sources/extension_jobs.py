"""Extension jobs: discovered in a child process, reconciled as source ``extensions``.

Each extension's jobs module is imported in a child (``python -m service.sources.extension_jobs``) so the
registry of this process stays clean and a crashing import costs only the child. Jobs are named
by the extension, not the package: ``extensions/<name>.<module>/<Class>``, with Job.module_name
``<name>.<module>`` (``service.extensions.extension_module`` maps it back for the worker).
Rows of an extension that is no longer configured become uninstalled; rows of one whose jobs
module fails to import are kept as they were, with the error.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import traceback
from typing import Any

from repos.discover import child_environment
from repos.discover_child import report_and_exit, reserve_stdout
from repos.report import DiscoveredJob, DiscoveryReport, ModuleError
from service.extensions import EXTENSIONS_SOURCE

logger = logging.getLogger(__name__)

#: (extension name, package, importable jobs module)
Target = tuple[str, str, str]


def discover_extension_jobs(targets: list[Target], *, timeout: float) -> DiscoveryReport:
    """Import each target's jobs module in a child process and report the jobs they register."""
    if not targets:
        return DiscoveryReport(namespace=EXTENSIONS_SOURCE)
    environment = {**child_environment(), "PYTHONPATH": os.pathsep.join(_import_path())}
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "service.sources.extension_jobs", json.dumps(targets)],
            env=environment, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
        )
        if finished.returncode == 0:
            return DiscoveryReport.from_dict(json.loads(finished.stdout))
        reason = f"exit status {finished.returncode}: {finished.stderr.decode(errors='replace')[-500:]}"
    except subprocess.TimeoutExpired:
        reason = f"did not finish within {timeout:g} s"
    except (ValueError, KeyError, TypeError) as exc:
        reason = f"answered nonsense ({exc})"
    message = f"Extension job discovery failed ({reason.strip()}); the jobs are kept as they were."
    return DiscoveryReport(
        namespace=EXTENSIONS_SOURCE,
        module_errors=[ModuleError(_job_module_name(name, package, module), message)
                       for name, package, module in targets],
    )


def _import_path() -> list[str]:
    """This process's import path, so the child finds extensions wherever this process did."""
    return [entry or os.getcwd() for entry in sys.path]


def _job_module_name(name: str, package: str, module_name: str) -> str:
    """``acme_extension.jobs.reports`` of extension ``acme`` is ``acme.jobs.reports``."""
    return f"{name}.{module_name[len(package) + 1:]}"


def refresh_extension_jobs(current) -> dict[str, Any]:
    """Discover every loaded extension's jobs and reconcile the ``extensions`` Job rows."""
    from sqlalchemy import select

    from service.models import Job
    from service.runs.runners import lock_identity
    from service.sources.apply import apply_discovery, describe_plan

    extensions = list(current.extensions or ())
    targets = [(ext.name, ext.package, ext.jobs_module) for ext in extensions if ext.jobs_module]
    report = discover_extension_jobs(targets, timeout=current.settings.discovery_timeout_seconds)
    for error in report.module_errors:
        logger.error("extension jobs in %s failed to import: %s", error.module_name, error.error)
    versions = {extension.name: extension.version for extension in extensions}
    with current.db.session() as session:
        lock_identity(session, "jobsync.refresh:extensions")  # workers starting together take turns
        plan = apply_discovery(session, report, source=EXTENSIONS_SOURCE, namespace=EXTENSIONS_SOURCE,
                               version=None)
        seen = select(Job).where(Job.source == EXTENSIONS_SOURCE, Job.class_path.in_(plan.seen))
        for job in session.scalars(seen):  # an extension job's "commit" is its extension's version
            job.commit = versions.get(job.module_name.partition(".")[0], "")[:64] or None
    return {
        **describe_plan(plan),
        "module_errors": [{"module": e.module_name, "error": e.error} for e in report.module_errors],
    }


# --- in the child -------------------------------------------------------------------------


def discover_in_this_process(targets: list[Target]) -> DiscoveryReport:
    """Import each jobs module and report the registered jobs defined inside its package."""
    import importlib

    from service.jobs.registry import clear_registry, registered_jobs, registration_refusals

    clear_registry()
    errors = []
    for name, package, module_name in targets:
        try:
            importlib.import_module(module_name)
        except (Exception, SystemExit) as exc:
            errors.append(ModuleError(_job_module_name(name, package, module_name),
                                      f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    jobs = []
    for job_class in registered_jobs():
        owner = next(((name, package) for name, package, _ in targets
                      if job_class.__module__.startswith(f"{package}.")), None)
        if owner is None:
            continue  # registered by code outside every extension (a library it imports)
        jobs.append(DiscoveredJob(
            module_name=_job_module_name(*owner, job_class.__module__),
            class_name=job_class.__name__,
            spec=json.loads(json.dumps(job_class.job_spec())),
        ))
    for module_name, reason in registration_refusals():
        owner = next(((name, package) for name, package, _ in targets
                      if module_name.startswith(f"{package}.")), None)
        if owner is not None:
            errors.append(ModuleError(_job_module_name(*owner, module_name), reason))
    return DiscoveryReport(namespace=EXTENSIONS_SOURCE, jobs=jobs, module_errors=errors)


def main(argv: list[str]) -> None:
    """Discover ``argv[0]`` (JSON targets) and write the report as JSON on stdout."""
    result_fd = reserve_stdout()  # the extensions' own prints must not corrupt the JSON document
    targets = [tuple(target) for target in json.loads(argv[0])]
    report_and_exit(result_fd, discover_in_this_process(targets))


if __name__ == "__main__":
    main(sys.argv[1:])
