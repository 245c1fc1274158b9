"""Run job code in a child process that the worker can outlive.

Each worker thread keeps one child (started from a forkserver with the authoring API preloaded,
so a start costs milliseconds) and reuses it run after run. A run that raises, exits, crashes
the interpreter, overruns its hard time limit or is cancelled costs only that child: the
worker kills it if needed, records why, and starts a fresh one for the next run.

The child sends ``("log", entry)``, ``("file", name, bytes)`` and finally ``("done", outcome)``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import multiprocessing
import signal
import time
from collections.abc import Callable
from typing import Any

from service.jobs.errors import SoftTimeLimitExceeded

#: Recycle a child after this many runs, bounding what job code may leak between runs.
MAX_RUNS_PER_CHILD = 500
PRELOAD = ["service.jobs", "service.jobs.lifecycle", "repos.loader", "service.worker.job_process"]


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """Everything a child needs to load and run one job; plain data, picklable."""

    job_result_id: str
    module_name: str
    class_name: str
    data: dict
    dryrun: bool
    files: dict = dataclasses.field(default_factory=dict)
    namespace: str | None = None  # a repository slug whose checkout must be imported
    checkout: str | None = None
    commit: str | None = None
    user: dict | None = None
    soft_time_limit: float | None = None
    sanitiser_patterns: tuple = ()
    max_file_bytes: int = 10 * 1024 * 1024


@dataclasses.dataclass
class ChildOutcome:
    status: str
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    log_counts: dict = dataclasses.field(default_factory=dict)
    killed: str | None = None  # why the child was killed or died, if it was


# --- in the child -------------------------------------------------------------------------


class _PipeSink:
    def __init__(self, connection):
        self.connection = connection

    def log(self, entry) -> None:
        self.connection.send(("log", entry.as_row()))

    def save_file(self, name: str, content: bytes) -> None:
        self.connection.send(("file", name, content))


def load_class(request: RunRequest, loaded_commits: dict[str, str]):
    """Import the requested job class; ``loaded_commits`` remembers which commit each namespace holds."""
    if request.namespace is None:
        return getattr(importlib.import_module(request.module_name), request.class_name)
    from repos import loader

    if loaded_commits.get(request.namespace) not in (None, request.commit):
        loader.purge_namespace(request.namespace)  # another commit of the same code was loaded
    loaded_commits[request.namespace] = request.commit
    return loader.load_job_class(request.namespace, request.checkout, request.module_name, request.class_name)


def _raise_soft_limit(signum, frame):
    raise SoftTimeLimitExceeded("soft time limit exceeded")


def request_sanitiser(request: RunRequest):
    return _sanitiser(tuple(request.sanitiser_patterns))


@functools.lru_cache(maxsize=8)
def _sanitiser(extra_patterns: tuple):
    """One compiled Sanitiser per pattern set: the settings rarely change, runs are many."""
    from service.jobs.sanitise import DEFAULT_PATTERNS, Sanitiser

    return Sanitiser([*DEFAULT_PATTERNS, *extra_patterns])


def execute_request(job_class, request: RunRequest, sink, sanitiser=None):
    """Run ``job_class`` as ``request`` describes, through the authoring API's lifecycle driver."""
    from types import SimpleNamespace

    from service.jobs.lifecycle import execute

    return execute(
        job_class,
        request.data,
        sink=sink,
        dryrun=request.dryrun,
        files=request.files or None,
        user=SimpleNamespace(**request.user) if request.user else None,
        job_result=SimpleNamespace(id=request.job_result_id),
        task_id=request.job_result_id,
        sanitiser=sanitiser or request_sanitiser(request),
        max_file_bytes=request.max_file_bytes,
    )


def _run_in_child(request: RunRequest, connection, loaded_commits: dict[str, str]) -> dict:
    import traceback as traceback_module

    sanitiser = request_sanitiser(request)
    try:
        job_class = load_class(request, loaded_commits)
    except Exception as exc:  # job code failing to import is the job's failure, not ours
        return {
            "status": "FAILURE",
            "error": sanitiser(f"Could not load job: {type(exc).__name__}: {exc}"),
            "traceback": sanitiser(traceback_module.format_exc()),
            "result": None,
            "log_counts": {},
        }
    if request.soft_time_limit:
        signal.setitimer(signal.ITIMER_REAL, request.soft_time_limit)
    try:
        outcome = execute_request(job_class, request, _PipeSink(connection), sanitiser)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return {
        "status": outcome.status,
        "result": outcome.result,
        "error": outcome.error,
        "traceback": outcome.traceback,
        "log_counts": outcome.log_counts,
    }


def child_main(connection) -> None:
    """Serve run requests until the parent closes the pipe."""
    signal.signal(signal.SIGALRM, _raise_soft_limit)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when children stop
    loaded_commits: dict[str, str] = {}
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(("done", _run_in_child(request, connection, loaded_commits)))


# --- in the worker ------------------------------------------------------------------------

_context = None


def _mp_context():
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


class JobProcess:
    """One reusable child process running one job at a time."""

    def __init__(self):
        context = _mp_context()
        self.connection, child_end = context.Pipe(duplex=True)
        self.process = context.Process(target=child_main, args=(child_end,), daemon=True, name="jobsync-job")
        self.process.start()
        child_end.close()
        self.runs = 0

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def run(
        self,
        request: RunRequest,
        *,
        on_log: Callable[[dict], None],
        on_file: Callable[[str, bytes], None],
        on_tick: Callable[[], bool],
        time_limit: float | None,
        tick_seconds: float,
    ) -> ChildOutcome:
        """Run ``request``; ``on_tick`` is called between messages and returns True to cancel."""
        self.runs += 1
        deadline = time.monotonic() + time_limit if time_limit else None
        try:
            self.connection.send(request)
        except OSError:
            return self._died()
        while True:
            wait = tick_seconds
            if deadline is not None:
                wait = max(0.0, min(tick_seconds, deadline - time.monotonic()))
            try:
                ready = self.connection.poll(wait)
                while ready:
                    message = self.connection.recv()
                    if message[0] == "log":
                        on_log(message[1])
                    elif message[0] == "file":
                        on_file(message[1], message[2])
                    else:
                        return ChildOutcome(**message[1])
                    ready = self.connection.poll(0)
            except (EOFError, OSError):
                return self._died()
            if deadline is not None and time.monotonic() >= deadline:
                self.kill()
                return ChildOutcome(
                    "FAILURE",
                    error=f"Time limit exceeded ({time_limit:g} s): job killed.",
                    killed="time limit",
                )
            if on_tick():
                self.kill()
                return ChildOutcome(
                    "REVOKED", error="Cancelled while running: job process terminated.", killed="cancelled"
                )

    def _died(self) -> ChildOutcome:
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is not None and code < 0:
            how = f"killed by signal {signal.Signals(-code).name}"
        else:
            how = f"exit status {code}"
        return ChildOutcome("FAILURE", error=f"Job process exited unexpectedly ({how}).", killed="died")

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()

    def close(self) -> None:
        self.connection.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.kill()


class JobProcessPool:
    """Hands each worker thread its own JobProcess, replacing dead or worn-out ones."""

    def __init__(self):
        import threading

        self._local = threading.local()

    def acquire(self) -> JobProcess:
        current: JobProcess | None = getattr(self._local, "process", None)
        if current is None or not current.alive or current.runs >= MAX_RUNS_PER_CHILD:
            if current is not None:
                current.close()
            current = self._local.process = JobProcess()
        return current
