"""Read a job class's inner ``Meta`` into checked options, with Nautobot's defaults."""

import inspect
import sys
from dataclasses import dataclass
from typing import Any

from .concurrency import POLICIES, check_key_function, check_template, key_function
from .errors import RegistrationError
from .retries import Backoff, RetryPolicy, read_backoff, read_retry_on

#: Meta attributes an admin may override on a Job record; each gets an ``<attr>_override`` flag.
OVERRIDABLE_FIELDS = (
    "grouping",
    "name",
    "description",
    "approval_required",
    "dryrun_default",
    "field_order",
    "has_sensitive_variables",
    "hidden",
    "read_only",
    "soft_time_limit",
    "time_limit",
    "task_queues",
)


@dataclass(frozen=True)
class JobOptions:
    """The metadata of a job class, taken from its ``Meta`` (Nautobot's names and defaults)."""

    name: str
    description: str
    approval_required: bool = False
    dryrun_default: bool = False
    field_order: tuple[str, ...] = ()
    has_sensitive_variables: bool = True
    hidden: bool = False
    read_only: bool = False
    soft_time_limit: float | None = None
    time_limit: float | None = None
    task_queues: tuple[str, ...] = ()
    is_singleton: bool = False
    retry_on_worker_lost: bool = False
    concurrency_key: str | None = None  # a template; None when a function computes the key
    concurrency_key_callable: bool = False  # the key is a function, called by the worker per run
    concurrency_limit: int = 1
    concurrency_policy: str = "queue"
    retries: int = 0
    retry_backoff: Backoff = Backoff()
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    on_success_run: tuple[str, ...] = ()  # class paths of jobs to start when a run succeeds
    on_failure_run: tuple[str, ...] = ()  # ... or fails for good (no retry left)

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(retries=self.retries, backoff=self.retry_backoff, retry_on=self.retry_on,
                           on_worker_lost=self.retry_on_worker_lost)

    @property
    def summary(self) -> str:
        """Return the first non-empty line of the description."""
        return next((line.strip() for line in self.description.splitlines() if line.strip()), "")


_FLAGS = (
    "approval_required",
    "has_sensitive_variables",
    "hidden",
    "read_only",
    "is_singleton",
    "retry_on_worker_lost",
)


def read_options(job_class: type) -> JobOptions:
    """Return the checked options of ``job_class``; raises RegistrationError on a bad Meta value."""
    meta = getattr(job_class, "Meta", None)

    def get(attr: str, default: Any) -> Any:
        return getattr(meta, attr, default)

    defaults = JobOptions(name="", description="")
    flags = {attr: _flag(job_class, attr, get(attr, getattr(defaults, attr))) for attr in _FLAGS}
    return JobOptions(
        name=_text(job_class, "name", get("name", _class_text(job_class, "name"))) or job_class.__name__,
        description=inspect.cleandoc(
            _text(job_class, "description", get("description", _class_text(job_class, "description")))
        ),
        dryrun_default=_dryrun_default(job_class, meta),
        field_order=_names(job_class, "field_order", get("field_order", ())),
        soft_time_limit=_seconds(job_class, "soft_time_limit", get("soft_time_limit", None)),
        time_limit=_seconds(job_class, "time_limit", get("time_limit", None)),
        task_queues=_names(job_class, "task_queues", get("task_queues", ())),
        **_concurrency(job_class, meta),
        **_retries(job_class, meta),
        on_success_run=_chain(job_class, "on_success_run", get("on_success_run", ())),
        on_failure_run=_chain(job_class, "on_failure_run", get("on_failure_run", ())),
        **flags,
    )


def _class_text(job_class: type, attr: str) -> str | None:
    # Nautobot honours ``name = "..."`` and ``description = "..."`` set on the class itself.
    value = getattr(job_class, attr, None)
    return value if isinstance(value, str) else None


