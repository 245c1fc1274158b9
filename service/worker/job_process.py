"""Run job code in a child process that the worker can outlive, and that no other run can reach.

Each worker thread keeps one child, started from a forkserver with the authoring API preloaded so a
start costs milliseconds. A child is reused only for the next run of the same job class, commit and
user, and never after a run with sensitive input: job code that patches its process can see nothing
of another job's, commit's or user's runs. A run that raises, exits, crashes the interpreter,
overruns its hard time limit or is cancelled costs only that child: the worker kills it if needed,
records why, and starts a fresh one for the next run.

The child answers in JSON, never pickle, so job code cannot make the worker run code: it sends
``["log", entry]``, ``["file", name, base64]`` and finally ``["done", outcome]``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import functools
import importlib
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from repos.process_guard import clean_python_launcher, drop_ptrace_capability, make_non_dumpable
from service.jobs.errors import SoftTimeLimitExceeded

#: Recycle a child after this many runs, bounding what job code may leak between runs.
MAX_RUNS_PER_CHILD = 500
# repos.environments too: a fresh child of a commit with dependencies would otherwise import it
# (about 20 ms) before its first run.
PRELOAD = ["service.jobs", "service.jobs.lifecycle", "repos.loader", "repos.process_guard",
           "repos.environments", "service.worker.job_process"]


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
    sensitive: bool = False  # it carries sensitive input: its child is never reused
    environment: str | None = None  # the commit's dependency folder, imported ahead of ours
    trace_context: dict | None = None  # W3C trace headers of the run's span (tracing extra only)
    key_context: dict | None = None  # set: only compute the job's concurrency key (run's context names)

    @property
    def reuse_key(self) -> tuple:
        """Runs with equal keys may share a child: same job class, commit and user."""
        user = (self.user or {}).get("id")
        return (self.namespace, self.module_name, self.class_name, self.commit, self.environment, user)


@dataclasses.dataclass
class ChildOutcome:
    status: str
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    log_counts: dict = dataclasses.field(default_factory=dict)
    killed: str | None = None  # why the child was killed or died, if it was
    retryable: bool = False  # a failure its job's Meta.retry_on allows retrying (service.jobs.retries)
    chained: bool = False  # its job starts others when it ends (service.runs.chains)


# --- in the child -------------------------------------------------------------------------


def _send_json(connection, message: list) -> None:
    connection.send_bytes(json.dumps(message, default=_plain).encode())


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # a log entry's object reference is made JSON-safe already; never fail a send


class _PipeSink:
    def __init__(self, connection):
        self.connection = connection

    def log(self, entry) -> None:
        _send_json(self.connection, ["log", entry.as_row()])

    def save_file(self, name: str, content: bytes) -> None:
        _send_json(self.connection, ["file", name, base64.b64encode(content).decode()])


_active_environment: str | None = None  # in a child: the dependency folder put on its sys.path


def load_class(request: RunRequest, loaded_commits: dict[str, str]):
    """Import the requested job class; ``loaded_commits`` remembers which commit each namespace holds."""
    global _active_environment
    if request.environment is not None and request.environment != _active_environment:
        from repos.environments import activate

        activate(request.environment)  # once per child: a child serves one commit's runs only
        _active_environment = request.environment
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
    from datetime import UTC

    from service.jobs.context import RunRecord, RunUser
    from service.jobs.lifecycle import execute

    user = RunUser(**request.user) if request.user else None
    context = contextlib.nullcontext()
    if request.trace_context:  # only with tracing on: the child imports nothing more otherwise
        from service.observability.tracing import attached

        context = attached(request.trace_context)
    with context:  # a job's own spans nest under its run
        return execute(
            job_class,
            request.data,
            sink=sink,
            dryrun=request.dryrun,
            files=request.files or None,
            user=user,
            job_result=RunRecord(
                id=request.job_result_id,
                user=user,
                task_kwargs=dict(request.data),
                date_created=datetime.now(UTC),
            ),
            task_id=request.job_result_id,
            sanitiser=sanitiser or request_sanitiser(request),
            max_file_bytes=request.max_file_bytes,
        )


def compute_key_request(job_class, request: RunRequest, sanitiser) -> dict:
    """Answer a key request: SUCCESS with the key as result, or FAILURE naming the key function."""
    from service.jobs.concurrency import KeyFunctionFailed, compute_key

    try:
        key = compute_key(job_class, request.data, request.key_context or {})
    except KeyFunctionFailed as exc:
        trace = sanitiser(exc.trace) if exc.trace else None
        return {"status": "FAILURE", "error": sanitiser(str(exc)), "traceback": trace, "result": None,
                "log_counts": {}}
    return {"status": "SUCCESS", "result": key, "log_counts": {}}


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
    if request.key_context is not None:
        return compute_key_request(job_class, request, sanitiser)
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
        "retryable": outcome.retryable,
        "chained": outcome.chained,
    }


def child_main(connection) -> None:
    """Serve run requests until the parent closes the pipe."""
    # Job code may not trace or read the worker (non-dumpable) nor other job children (this too).
    drop_ptrace_capability()
    make_non_dumpable()
    signal.signal(signal.SIGALRM, _raise_soft_limit)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when children stop
    loaded_commits: dict[str, str] = {}
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        _send_json(connection, ["done", _run_in_child(request, connection, loaded_commits)])


# --- in the worker ------------------------------------------------------------------------

_context = None


def _mp_context():
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
        if os.path.exists("/usr/bin/env"):
            # The forkserver (and so every job child) starts from the allow-listed environment.
            _context.set_executable(clean_python_launcher())
    return _context


class JobProcess:
    """One child process running one job at a time, reused only for runs with its ``reuse_key``."""

    def __init__(self):
        context = _mp_context()
        self.connection, child_end = context.Pipe(duplex=True)
        self.process = context.Process(target=child_main, args=(child_end,), daemon=True, name="jobsync-job")
        self.process.start()
        child_end.close()
        self.runs = 0
        self.reuse_key: tuple | None = None
        self.reusable = True

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
        self.reuse_key = request.reuse_key
        self.reusable = self.reusable and not request.sensitive
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
                    kind, *body = json.loads(self.connection.recv_bytes())
                    if kind == "log":
                        on_log(_log_row(body[0]))
                    elif kind == "file":
                        on_file(str(body[0]), base64.b64decode(body[1]))
                    else:
                        return _outcome(body[0])
                    ready = self.connection.poll(0)
            except (EOFError, OSError):
                return self._died()
            except (ValueError, TypeError, KeyError, IndexError):  # the job wrote to the pipe itself
                self.kill()
                return ChildOutcome("FAILURE", error="Job process broke its reporting channel: job killed.",
                                    killed="protocol")
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


def _log_row(entry: dict) -> dict:
    row = {name: entry.get(name) for name in ("level", "message", "grouping", "object")}
    row["level"], row["message"] = str(row["level"]), str(row["message"])
    row["grouping"] = str(row["grouping"] or "run")
    row["created"] = datetime.fromisoformat(entry["created"])
    return row


def _outcome(values: dict) -> ChildOutcome:
    return ChildOutcome(
        status=str(values["status"]),
        result=values.get("result"),
        error=values.get("error"),
        traceback=values.get("traceback"),
        log_counts=dict(values.get("log_counts") or {}),
        retryable=bool(values.get("retryable")),
        chained=bool(values.get("chained")),
    )


class JobProcessPool:
    """Hands each worker thread its own JobProcess: reused for the same job, commit and user, else fresh."""

    def __init__(self):
        import threading

        self._local = threading.local()

    def acquire(self, request: RunRequest) -> JobProcess:
        current: JobProcess | None = getattr(self._local, "process", None)
        if current is not None and not self._may_reuse(current, request):
            current.close()
            current = None
        if current is None:
            current = self._local.process = JobProcess()
        return current

    @staticmethod
    def _may_reuse(process: JobProcess, request: RunRequest) -> bool:
        return (
            process.alive
            and process.reusable
            and process.runs < MAX_RUNS_PER_CHILD
            and process.reuse_key == request.reuse_key
        )
