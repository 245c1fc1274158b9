"""NetBox-style background jobs: ``JobRunner`` subclasses, enqueued through a dispatcher that the
service installs at start-up, and ``system_job`` for the ones that recur on their own."""

import importlib
import logging
from typing import Any, Protocol

from .errors import DispatcherNotConfigured, RegistrationError, RunnerNotFound
from .logs import JobLogger
from .options import read_retry_policy
from .retries import RetryPolicy
from .sanitise import Sanitiser

RUNNER_LOGGER_NAME = "jobsync.runner"
_sanitise = Sanitiser()

_runners: dict[str, type["JobRunner"]] = {}
_system_jobs: dict[type["JobRunner"], int] = {}
_dispatcher: "Dispatcher | None" = None


class Dispatcher(Protocol):
    """What the service provides to turn ``enqueue`` calls into JobResults and messages."""

    def enqueue(
        self,
        runner_class: type["JobRunner"],
        args: tuple,
        kwargs: dict[str, Any],
        *,
        instance: Any,
        schedule_at: Any,
        interval: int | None,
        queue: str | None,
        user: Any,
        once: bool,
    ) -> Any: ...

    def get_jobs(self, runner_class: type["JobRunner"], instance: Any) -> Any: ...


def set_dispatcher(dispatcher: Dispatcher | None) -> None:
    """Install the dispatcher every JobRunner enqueues through (None uninstalls it)."""
    global _dispatcher
    _dispatcher = dispatcher


def get_dispatcher() -> Dispatcher:
    """Return the installed dispatcher; raises DispatcherNotConfigured when there is none."""
    if _dispatcher is None:
        raise DispatcherNotConfigured(
            "No job dispatcher is installed: the service installs one at start-up with set_dispatcher()."
        )
    return _dispatcher


def runner_path(runner_class: type) -> str:
    """Return the name a runner is stored and found by: its ``runner_name``, else ``module:QualName``.

    A stable ``runner_name`` lets the class move between modules without stranding waiting rows.
    """
    explicit = runner_class.__dict__.get("runner_name")
    return explicit or f"{runner_class.__module__}:{runner_class.__qualname__}"


class _RunnerType(type):
    @property
    def name(cls) -> str:
        """Return ``Meta.name``, or the class name."""
        return getattr(cls.Meta, "name", None) or cls.__name__


class JobRunner(metaclass=_RunnerType):
    """Base of background jobs: define ``run(*args, **kwargs)``; ``self.job`` is the JobResult.

    As in NetBox, a failed run is not retried, unless ``Meta`` declares retries as a Job's does
    (``retries``, ``retry_backoff``, ``retry_on``, ``retry_on_worker_lost``).
    """

    class Meta:
        pass

    retry_policy: RetryPolicy = RetryPolicy()

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        cls.retry_policy = read_retry_policy(cls)  # a bad Meta fails where the class is defined
        # Later definitions win, so reloading a module in development replaces its runners.
        _runners[runner_path(cls)] = cls

    def __init__(self, job: Any = None):
        self.job = job
        self.logger = runner_logger(type(self), job)

    @property
    def name(self) -> str:
        return type(self).name

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Do the work; the return value is the job's result."""
        raise NotImplementedError(f"{type(self).__qualname__} must define run()")

    def handle(self, job_result: Any, *args: Any, **kwargs: Any) -> Any:
        """Run for ``job_result`` (the service's JobResult) and return ``run``'s value."""
        self.job = job_result
        self.logger = bind_runner_logger(self.logger, type(self), job_result)
        return self.run(*args, **kwargs)

    @classmethod
    def enqueue(cls, *args: Any, instance: Any = None, schedule_at: Any = None, interval: int | None = None,
                queue: str | None = None, user: Any = None, **kwargs: Any) -> Any:
        """Ask the dispatcher for a new run; raises DispatcherNotConfigured without one."""
        return cls._dispatch(args, kwargs, instance, schedule_at, interval, queue, user, once=False)

    @classmethod
    def enqueue_once(cls, *args: Any, instance: Any = None, schedule_at: Any = None,
                     interval: int | None = None, queue: str | None = None, user: Any = None,
                     **kwargs: Any) -> Any:
        """Ask for a run unless an equivalent one is already waiting (the dispatcher decides)."""
        return cls._dispatch(args, kwargs, instance, schedule_at, interval, queue, user, once=True)

    @classmethod
    def _dispatch(cls, args: tuple, kwargs: dict, instance, schedule_at, interval, queue, user, *,
                  once: bool) -> Any:
        return get_dispatcher().enqueue(cls, args, kwargs, instance=instance, schedule_at=schedule_at,
                                        interval=interval, queue=queue, user=user, once=once)

    @classmethod
    def get_jobs(cls, instance: Any = None) -> Any:
        """Return this runner's jobs (for ``instance`` when given), as the dispatcher finds them."""
        return get_dispatcher().get_jobs(cls, instance)

    @classmethod
    def setup(cls, interval: int | None = None) -> Any:
        """Schedule the recurring run once; a system job defaults to its declared interval."""
        if interval is None:
            interval = _system_jobs.get(cls)
        return cls.enqueue_once(interval=interval)


