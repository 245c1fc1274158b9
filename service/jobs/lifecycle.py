"""The run driver: validate, then before_start -> run -> on_success | on_failure -> after_return.

Everything the job says or raises goes through the sanitiser before reaching the sink or the
outcome. Only KeyboardInterrupt escapes; any other exception, SystemExit included, ends FAILURE.
"""

import json
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .base import Job
from .context import DEFAULT_MAX_FILE_BYTES, RunContext, TaskRequest
from .errors import SoftTimeLimitExceeded, ValidationError
from .legacy import has_legacy_run, test_method_names
from .logs import LogRecorder, LogSink, detached_logger, task_loggers_to
from .sanitise import Sanitiser
from .variables import DryRunVar

SUCCESS = "SUCCESS"
FAILURE = "FAILURE"


@dataclass(frozen=True)
class ExceptionInfo:
    """What ``on_failure``/``after_return`` get as ``einfo`` (the shape of Celery's, sanitised)."""

    exception: BaseException
    type: type
    traceback: str


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended, ready to be stored on its JobResult."""

    status: str
    result: Any
    error: str | None
    traceback: str | None
    log_counts: dict[str, int]
    dryrun: bool
    retryable: bool = False  # failed by an exception its Meta.retry_on names, and retries are declared
    chained: bool = False  # its Meta names jobs to start next (on_success_run / on_failure_run)


def error_text(exc: BaseException) -> str:
    """Return the one-line description of an exception stored as a run's error."""
    if isinstance(exc, SoftTimeLimitExceeded):
        return "soft time limit exceeded"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Run:
    """One execution of a job class: the stage calls and the first error they produced."""

    def __init__(self, job_class: type[Job], sink: LogSink, sanitise: Callable[[str], str], task_id: str):
        self.job_class = job_class
        self.sanitise = sanitise
        self.task_id = task_id
        self.recorder = LogRecorder(sink, sanitise)
        self.logger = detached_logger(
            f"jobsync.job.{job_class.__module__}.{job_class.__qualname__}", self.recorder
        )
        self.job: Job | None = None
        self.invalid = False
        self.error: str | None = None
        self.einfo: ExceptionInfo | None = None

    def call(self, stage: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[bool, Any]:
        """Call one lifecycle method with its logs grouped under ``stage``; return (ok, value).

        When it raises, the value is the exception.
        """
        self.recorder.grouping = stage
        try:
            with task_loggers_to(self.recorder):
                return True, func(*args, **kwargs)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a job's SystemExit must end its run, not the worker
            self.record_exception(exc)
            return False, exc

    def record_exception(self, exc: BaseException) -> None:
        """Log the exception at error level and keep the first one as the run's error."""
        error = self.sanitise(error_text(exc))
        trace = self.sanitise("".join(traceback.format_exception(exc)))
        self.logger.error("%s\n\n%s", error, trace)
        if self.einfo is None:
            self.error = error
            self.einfo = ExceptionInfo(exception=exc, type=type(exc), traceback=trace)

    @property
    def failed(self) -> bool:
        """A run fails on an exception, invalid input or ``fail()``; a failure log alone does not."""
        return self.einfo is not None or self.invalid or bool(self.job is not None and self.job.failed)

    def outcome(self, result: Any, dryrun: bool) -> RunOutcome:
        error = self.error
        if error is None and self.failed:
            error = self.recorder.first_failure or "The job reported a failure."
        return RunOutcome(
            status=FAILURE if self.failed else SUCCESS,
            result=result,
            error=error,
            traceback=self.einfo.traceback if self.einfo else None,
            log_counts=dict(self.recorder.counts),
            dryrun=dryrun,
            retryable=self.failed and self.retryable,
            chained=self.chained,
        )

    @property
    def chained(self) -> bool:
        try:
            options = self.job_class.options()
        except Exception:  # a bad Meta failed the run at initialization
            return False
        return bool(options.on_success_run or options.on_failure_run)

    @property
    def retryable(self) -> bool:
        """A failure by exception, not the job's own verdict (``fail()``, JobFailed, bad input)."""
        if self.invalid or self.einfo is None or (self.job is not None and self.job.failed):
            return False
        try:
            options = self.job_class.options()
        except Exception:  # a bad Meta already failed the run at initialization: not retried
            return False
        return options.retry_policy.retries_exception(self.einfo.exception)


def execute(
    job_class: type[Job],
    data: dict | None,
    *,
    sink: LogSink,
    dryrun: bool | None = False,
    user: Any = None,
    job_result: Any = None,
    task_id: str | None = None,
    files: dict | None = None,
    sanitiser: Callable[[str], str] | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> RunOutcome:
    """Run ``job_class`` once with ``data``, sending logs and files to ``sink``.

    ``dryrun=None`` takes the job's ``dryrun_default``; read-only jobs always run dry.
    Raises only TypeError (not a Job class) and KeyboardInterrupt.
    """
    if not (isinstance(job_class, type) and issubclass(job_class, Job)):
        raise TypeError(f"{job_class!r} is not a Job subclass")
    run = _Run(job_class, sink, sanitiser or Sanitiser(), task_id or str(uuid.uuid4()))
    ok, job = run.call("initialization", job_class)
    if ok:
        ok, options = run.call("initialization", job_class.options)
    if not ok:
        return run.outcome(None, bool(dryrun))
    dryrun = options.read_only or (options.dryrun_default if dryrun is None else bool(dryrun))
    job.logger, job.user, job.job_result = run.logger, user, job_result
    job.request = TaskRequest(id=run.task_id, user=user)
    run.job = job
    job._context = RunContext(sink=sink, max_file_bytes=max_file_bytes)
    ok, kwargs = run.call("validation", _validated, run, job_class, data, files)
    if not ok or kwargs is None:
        return run.outcome(None, dryrun)
    job.dryrun = _apply_dryrun_variables(job_class, kwargs, dryrun)
    result = _drive(run, job, kwargs)
    return run.outcome(result, job.dryrun)


def _validated(run: _Run, job_class: type[Job], data: Any, files: Any) -> dict[str, Any] | None:
    """Return the cleaned data, or None after logging one failure entry per invalid field."""
    try:
        return job_class.validate_data(data, files)
    except ValidationError as exc:
        for field, messages in exc.fields.items():
            run.logger.failure("%s: %s", field, " ".join(messages))
        run.invalid = True
        run.error = run.sanitise(f"Invalid job data: {exc}")
        return None


def _apply_dryrun_variables(job_class: type[Job], kwargs: dict[str, Any], dryrun: bool) -> bool:
    """Let a DryRunVar ask for a dry run, then give every DryRunVar the effective value."""
    names = [name for name, var in job_class.variables().items() if isinstance(var, DryRunVar)]
    dryrun = dryrun or any(kwargs[name] for name in names)
    kwargs.update(dict.fromkeys(names, dryrun))
    return dryrun


def _drive(run: _Run, job: Job, kwargs: dict[str, Any]) -> Any:
    """Call the lifecycle methods as Nautobot 2's ``run_job`` does; return the JSON-safe result.

    ``on_failure``/``after_return`` get the exception and its einfo when one was raised, else the
    return value (of ``run``, or of a ``before_start`` that called ``fail()``) and no einfo.
    """
    args: tuple = ()
    ok, retval = run.call("before_start", job.before_start, run.task_id, args, kwargs)
    if ok and not run.failed:
        ok, retval = _run_body(run, job, kwargs)
    result = _json_result(run, retval) if ok else None
    if ok and not run.failed:
        ok, exc = run.call("on_success", job.on_success, retval, run.task_id, args, kwargs)
        if not ok:
            retval = exc
    if run.failed:
        einfo = run.einfo if not ok else None
        run.call("on_failure", job.on_failure, retval, run.task_id, args, kwargs, einfo)
    status = FAILURE if run.failed else SUCCESS
    einfo = run.einfo if not ok else None
    run.call("after_return", job.after_return, status, retval, run.task_id, args, kwargs, einfo)
    return result


def _run_body(run: _Run, job: Job, kwargs: dict[str, Any]) -> tuple[bool, Any]:
    """Call ``run`` (2.x keywords, or 1.x ``run(data, commit)`` then ``test_*`` then ``post_run``).

    Return (ok, value): the return value of ``run``, or the exception that stopped the body.
    """
    legacy = has_legacy_run(job)
    report_only = type(job).run is Job.run and bool(test_method_names(job))
    if report_only:
        ok, retval = True, None
    elif legacy:
        ok, retval = run.call("run", job.run, dict(kwargs), commit=not job.dryrun)
    else:
        ok, retval = run.call("run", job.run, **kwargs)
    if not (legacy or report_only):
        return ok, retval
    for name in test_method_names(job) if ok else []:
        ok, failure = run.call(name, getattr(job, name))
        if not ok:
            retval = failure
            break
    if callable(getattr(job, "post_run", None)):  # 1.x ran post_run whatever happened before
        post_ok, failure = run.call("post_run", job.post_run)
        if ok and not post_ok:
            return False, failure
    return ok, retval


def _json_result(run: _Run, retval: Any) -> Any:
    """Return ``retval`` if JSON can store it; otherwise log a warning and return None."""
    try:
        json.dumps(retval, allow_nan=False)
    except (TypeError, ValueError):
        run.logger.warning(
            "The job returned a %s, which cannot be stored as JSON; the result is empty.",
            type(retval).__name__,
            extra={"grouping": "run"},
        )
        return None
    return retval
