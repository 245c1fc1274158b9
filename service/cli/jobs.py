"""``jobsync jobs``: list jobs, enable and disable them."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from service.cli.output import emit, json_option
from service.models import Job
from service.runs.requests import get_job

COLUMNS = ("class_path", "name", "grouping", "enabled", "installed")


def describe_job(job: Job) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "class_path": job.class_path,
        "name": job.name,
        "grouping": job.grouping,
        "enabled": job.enabled,
        "installed": job.installed,
        "hidden": job.hidden,
        "source": job.source,
        "task_queues": list(job.task_queues or []),
        "variables": [item.get("name") for item in job.variables or []],
    }


@click.group("jobs")
def jobs_group() -> None:
    """List, enable and disable jobs."""


@jobs_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include hidden and uninstalled jobs.")
@json_option
@click.pass_obj
def jobs_list(state, show_all: bool, as_json: bool) -> None:
    """List jobs by grouping and name."""
    statement = select(Job).order_by(Job.grouping, Job.name, Job.class_path)
    if not show_all:
        statement = statement.where(Job.installed.is_(True), Job.hidden.is_(False))
    with state.runtime().db.session() as session:
        rows = [describe_job(job) for job in session.scalars(statement)]
    emit(rows, COLUMNS, as_json=as_json)


def _set_enabled(state, ref: str, enabled: bool) -> None:
    with state.runtime().db.session() as session:
        job = get_job(session, ref)
        job.enabled = enabled
        click.echo(f"{'Enabled' if enabled else 'Disabled'} {job.class_path}.")


@jobs_group.command("enable")
@click.argument("job")
@click.pass_obj
def jobs_enable(state, job: str) -> None:
    """Enable JOB (class path or UUID) so it may run."""
    _set_enabled(state, job, True)


@jobs_group.command("disable")
@click.argument("job")
@click.pass_obj
def jobs_disable(state, job: str) -> None:
    """Disable JOB (class path or UUID): new runs are refused."""
    _set_enabled(state, job, False)


@jobs_group.command("refresh")
@json_option
@click.pass_obj
def jobs_refresh(state, as_json: bool) -> None:
    """Rediscover the local jobs directory and the extensions' jobs (repositories sync on their own)."""
    from service.sources.extension_jobs import refresh_extension_jobs
    from service.sources.local import refresh_local_jobs

    runtime = state.runtime()
    rows = []
    summaries = {"local": refresh_local_jobs(runtime), "extensions": refresh_extension_jobs(runtime)}
    for source, summary in summaries.items():
        counts = {kind: len(summary.get(kind, [])) for kind in ("added", "updated", "removed", "reinstalled")}
        errors = [f"{e['module']}: {e['error']}" for e in summary.get("module_errors", [])]
        if summary.get("error"):
            errors.append(summary["error"])
        rows.append({"source": source, "configured": summary.get("configured", True), **counts,
                     "errors": "; ".join(errors) or None, "changes": summary})
    emit(rows, ("source", "configured", "added", "updated", "removed", "reinstalled", "errors"),
         as_json=as_json)


COMMANDS = [jobs_group]
