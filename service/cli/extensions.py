"""``jobsync extensions``: what each loaded extension adds."""

from __future__ import annotations

import click
from sqlalchemy import select

from service.cli.output import emit, json_option
from service.extensions import EXTENSIONS_SOURCE, describe_extension
from service.models import Job

COLUMNS = ("name", "version", "queues", "jobs", "backends")


def _installed_jobs(state) -> dict[str, list[str]]:
    """Class paths of the installed extension jobs, by extension name."""
    statement = select(Job.module_name, Job.class_path).where(
        Job.source == EXTENSIONS_SOURCE, Job.installed.is_(True)).order_by(Job.class_path)
    found: dict[str, list[str]] = {}
    with state.runtime().db.session() as session:
        for module_name, class_path in session.execute(statement):
            found.setdefault(module_name.partition(".")[0], []).append(class_path)
    return found


@click.group("extensions")
def extensions_group() -> None:
    """Show the configured extensions."""


@extensions_group.command("list")
@json_option
@click.pass_obj
def extensions_list(state, as_json: bool) -> None:
    """List each extension with its version, queues, jobs and data backends."""
    jobs = _installed_jobs(state)
    rows = [{**describe_extension(extension), "jobs": jobs.get(extension.name, [])}
            for extension in state.runtime().extensions]
    if not as_json:
        rows = [{**row, **{key: ", ".join(row[key]) or "-" for key in ("queues", "jobs", "backends")}}
                for row in rows]
    emit(rows, COLUMNS, as_json=as_json)


COMMANDS = [extensions_group]
