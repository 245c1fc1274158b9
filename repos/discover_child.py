"""Discovery's child process: ``python -m repos.discover_child SLUG CHECKOUT [ENVIRONMENT]``.

ENVIRONMENT, when given, is the commit's dependency folder: it goes first on ``sys.path``.

Imports the checkout's ``jobs`` package, prints one JSON DiscoveryReport on the original stdout and
exits with ``os._exit(0)`` (so threads or atexit handlers left by repository code cannot hold it up).
Repository code's own prints go to stderr. Before and after each module of the repository runs,
a ``##jobsync-import begin|end <module>`` line goes to stderr so the parent can name the module a
hang or crash happened in.
"""

import faulthandler
import importlib.abc
import importlib.machinery
import json
import os
import sys
from pathlib import Path

from repos.legacy_discovery import discover_unregistered_modules
from repos.loader import (
    JOBS_PACKAGE,
    describe_exception,
    import_jobs_package,
    import_submodules_individually,
    module_error,
    repository_traceback,
)
from repos.report import PROGRESS_PREFIX, DiscoveredJob, DiscoveryReport, ModuleError
from service.jobs.registry import clear_registry, registered_jobs, registered_spec, registration_refusals


class ImportTracer(importlib.abc.MetaPathFinder):
    """Announce each repository module's execution on stderr and remember which ones raised."""

    def __init__(self, namespace: str):
        self.prefix = f"{namespace}."
        self.failures: list[tuple[str, BaseException]] = []

    def find_spec(self, fullname, path, target=None):
        if not fullname.startswith(self.prefix):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _TracingLoader(spec.loader, self)
        return spec

    def announce(self, event: str, module_name: str) -> None:
        os.write(2, f"\n{PROGRESS_PREFIX}{event} {module_name}\n".encode())

    def origin_of(self, exc: BaseException) -> str | None:
        """Return the innermost module whose execution raised this very exception."""
        return next((name for name, failure in self.failures if failure is exc), None)


class _TracingLoader(importlib.abc.Loader):
    def __init__(self, loader, tracer: ImportTracer):
        self._loader = loader
        self._tracer = tracer

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._tracer.announce("begin", module.__name__)
        try:
            self._loader.exec_module(module)
        except BaseException as exc:
            self._tracer.failures.append((module.__name__, exc))
            raise
        finally:
            self._tracer.announce("end", module.__name__)

    def __getattr__(self, name):
        # get_source, get_filename, is_package, get_resource_reader...: tracebacks and resources need them.
        return getattr(self._loader, name)


def discover_in_this_process(namespace: str, checkout: Path, tracer: ImportTracer) -> DiscoveryReport:
    """Import the jobs package (falling back to module by module) and report what registered."""
    clear_registry()
    problem = _package_problem(checkout)
    if problem is not None:
        return DiscoveryReport(namespace=namespace, package_error=problem)
    package = f"{namespace}.{JOBS_PACKAGE}"
    errors: list[ModuleError] = []
    failure = _import_package(namespace, checkout)
    if failure is not None:
        origin = tracer.origin_of(failure)
        if origin is None or origin == package:
            return DiscoveryReport(
                namespace=namespace,
                package_error=f"jobs/__init__.py failed: {describe_exception(failure)}",
                package_traceback=repository_traceback(failure, checkout),
            )
        described = module_error(package, failure, checkout)
        message = (
            f"jobs/__init__.py failed because {origin} failed ({described.error}); "
            "each module of jobs/ was imported on its own instead"
        )
        errors.append(ModuleError(package, message, described.traceback))
        clear_registry()
        errors.extend(import_submodules_individually(namespace, checkout))
    errors.extend(discover_unregistered_modules(namespace, checkout))
    failed = {error.module_name for error in errors} - {package}
    jobs, spec_errors = _registered_jobs(namespace, checkout, failed)
    refused = [ModuleError(module_name, reason) for module_name, reason in registration_refusals()]
    return DiscoveryReport(namespace=namespace, jobs=jobs, module_errors=errors + refused + spec_errors)


def _import_package(namespace: str, checkout: Path) -> BaseException | None:
    # Returned rather than handled in place, so the fallback's own errors are not chained onto it.
    try:
        import_jobs_package(namespace, checkout)
    except BaseException as exc:
        return exc
    return None


def _package_problem(checkout: Path) -> str | None:
    init = checkout / JOBS_PACKAGE / "__init__.py"
    if not init.is_file():
        return "The repository has no jobs package (jobs/__init__.py is missing)."
    try:
        compile(init.read_bytes(), str(init), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"jobs/__init__.py does not compile: {describe_exception(exc)}"
    return None


def _registered_jobs(
    namespace: str, checkout: Path, failed: set[str] = frozenset()
) -> tuple[list[DiscoveredJob], list[ModuleError]]:
    """Return the registered jobs, leaving out those of ``failed`` modules: a module that registers a
    job and then raises is broken, so its jobs keep their last good commit (the sync reports it)."""
    jobs, errors = [], []
    for job_class in registered_jobs():
        module_name = job_class.__module__
        if any(module_name == name or module_name.startswith(name + ".") for name in failed):
            continue
        if not module_name.startswith(f"{namespace}."):
            errors.append(
                ModuleError(
                    module_name, f"{job_class.__qualname__} is registered but defined outside the repository"
                )
            )
            continue
        try:
            # register_jobs checked that this spec dumps to JSON; only its grouping, a string,
            # is read again. Working it out and round-tripping it again cost seconds at 10,000 jobs.
            spec = registered_spec(job_class)
        except Exception as exc:
            errors.append(module_error(module_name, exc, checkout))
            continue
        jobs.append(DiscoveredJob(module_name=module_name, class_name=job_class.__name__, spec=spec))
    return jobs, errors


def main(argv: list[str]) -> None:
    """Discover ``argv = [slug, checkout, environment?]`` and write the JSON report, then exit at once."""
    namespace, checkout, *environment = argv
    if environment:
        # Imported only then: repos.environments and what it imports cost every child CPU (100 syncs).
        from repos.environments import activate

        activate(environment[0])
    result_fd = reserve_stdout()
    faulthandler.enable(file=sys.stderr)
    tracer = ImportTracer(namespace)
    sys.meta_path.insert(0, tracer)
    report_and_exit(result_fd, discover_in_this_process(namespace, Path(checkout), tracer))


def reserve_stdout() -> int:
    """Keep the real stdout for the JSON report; imported code's prints go to stderr instead."""
    result_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return result_fd


def report_and_exit(result_fd: int, report: DiscoveryReport) -> None:
    """Write ``report`` as the one JSON document on the reserved stdout, then exit at once
    (imported code's atexit handlers and threads must not run or hang)."""
    with os.fdopen(result_fd, "wb") as result:
        result.write(json.dumps(report.to_dict()).encode())
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
