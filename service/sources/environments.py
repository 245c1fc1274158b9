"""Which dependency environment a commit uses: built at sync, recorded by key, rebuilt where missing.

The folders are ``repos.environments``'s; this module records each key's pinned set as a
JobEnvironment row so a worker on another machine builds the same set before its first run.
Housekeeping (``service.runs.housekeeping``) removes the folders nothing uses.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import IntegrityError

from repos import environments
from repos.declarations import read_declaration
from repos.environments import Environment, PackageSource
from service.models import JobEnvironment


def package_source(settings) -> PackageSource:
    """The index and wheel folders configured for every build."""
    return PackageSource(
        index_url=settings.package_index_url,
        find_links=tuple(settings.find_links),
        timeout=settings.environment_build_timeout_seconds,
    )


def prepare_for_checkout(current, checkout: str | Path) -> Environment | None:
    """Build (or reuse) the environment a checkout declares and record it; None if it declares none.

    Raises DependencyError (DeclarationInvalid, ResolutionFailed, InstallFailed) with uv's message.
    """
    declaration = read_declaration(checkout)
    if declaration is None:
        return None
    settings = current.settings
    environment = environments.prepare(settings.data_dir, declaration, package_source(settings))
    record(current.db, environment)
    return environment


def record(db, environment: Environment) -> None:
    """Remember a key's pinned set and installed versions (once: a key's content never changes)."""
    try:
        with db.session() as session:
            if session.get(JobEnvironment, environment.key) is None:
                session.add(
                    JobEnvironment(
                        key=environment.key,
                        requirements=environment.requirements,
                        packages=environment.packages,
                        platform=environments.platform_tag(),
                    )
                )
    except IntegrityError:  # another sync recorded the same key at the same moment: same content
        pass


def path_for_checkout(db, settings, checkout: str | Path) -> str | None:
    """Return the environment folder a checkout declares (resolved once per declaration), or None."""
    declaration = read_declaration(checkout)
    if declaration is None:
        return None
    environment = environments.prepare(settings.data_dir, declaration, package_source(settings))
    record(db, environment)
    return str(environment.path)


def path_for_run(db, settings, key: str) -> str:
    """Return the folder of environment ``key``, building it from its recorded set if this machine lacks it.

    Raises RuntimeError when the key is unknown, or DependencyError when the build fails.
    """
    path = environments.environment_path(settings.data_dir, key)
    if not (path / environments.MARKER).is_file():  # the hot path is this one stat
        with db.session() as session:
            row = session.get(JobEnvironment, key)
            requirements = row.requirements if row is not None else None
        if requirements is None:
            raise RuntimeError(f"its dependency environment {key} is not recorded")
        path = environments.ensure_environment(settings.data_dir, requirements, package_source(settings)).path
    environments.touch(path)
    return str(path)
