"""The ``jobsync`` command line: one group, subcommands in sibling modules.

Errors reach the user as one line and a non-zero exit: 2 for bad configuration or input,
1 for anything else jobsync refused.
"""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import DBAPIError

from service.errors import ConfigError, JobsyncError, ValidationError


class State:
    """Lazily configured runtime, so ``--help`` never touches configuration or servers."""

    def __init__(self):
        self._runtime = None

    def runtime(self):
        if self._runtime is None:
            from service import bootstrap

            self._runtime = bootstrap.configure()
        return self._runtime


class JobsyncGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"jobsync: {exc}", err=True)
            sys.exit(2)
        except ValidationError as exc:
            click.echo(f"jobsync: invalid input: {exc}", err=True)
            sys.exit(2)
        except JobsyncError as exc:
            click.echo(f"jobsync: {exc}", err=True)
            sys.exit(1)
        except DBAPIError as exc:  # one line, without the statement or its parameters
            first_line = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            click.echo(f"jobsync: database error: {first_line}", err=True)
            if _schema_missing(first_line):
                click.echo("jobsync: no jobsync schema in this database: run `jobsync db upgrade`", err=True)
            sys.exit(1)


def _schema_missing(message: str) -> bool:
    return "no such table" in message or ("relation" in message and "does not exist" in message)


@click.group(cls=JobsyncGroup)
@click.pass_context
def main(ctx: click.Context) -> None:
    """jobsync: a Git-driven job service.

    Configuration comes from config/default.yaml, the file named by JOBSYNC_CONFIG and
    JOBSYNC_* environment variables (e.g. JOBSYNC_DATABASE_URL, JOBSYNC_REDIS_URL).
    """
    ctx.obj = State()


def _register() -> None:
    from service.cli import extensions, jobs, notifications, repos, runs, server, users

    for module in (extensions, jobs, notifications, repos, runs, server, users):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
