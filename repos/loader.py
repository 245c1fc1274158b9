"""Import a checkout's code as the package ``<slug>`` without touching ``sys.path``.

A synthetic top-level module ``<slug>`` whose ``__path__`` is ``[checkout]`` makes the checkout's
``jobs`` package importable as ``<slug>.jobs`` (and its helpers as ``<slug>.<name>``). Purging
``<slug>`` and ``<slug>.*`` from ``sys.modules`` lets a later commit be loaded in the same process.
Bytecode is never written: checkouts are immutable. Loading a checkout also installs Nautobot's
import paths (``repos.import_aliases``): only processes that run repository code ever do.
"""

import importlib
import importlib.machinery
import sys
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from repos import import_aliases
from repos.errors import JobClassNotFound, PackageImportFailed
from repos.naming import NAMESPACE_MARKER, is_slug_shaped
from repos.report import ModuleError
from service.jobs.errors import ValidationError
from service.jobs.registry import clear_registry, registered_jobs

__all__ = [
    "JOBS_PACKAGE",
    "describe_exception",
    "import_jobs_package",
    "import_remaining_submodules",
    "import_submodules_individually",
    "install_namespace",
    "jobs_submodule_names",
    "load_job_class",
    "module_error",
    "purge_namespace",
    "repository_traceback",
]

JOBS_PACKAGE = "jobs"


def install_namespace(slug: str, checkout: str | Path) -> types.ModuleType:
    """Make ``checkout`` importable as package ``slug``, replacing any other commit loaded under it.

    Nautobot's import paths (``repos.import_aliases``) become importable too: this process runs
    repository code.
    """
    import_aliases.install()
    location = str(Path(checkout).resolve())
    current = sys.modules.get(slug)
    if current is not None and getattr(current, NAMESPACE_MARKER, None) == location:
        return current
    if current is not None and not getattr(current, NAMESPACE_MARKER, None):
        raise ValidationError({"slug": [f"{slug!r} is already the name of an imported module."]})
    if not is_slug_shaped(slug):
        raise ValidationError({"slug": [f"{slug!r} is not a valid repository slug."]})
    purge_namespace(slug)
    module = _package_module(slug, location, doc=f"Job repository {slug!r} at {location}.")
    setattr(module, NAMESPACE_MARKER, location)
    sys.modules[slug] = module
    importlib.invalidate_caches()
    return module


def purge_namespace(slug: str) -> list[str]:
    """Remove ``slug`` and ``slug.*`` from ``sys.modules``; return the names removed.

    If the job registry holds classes from the namespace it is cleared too: it refuses a second
    class under the same job path, which is exactly what the next commit's modules will register.
    """
    prefix = f"{slug}."
    names = [name for name in sys.modules if name == slug or name.startswith(prefix)]
    for name in names:
        del sys.modules[name]
    if any(job.__module__.startswith(prefix) for job in registered_jobs()):
        clear_registry()
    return names


def import_jobs_package(slug: str, checkout: str | Path) -> types.ModuleType:
    """Import the checkout's ``jobs`` package as ``<slug>.jobs``; its own exceptions propagate."""
    install_namespace(slug, checkout)
    with _no_bytecode():
        return importlib.import_module(f"{slug}.{JOBS_PACKAGE}")


def jobs_submodule_names(checkout: str | Path) -> list[str]:
    """Return the names of the modules and subpackages directly inside ``jobs/``, sorted."""
    jobs_dir = Path(checkout) / JOBS_PACKAGE
    names = []
    for entry in sorted(jobs_dir.iterdir()) if jobs_dir.is_dir() else []:
        if (
            entry.suffix == ".py"
            and entry.is_file()
            and entry.stem.isidentifier()
            and entry.stem != "__init__"
        ):
            names.append(entry.stem)
        elif entry.is_dir() and entry.name.isidentifier() and (entry / "__init__.py").is_file():
            names.append(entry.name)
    return names