class _JobResultFilter(logging.Filter):
    """Stamp records with the runner and its JobResult so a service handler can route them, and
    sanitise the message before any handler (the service's or the console) sees it."""

    def __init__(self, runner_class: type, job_result: Any):
        super().__init__()
        self.runner = runner_path(runner_class)
        self.job_result = job_result

    def filter(self, record: logging.LogRecord) -> bool:
        record.runner = self.runner
        record.job_result = self.job_result
        record.msg, record.args = _sanitise(record.getMessage()), ()
        return True


def runner_logger(runner_class: type, job_result: Any) -> JobLogger:
    """Return a JobLogger under ``jobsync.runner`` whose records carry ``runner`` and ``job_result``."""
    logger = JobLogger(f"{RUNNER_LOGGER_NAME}.{runner_class.__module__}.{runner_class.__qualname__}")
    logger.parent = logging.getLogger(RUNNER_LOGGER_NAME)
    logger.addFilter(_JobResultFilter(runner_class, job_result))
    return logger


def bind_runner_logger(logger: Any, runner_class: type, job_result: Any) -> JobLogger:
    """Point a runner's logger at ``job_result``, keeping handlers the service already attached."""
    stamps = [f for f in getattr(logger, "filters", []) if isinstance(f, _JobResultFilter)]
    if not isinstance(logger, JobLogger) or not stamps:
        return runner_logger(runner_class, job_result)
    for stamp in stamps:
        stamp.job_result = job_result
    return logger


def registered_runners() -> dict[str, type[JobRunner]]:
    """Return every JobRunner subclass by path."""
    return dict(_runners)


def find_runner(path: str) -> type[JobRunner]:
    """Return the runner named ``path`` (a ``runner_name``, or ``module:QualName``, imported if needed).

    Raises RunnerNotFound when the path is malformed, the module will not import, or it has no
    such runner.
    """
    if path not in _runners:
        module_name, _, qualname = path.partition(":")
        if not module_name or not qualname:
            raise RunnerNotFound(
                f"{path!r} is not a runner path (expected 'module:QualName' or a registered runner_name)."
            )
        try:
            importlib.import_module(module_name)
        except ImportError as exc:
            raise RunnerNotFound(f"Cannot import {module_name!r} to find runner {path!r}: {exc}") from None
    try:
        return _runners[path]
    except KeyError:
        raise RunnerNotFound(f"No JobRunner is defined at {path!r}.") from None


def system_job(interval: int) -> Any:
    """Class decorator: register a JobRunner as a system job recurring every ``interval`` minutes."""
    if isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0:
        raise RegistrationError(
            f"A system job's interval must be a positive number of minutes, not {interval!r}."
        )

    def register(runner_class: type[JobRunner]) -> type[JobRunner]:
        if not (isinstance(runner_class, type) and issubclass(runner_class, JobRunner)):
            raise RegistrationError(f"@system_job applies to JobRunner subclasses, not {runner_class!r}.")
        _system_jobs[runner_class] = int(interval)
        return runner_class

    return register


def system_jobs() -> list[tuple[type[JobRunner], int]]:
    """Return every system job with its interval in minutes, in registration order."""
    return list(_system_jobs.items())
