"""``jobsync runjob`` and ``jobsync results``: run a job and watch it; list, show, follow, cancel runs.

Output is a readable table or log on a terminal and JSON with ``--json``. A run that does not
end in SUCCESS exits 1.
"""

from __future__ import annotations

import cProfile
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from service import bootstrap
from service.cli.output import emit, json_option
from service.errors import NotFound
from service.models import JobLogEntry, JobResult, Status
from service.runs.idempotency import check_key, run_once
from service.runs.requests import enqueue_job, get_job, request_cancel
from service.users import get_user

POLL_SECONDS = 0.2
RESULT_COLUMNS = ("id", "name", "status", "user", "queue", "created", "duration")


def describe_result(result: JobResult) -> dict[str, Any]:
    """A run as the CLI shows it (sensitive input was never stored, so never shown)."""
    return {
        "id": str(result.id),
        "name": result.name,
        "class_path": result.class_path,
        "status": result.status,
        "user": result.user.username if result.user else None,
        "queue": result.queue,
        "dryrun": result.dryrun,
        "created": result.created.isoformat(timespec="seconds"),
        "started": result.started.isoformat(timespec="seconds") if result.started else None,
        "completed": result.completed.isoformat(timespec="seconds") if result.completed else None,
        "duration": round(result.duration, 3) if result.duration is not None else None,
        "input": result.input_data,
        "result": result.result,
        "error": result.error,
    }


def describe_entry(entry: JobLogEntry) -> dict[str, Any]:
    return {"id": str(entry.id), "time": entry.created.isoformat(), "level": entry.level,
            "grouping": entry.grouping, "message": entry.message}


def print_entry(entry: dict[str, Any]) -> None:
    click.echo(f"{entry['time'][11:19]} {entry['level'].upper():8} {entry['message']}")


def watch(runtime, result_id: uuid.UUID, *, echo: bool, stop_when_final: bool = True,
          seen: list[dict] = ()) -> tuple[dict, list]:
    """Poll a run, printing new log lines when ``echo``; return the run and the lines not in ``seen``
    once it ends (or at once, unless ``stop_when_final``)."""
    seen_ids = {entry["id"] for entry in seen}
    read = 0  # lines already read: each poll asks only for the lines after them
    entries: list[dict[str, Any]] = []
    while True:
        with runtime.db.session() as session:
            result = session.get(JobResult, result_id)
            new = session.scalars(select(JobLogEntry).where(JobLogEntry.job_result_id == result_id)
                                  .order_by(JobLogEntry.created, JobLogEntry.id).offset(read)).all()
            read += len(new)
            described = describe_result(result)
            fresh = [describe_entry(entry) for entry in new if str(entry.id) not in seen_ids]
            seen_ids.update(str(entry.id) for entry in new)
        for entry in fresh:
            entries.append(entry)
            if echo:
                print_entry(entry)
        if result.is_final or not stop_when_final:
            return described, entries
        time.sleep(POLL_SECONDS)


def finish(described: dict, entries: list, *, as_json: bool) -> None:
    """Print the outcome and exit 1 unless the run succeeded."""
    if as_json:
        click.echo(json.dumps({"job_result": described, "logs": entries}, indent=2, default=str))
    else:
        error = f": {described['error']}" if described["error"] else ""
        click.echo(f"{described['status']}{error}")
    if described["status"] != Status.SUCCESS:
        raise SystemExit(1)


def local_runtime(settings):
    """A runtime that runs jobs here: the in-process broker, and job code in this very process."""
    return bootstrap.configure(settings.replace(redis_url=None, isolation="thread"))


def run_here(runtime, result_id: uuid.UUID, profile_path: Path | None) -> threading.Thread:
    """Start the run in a thread of this process (profiled when ``profile_path`` is given)."""
    from service.worker.engine import run_job_result

    def target() -> None:
        if profile_path is None:
            run_job_result(runtime, str(result_id))
            return
        profiler = cProfile.Profile()
        profiler.runcall(run_job_result, runtime, str(result_id))
        profiler.dump_stats(profile_path)

    thread = threading.Thread(target=target, name="jobsync-local-run", daemon=True)
    thread.start()
    return thread


def parse_data(data: str) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON ({exc.msg})", param_hint="--data") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--data")
    return parsed


@click.command("runjob")
@click.argument("job")
@click.option("--data", default="{}", show_default=True, help="The job's input as a JSON object.")
@click.option("--username", help="Run as this user.")
@click.option("--commit/--dryrun", "commit", default=None, help="Commit changes, or make a dry run "
              "(default: the job's own default).")