def _concurrency(job_class: type, meta: Any) -> dict[str, Any]:
    """``concurrency_key`` (a template, or a function of data and context), ``_limit`` and ``_policy``."""
    key = getattr(meta, "concurrency_key", None)
    limit = getattr(meta, "concurrency_limit", 1)
    policy = getattr(meta, "concurrency_policy", "queue")
    function = key_function(job_class) if key is not None and not isinstance(key, str) else None
    try:
        if function is not None:  # called by the worker, in the job's child: never here
            check_key_function(function)
            key = None
        elif key is not None:
            if not isinstance(key, str) or not key.strip():
                expected = "a format string such as 'device:{device}' or a function of (data, context)"
                raise _refuse(job_class, "concurrency_key", expected, key)
            check_template(key, getattr(job_class, "declared_variables", dict)())
    except ValueError as exc:
        raise RegistrationError(f"{job_class.__qualname__}.Meta.concurrency_key: {exc}.") from None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise _refuse(job_class, "concurrency_limit", "a whole number of at least 1", limit)
    if policy not in POLICIES:
        raise _refuse(job_class, "concurrency_policy", f"one of {', '.join(POLICIES)}", policy)
    return {"concurrency_key": key, "concurrency_key_callable": function is not None,
            "concurrency_limit": limit, "concurrency_policy": policy}


def _retries(job_class: type, meta: Any) -> dict[str, Any]:
    """``retries`` (how many after the first attempt), ``retry_backoff`` and ``retry_on``."""
    retries = getattr(meta, "retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise _refuse(job_class, "retries", "a whole number of at least 0", retries)
    options: dict[str, Any] = {"retries": retries}
    for attr, read in (("retry_backoff", read_backoff), ("retry_on", read_retry_on)):
        try:
            options[attr] = read(getattr(meta, attr, None))
        except ValueError as exc:
            raise RegistrationError(f"{job_class.__qualname__}.Meta.{attr} {exc}.") from None
    return options


def read_retry_policy(owner: type) -> RetryPolicy:
    """Return the retries ``owner``'s Meta declares (a JobRunner's: jobs read theirs with the rest);
    raises RegistrationError on a bad value."""
    meta = getattr(owner, "Meta", None)
    options = _retries(owner, meta)
    return RetryPolicy(
        retries=options["retries"], backoff=options["retry_backoff"], retry_on=options["retry_on"],
        on_worker_lost=_flag(owner, "retry_on_worker_lost", getattr(meta, "retry_on_worker_lost", False)),
    )


def _chain(job_class: type, attr: str, value: Any) -> tuple[str, ...]:
    """One class path (``<namespace>/<module>/<Class>``) or a list of them."""
    paths = (value,) if isinstance(value, str) else value
    if not isinstance(paths, (list, tuple)) or not all(
        isinstance(path, str) and path.count("/") >= 2 for path in paths
    ):
        raise _refuse(job_class, attr, "a class path such as 'team/jobs.backup/Backup', or a list", value)
    return tuple(paths)


def grouping_of(job_class: type) -> str:
    """Return the module's ``name`` attribute when set, else the last part of the module name."""
    module_name = job_class.__module__
    name = getattr(sys.modules.get(module_name), "name", None)
    if isinstance(name, str) and name.strip():
        return name.strip()
    return module_name.rsplit(".", 1)[-1]


def _refuse(job_class: type, attr: str, expected: str, value: Any) -> RegistrationError:
    return RegistrationError(f"{job_class.__qualname__}.Meta.{attr} must be {expected}, not {value!r}.")


def _dryrun_default(job_class: type, meta: Any) -> bool:
    # Nautobot 1.x jobs say commit_default; it means the opposite of dryrun_default.
    if hasattr(meta, "dryrun_default"):
        return _flag(job_class, "dryrun_default", meta.dryrun_default)
    if hasattr(meta, "commit_default"):
        return not _flag(job_class, "commit_default", meta.commit_default)
    return False


def _flag(job_class: type, attr: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _refuse(job_class, attr, "True or False", value)
    return value


def _text(job_class: type, attr: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _refuse(job_class, attr, "a string", value)
    return value


def _names(job_class: type, attr: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise _refuse(job_class, attr, "a list of names", value)
    if not all(isinstance(item, str) for item in value):
        raise _refuse(job_class, attr, "a list of names", value)
    return tuple(value)


def _seconds(job_class: type, attr: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _refuse(job_class, attr, "a positive number of seconds or None", value)
    return value
