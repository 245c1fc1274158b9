"""The job logger: a standard ``logging.Logger`` with SUCCESS and FAILURE levels (Nautobot's 25 and
35), module-level task loggers that reach the running job's log (Celery's ``get_task_logger``), and
the handler that turns records into sanitised ``LogEntry`` rows for a sink."""

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

SUCCESS = 25  # between INFO and WARNING, as in Nautobot
FAILURE = 35  # between WARNING and ERROR, as in Nautobot
logging.addLevelName(SUCCESS, "SUCCESS")
logging.addLevelName(FAILURE, "FAILURE")

LEVELS = ("debug", "info", "success", "warning", "failure", "error", "critical")
FALLBACK_LOGGER_NAME = "jobsync.jobs"
#: Parent of every ``get_task_logger`` logger, like Celery's ``celery.task``.
TASK_LOGGER_NAME = "jobsync.task"


def level_name(levelno: int) -> str:
    """Map a logging level number to one of ``LEVELS``."""
    bounds = ((logging.INFO, "debug"), (SUCCESS, "info"), (logging.WARNING, "success"),
              (FAILURE, "warning"), (logging.ERROR, "failure"), (logging.CRITICAL, "error"))
    return next((name for bound, name in bounds if levelno < bound), "critical")


class JobLogger(logging.Logger):
    """Logger with ``success()`` and ``failure()``, Nautobot's extra levels.

    A failure entry does not fail the run (Nautobot 2): only ``Job.fail()``, 1.x ``log_failure()``
    or an exception does.
    """

    def __init__(self, name: str, level: int = logging.DEBUG):
        super().__init__(name, level)

    def success(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at SUCCESS (between INFO and WARNING)."""
        if self.isEnabledFor(SUCCESS):
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
            self._log(SUCCESS, msg, args, **kwargs)

    def failure(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log at FAILURE (between WARNING and ERROR); the run's outcome is unchanged."""
        if self.isEnabledFor(FAILURE):
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
            self._log(FAILURE, msg, args, **kwargs)


def detached_logger(name: str, *handlers: logging.Handler) -> JobLogger:
    """Return a JobLogger outside logging's global registry, writing only to ``handlers``."""
    logger = JobLogger(name)
    logger.propagate = False
    for handler in handlers:
        logger.addHandler(handler)
    return logger


_task_loggers: dict[str, JobLogger] = {}
_current_recorder: contextvars.ContextVar["logging.Handler | None"] = contextvars.ContextVar(
    "jobsync_current_recorder", default=None
)


class _CurrentRunHandler(logging.Handler):
    """Send task loggers' records to the recorder of the run going on in this thread, if any."""

    def emit(self, record: logging.LogRecord) -> None:
        recorder = _current_recorder.get()
        if recorder is not None:
            recorder.handle(record)


_task_parent = logging.getLogger(TASK_LOGGER_NAME)
_task_parent.setLevel(logging.DEBUG)
_task_parent.addHandler(_CurrentRunHandler())


def get_task_logger(name: str) -> JobLogger:
    """Return the module-level logger ``name`` whose records reach the running job's log.

    Celery's ``get_task_logger(__name__)``, as Nautobot job modules use it; outside a run its
    records go to ordinary logging.
    """
    logger = _task_loggers.get(name)
    if logger is None:
        logger = _task_loggers[name] = JobLogger(name)
        logger.parent = _task_parent
    return logger


@contextmanager
def task_loggers_to(recorder: logging.Handler) -> Iterator[None]:
    """Send task loggers' records to ``recorder`` while a run is in progress in this context."""
    token = _current_recorder.set(recorder)
    try:
        yield
    finally:
        _current_recorder.reset(token)


def fallback_logger(name: str) -> JobLogger:
    """Return a JobLogger for a job used outside a run: records go to ordinary logging."""
    logger = JobLogger(f"{FALLBACK_LOGGER_NAME}.{name}")
    logger.parent = logging.getLogger(FALLBACK_LOGGER_NAME)
    return logger


@dataclass(frozen=True)
class LogEntry:
    """One sanitised log line of a run, as a sink stores it."""

    level: str
    message: str
    grouping: str
    object: dict[str, Any] | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_row(self) -> dict[str, Any]:
        """Return the fields as a dict: a shallow copy, cheaper than ``dataclasses.asdict``."""
        return dict(vars(self))


class LogSink(Protocol):
    """Where a run's log entries and created files go (the service stores them in its database)."""

    def log(self, entry: LogEntry) -> None: ...

    def save_file(self, name: str, content: bytes) -> None: ...


def _json_id(value: Any) -> Any:
    if value is None or isinstance(value, (int, str)) and not isinstance(value, bool):
        return value
    return str(value)


def describe_object(obj: Any, sanitise: Callable[[str], str] = str) -> dict[str, Any] | None:
    """Return the JSON reference ``{"type", "id", "repr"}`` stored with a log entry about ``obj``."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        kind = obj.get("object_type")
        ident = obj.get("id", obj.get("object_id"))
        text = obj.get("display") or obj.get("name") or str(obj)
    elif isinstance(obj, (str, int, float)):
        kind, ident, text = None, None, str(obj)
    else:
        meta = getattr(obj, "_meta", None)
        kind = getattr(obj, "object_type", None) or getattr(meta, "label_lower", None) or type(obj).__name__
        ident = getattr(obj, "id", None)
        if ident is None:
            ident = getattr(obj, "pk", None)
        text = str(obj)
    return {"type": None if kind is None else str(kind), "id": _json_id(ident), "repr": sanitise(str(text))}


class LogRecorder(logging.Handler):
    """Handler that sanitises a run's records into LogEntry objects, counts them and feeds the sink.

    ``grouping`` is the lifecycle method now running; the driver updates it, and a record's own
    ``extra={"grouping": ...}`` wins over it.
    """

    def __init__(self, sink: LogSink, sanitise: Callable[[str], str]):
        super().__init__(level=logging.DEBUG)
        self.sink = sink
        self.sanitise = sanitise
        self.grouping = "initialization"
        self.counts = dict.fromkeys(LEVELS, 0)
        self.first_failure: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "skip_db_logging", False):
            return
        entry = self.entry_for(record)
        self.counts[entry.level] += 1
        if entry.level == "failure" and self.first_failure is None:
            self.first_failure = entry.message
        self.sink.log(entry)

    def entry_for(self, record: logging.LogRecord) -> LogEntry:
        """Build the sanitised entry for one record."""
        return LogEntry(
            level=level_name(record.levelno),
            message=self.sanitise(self.message_of(record)),
            grouping=str(getattr(record, "grouping", None) or self.grouping),
            object=describe_object(getattr(record, "object", None), self.sanitise),
            created=datetime.fromtimestamp(record.created, UTC),
        )

    def message_of(self, record: logging.LogRecord) -> str:
        """Return the formatted message with any exception traceback appended."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg} {record.args}"
        if record.exc_info:
            message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
        return message