@click.option("--at", "at", metavar="SHA", help="Run at this commit (full or short sha) the job's "
              "repository has synced, instead of its current one.")
@click.option("--local", is_flag=True, help="Run in this process; no worker needed.")
@click.option("--idempotency-key", help="Repeating a key within 24 h follows the run it first "
              "started instead of starting another (safe retries).")
@click.option("--profile", is_flag=True, help="Profile the run with cProfile (implies --local) and "
              "print the path of the .pstats file.")
@json_option
@click.pass_obj
def runjob_command(state, job: str, data: str, username: str | None, commit: bool | None, at: str | None,
                   local: bool, idempotency_key: str | None, profile: bool, as_json: bool) -> None:
    """Run JOB (class path or UUID), print its log as it arrives, then its status."""
    input_data = parse_data(data)
    key = check_key(idempotency_key, field="--idempotency-key")
    runtime = state.runtime()
    if local or profile:
        runtime = local_runtime(runtime.settings)
    # The embedded broker lives in this process, so no worker elsewhere could take the run.
    here = local or profile or runtime.settings.redis_url is None
    with runtime.db.session() as session:
        user = get_user(session, username) if username else None
        dryrun = None if commit is None else not commit
        job_row = get_job(session, job)
        result, created = run_once(session, key, user.id if user else None, job_row, lambda: enqueue_job(
            session, job_row, input_data, user=user, dryrun=dryrun, known_queues=runtime.settings.all_queues,
            source_commit=at))
    if not as_json:
        verb = "Queued" if created else "Following the earlier"
        click.echo(f"{verb} run {result.id} of {result.name}" + (" (in this process)" if here else "") + ".")
    profile_path = Path(f"jobsync-{result.id}.pstats").resolve() if profile else None
    thread = run_here(runtime, result.id, profile_path) if here else None
    described, entries = watch(runtime, result.id, echo=not as_json)
    if thread is not None:
        thread.join()
    if profile_path is not None:
        described["profile"] = str(profile_path)
        if not as_json:
            click.echo(f"Profile written to {profile_path}")
    finish(described, entries, as_json=as_json)


@click.group("results")
def results_group() -> None:
    """List, show, follow and cancel job runs."""


@results_group.command("list")
@click.option("--job", "job_ref", help="Only runs of this job (class path or UUID).")
@click.option("--status", type=click.Choice(Status.ALL, case_sensitive=False), help="Only runs in this state")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@json_option
@click.pass_obj
def results_list(state, job_ref: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """List runs, newest first."""
    with state.runtime().db.session() as session:
        statement = select(JobResult).order_by(JobResult.created.desc()).limit(limit)
        if job_ref:
            statement = statement.where(JobResult.job_id == get_job(session, job_ref).id)
        if status:
            statement = statement.where(JobResult.status == status.upper())
        rows = [describe_result(result) for result in session.scalars(statement)]
    emit(rows, RESULT_COLUMNS, as_json=as_json)


def _result_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise click.BadParameter("not a job result id", param_hint="ID") from None


@results_group.command("show")
@click.argument("result_id", metavar="ID")
@click.option("--follow", is_flag=True, help="Keep printing log lines until the run ends.")
@json_option
@click.pass_obj
def results_show(state, result_id: str, follow: bool, as_json: bool) -> None:
    """Show a run and its log; with --follow, wait for it to end (exit 1 unless it succeeded)."""
    runtime, run_id = state.runtime(), _result_id(result_id)
    with runtime.db.session() as session:
        if session.get(JobResult, run_id) is None:
            raise NotFound(f"No job result {result_id}.")
    described, entries = watch(runtime, run_id, echo=False, stop_when_final=False)
    if not as_json:
        for key, value in described.items():
            click.echo(f"{key:10} {'' if value is None else value}")
        for entry in entries:
            print_entry(entry)
    if follow:
        described, more = watch(runtime, run_id, echo=not as_json, seen=entries)
        finish(described, entries + more, as_json=as_json)
    elif as_json:
        click.echo(json.dumps({"job_result": described, "logs": entries}, indent=2, default=str))


@results_group.command("cancel")
@click.argument("result_id", metavar="ID")
@click.pass_obj
def results_cancel(state, result_id: str) -> None:
    """Cancel a run: a waiting one at once, a running one when its worker next checks."""
    with state.runtime().db.session() as session:
        result = request_cancel(session, _result_id(result_id))
        click.echo(f"{result.id}: {'revoked' if result.status == Status.REVOKED else 'cancel requested'}")


COMMANDS = [runjob_command, results_group]
