"""Long-running processes: ``serve`` (embedded, all in one), ``worker``, ``scheduler``, ``db``."""

from __future__ import annotations

import logging
import signal
import threading

import click


def _wait_for_stop_signal() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _logging(settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
@click.pass_obj
def db_upgrade(state) -> None:
    """Apply every pending migration (safe to run again)."""
    state.runtime().db.upgrade()
    click.echo("Database is up to date.")


@click.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--threads", type=int, default=None, help="Worker threads (default: worker_threads).")
@click.pass_obj
def worker_command(state, queues: tuple[str, ...], threads: int | None) -> None:
    """Run a Dramatiq worker for QUEUES (default: every queue, extensions' included)."""
    from service.extensions import ready_extensions
    from service.infra.outage import retry_through_outage
    from service.sources.extension_jobs import refresh_extension_jobs
    from service.sources.local import refresh_local_jobs
    from service.worker import actors

    runtime = state.runtime()
    _logging(runtime.settings)
    unknown = sorted(set(queues) - set(runtime.settings.all_queues))
    if unknown:
        raise click.BadParameter(f"unknown queue(s): {', '.join(unknown)}", param_hint="QUEUES")
    # A database restarting as the worker starts is waited for, not a reason to exit.
    retry_through_outage(lambda: (refresh_local_jobs(runtime), refresh_extension_jobs(runtime)),
                         grace_seconds=runtime.settings.db_outage_grace_seconds, what="worker start-up")
    ready_extensions(runtime)
    stop = _wait_for_stop_signal()
    actors.serve(runtime, queues or runtime.settings.all_queues, threads=threads, stop=stop)


@click.command("scheduler")
@click.pass_obj
def scheduler_command(state) -> None:
    """Run the scheduler: enqueue due work, re-send lost messages, fail dead runs."""
    from service.extensions import ready_extensions
    from service.scheduling.loop import Scheduler

    runtime = state.runtime()
    _logging(runtime.settings)
    ready_extensions(runtime)
    stop = _wait_for_stop_signal()
    Scheduler(runtime).run_forever(stop)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.pass_obj
def serve_command(state, host: str, port: int) -> None:
    """Run web server, worker threads and scheduler in one process (migrates the database first)."""
    from werkzeug.serving import make_server

    from service.app import create_app
    from service.scheduling.loop import Scheduler
    from service.sources.extension_jobs import refresh_extension_jobs
    from service.sources.local import refresh_local_jobs
    from service.web.session_key import session_secret_key
    from service.worker import actors

    runtime = state.runtime()
    _logging(runtime.settings)
    session_secret_key(runtime.settings, bind_host=host)  # no usable key: refuse before anything runs
    runtime.db.upgrade()
    refresh_local_jobs(runtime)
    refresh_extension_jobs(runtime)
    stop = _wait_for_stop_signal()
    worker_thread = threading.Thread(
        target=actors.serve, args=(runtime, runtime.settings.all_queues),
        kwargs={"stop": stop}, name="jobsync-worker", daemon=True)
    scheduler_thread = threading.Thread(target=Scheduler(runtime).run_forever, args=(stop,),
                                        name="jobsync-scheduler", daemon=True)
    server = make_server(host, port, create_app(runtime=runtime, bind_host=host), threaded=True)
    worker_thread.start()
    scheduler_thread.start()
    threading.Thread(target=lambda: (stop.wait(), server.shutdown()), daemon=True).start()
    click.echo(f"jobsync serving on http://{host}:{server.server_port}/ (Ctrl-C to stop)")
    server.serve_forever()
    worker_thread.join(timeout=10)
    scheduler_thread.join(timeout=5)


COMMANDS = [db_group, worker_command, scheduler_command, serve_command]
