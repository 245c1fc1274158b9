"""``jobsync repo``: register, list, sync and remove job repositories."""

from __future__ import annotations

import click
from sqlalchemy import select

from service.cli.output import emit, json_option
from service.models import GitRepository
from service.sources import repositories

COLUMNS = ("name", "slug", "remote_url", "branch", "current_head", "sync_status", "sync_time")


def describe(repository: GitRepository) -> dict:
    """A repository as the CLI shows it: references to secrets, never secrets."""
    return {
        "id": str(repository.id),
        "name": repository.name,
        "slug": repository.slug,
        "remote_url": repository.remote_url,
        "branch": repository.branch,
        "credentials": repository.credentials,
        "webhook_secret": repository.webhook_secret,
        "current_head": (repository.current_head or "")[:12] or None,
        "sync_status": repository.sync_status,
        "sync_time": repository.sync_time.isoformat(timespec="seconds") if repository.sync_time else None,
        "sync_error": repository.sync_error,
    }


@click.group("repo")
def repo_group() -> None:
    """Manage job repositories."""


@repo_group.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--branch", default="main", show_default=True, help="Branch, tag or commit to follow.")
@click.option("--credentials", help="Name of a credential configured under `credentials:` for URL's host.")
@click.option("--webhook-secret", help="Reference to the webhook secret: env:VAR or file:/path.")
@click.option("--slug", help="Python identifier the jobs are imported under (default: from NAME).")
@click.pass_obj
def repo_add(state, name, url, branch, credentials, webhook_secret, slug) -> None:
    """Register repository NAME at URL (sync it with `jobsync repo sync NAME`)."""
    runtime = state.runtime()
    with runtime.db.session() as session:
        repository = repositories.add_repository(
            session,
            runtime.settings,
            name=name,
            remote_url=url,
            branch=branch,
            credentials=credentials,
            webhook_secret=webhook_secret,
            slug=slug,
        )
        click.echo(f"Added repository {repository.name} (slug {repository.slug}).")


@repo_group.command("list")
@json_option
@click.pass_obj
def repo_list(state, as_json: bool) -> None:
    """List repositories and their sync state."""
    with state.runtime().db.session() as session:
        rows = [describe(r) for r in session.scalars(select(GitRepository).order_by(GitRepository.name))]
    emit(rows, COLUMNS, as_json=as_json)


@repo_group.command("remove")
@click.argument("name")
@click.pass_obj
def repo_remove(state, name: str) -> None:
    """Remove repository NAME: its jobs become uninstalled, its checkouts are deleted."""
    runtime = state.runtime()
    with runtime.db.session() as session:
        repositories.remove_repository(session, runtime.settings, repositories.get_repository(session, name))
    click.echo(f"Removed repository {name}.")


@repo_group.command("sync")
@click.argument("name")
@click.option("--wait", is_flag=True, help="Wait for the sync, showing its log as it goes.")
@click.option("--dry-run", is_flag=True, help="Report what would change, change nothing.")
@click.pass_obj
def repo_sync(state, name: str, wait: bool, dry_run: bool) -> None:
    """Sync repository NAME from its remote (in this process on the embedded default)."""
    from service.cli.runs import finish, watch
    from service.sources.sync import request_sync
    from service.worker.engine import run_job_result

    runtime = state.runtime()
    with runtime.db.session() as session:
        result = request_sync(session, repositories.get_repository(session, name), dryrun=dry_run)
    if runtime.settings.redis_url is None:
        run_job_result(runtime, str(result.id))  # the embedded broker has no worker outside this process
    elif not wait:
        click.echo(f"Queued sync {result.id}.")
        return
    described, entries = watch(runtime, result.id, echo=True)  # log lines as they arrive
    finish(described, entries, as_json=False)


COMMANDS = [repo_group]