def import_submodules_individually(slug: str, checkout: str | Path) -> list[ModuleError]:
    """Import each module of ``jobs/`` on its own under an empty ``<slug>.jobs``; return their failures.

    Used when ``jobs/__init__.py`` fails because of one submodule: the healthy modules still load
    (and register their jobs if they call ``register_jobs`` themselves).
    """
    purge_namespace(slug)
    _install_empty_jobs_package(slug, checkout)
    return import_remaining_submodules(slug, checkout)


def import_remaining_submodules(slug: str, checkout: str | Path) -> list[ModuleError]:
    """Import each module of ``jobs/`` not imported yet, each on its own; return their failures."""
    errors = []
    for name in jobs_submodule_names(checkout):
        module_name = f"{slug}.{JOBS_PACKAGE}.{name}"
        if module_name in sys.modules:
            continue
        try:
            with _no_bytecode():
                importlib.import_module(module_name)
        except (Exception, SystemExit) as exc:
            errors.append(module_error(module_name, exc, checkout))
    return errors


def load_job_class(slug: str, checkout: str | Path, module_name: str, class_name: str) -> type:
    """Import ``module_name`` from ``checkout`` and return its class ``class_name`` (workers run it).

    Raises PackageImportFailed if the module cannot be imported, JobClassNotFound if the class is
    missing. If ``jobs/__init__.py`` fails, the module is imported on its own, as discovery did.
    """
    if module_name != slug and not module_name.startswith(f"{slug}."):
        raise JobClassNotFound(f"Module {module_name!r} is not part of repository {slug!r}.")
    install_namespace(slug, checkout)
    try:
        with _no_bytecode():
            module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:
        module = _import_without_package_init(slug, checkout, module_name, exc)
    job_class = getattr(module, class_name, None)
    if not isinstance(job_class, type):
        raise JobClassNotFound(f"Module {module_name} has no class {class_name}.")
    return job_class


def module_error(module_name: str, exc: BaseException, checkout: str | Path) -> ModuleError:
    """Describe a module's import failure: one-line error plus the repository's part of the traceback."""
    return ModuleError(
        module_name=module_name,
        error=describe_exception(exc),
        traceback=repository_traceback(exc, checkout),
    )


def repository_traceback(exc: BaseException, checkout: str | Path) -> str:
    """Format ``exc`` keeping only frames from files inside ``checkout`` (importlib's and ours are noise)."""
    root = str(Path(checkout).resolve()) + "/"
    summary = traceback.TracebackException.from_exception(exc)
    pending = [summary]
    while pending:
        current = pending.pop()
        current.stack = traceback.StackSummary.from_list(
            [frame for frame in current.stack if frame.filename.startswith(root)]
        )
        pending.extend(link for link in (current.__cause__, current.__context__) if link is not None)
    return "".join(summary.format())


def describe_exception(exc: BaseException) -> str:
    """Return ``Type: message`` for an exception."""
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _import_without_package_init(
    slug: str, checkout: str | Path, module_name: str, first_error: BaseException
) -> types.ModuleType:
    package = f"{slug}.{JOBS_PACKAGE}"
    if not module_name.startswith(f"{package}."):
        raise PackageImportFailed(f"Importing {module_name} failed: {describe_exception(first_error)}")
    purge_namespace(slug)
    _install_empty_jobs_package(slug, checkout)
    try:
        with _no_bytecode():
            return importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:
        raise PackageImportFailed(f"Importing {module_name} failed: {describe_exception(exc)}") from exc


def _install_empty_jobs_package(slug: str, checkout: str | Path) -> types.ModuleType:
    install_namespace(slug, checkout)
    name = f"{slug}.{JOBS_PACKAGE}"
    package = _package_module(
        name, str(Path(checkout).resolve() / JOBS_PACKAGE), doc="jobs/ without its __init__."
    )
    sys.modules[name] = package
    setattr(sys.modules[slug], JOBS_PACKAGE, package)
    return package


def _package_module(name: str, location: str, *, doc: str) -> types.ModuleType:
    module = types.ModuleType(name, doc)
    spec = importlib.machinery.ModuleSpec(name, loader=None, is_package=True)
    spec.submodule_search_locations = [location]
    module.__spec__ = spec
    module.__path__ = [location]
    module.__package__ = name
    return module


@contextmanager
def _no_bytecode() -> Iterator[None]:
    previous = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = previous
