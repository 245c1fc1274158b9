"""``Job``: the class job authors subclass (Nautobot 2 API, with Nautobot 1.x conveniences)."""

import inspect
import json
import logging
from pathlib import Path
from typing import Any, ClassVar

from .context import RunContext
from .errors import JobNotRunning, RegistrationError, ValidationError
from .legacy import class_has_legacy_run, split_log_arguments
from .logs import FAILURE, SUCCESS, JobLogger, fallback_logger
from .options import JobOptions, grouping_of, read_options
from .retries import class_names
from .variables import DryRunVar, Variable

UNKNOWN_FIELD_MESSAGE = "Unknown field."


class Job:
    """Base class of every job: variables are class attributes, metadata lives in ``Meta``.

    While the lifecycle driver runs it, an instance has ``logger`` (a JobLogger), ``dryrun``,
    ``user``, ``job_result`` and ``request`` (``.id`` and ``.user``).
    """

    class Meta:
        pass

    # Set by the receiver base classes; read by job_spec().
    _receiver_kind: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        clashes = sorted(
            name for name, attr in vars(cls).items() if isinstance(attr, Variable) and _is_reserved(name)
        )
        if clashes:
            raise RegistrationError(
                f"{cls.__qualname__}: variable name(s) {', '.join(clashes)} clash with Job attributes; "
                "rename them."
            )

    def __init__(self) -> None:
        self.logger: JobLogger = fallback_logger(f"{type(self).__module__}.{type(self).__qualname__}")
        self.dryrun = False
        self.user: Any = None
        self.job_result: Any = None
        self.request: Any = None
        self._failed = False
        self._context: RunContext | None = None

    # ----- class-level description -------------------------------------------------------------

    @classmethod
    def options(cls) -> JobOptions:
        """Return the checked ``Meta`` options; raises RegistrationError on a bad value.

        Read once per class (each run asks several times); a class's own ``__dict__`` holds it,
        so a subclass never sees its parent's.
        """
        options = cls.__dict__.get("_checked_options")
        if options is None:
            options = read_options(cls)
            cls._checked_options = options
        return options

    @classmethod
    def declared_variables(cls) -> dict[str, Variable]:
        """Return the variables declared on the class and its parents, parents first."""
        found: dict[str, Variable] = {}
        for klass in reversed(cls.__mro__):
            for name, attr in vars(klass).items():
                if isinstance(attr, Variable):
                    found[name] = attr
                elif name in found:
                    del found[name]  # a subclass hides a parent's variable (e.g. ``name = None``)
        return found

    @classmethod
    def variables(cls) -> dict[str, Variable]:
        """Return the user-facing variables by name, ``Meta.field_order`` first, then the rest.

        Worked out once per class, like ``options``; each call gets its own dict.
        """
        ordered = cls.__dict__.get("_ordered_variables")
        if ordered is None:
            found = cls.declared_variables()
            ordered = {name: found.pop(name) for name in cls.options().field_order if name in found}
            ordered.update(found)
            cls._ordered_variables = ordered
        return dict(ordered)

    @classmethod
    def internal_variables(cls) -> dict[str, Variable]:
        """Return inputs the service fills in itself (receivers' payloads), hidden from the schema."""
        return {}

    @classmethod
    def variable_schema(cls) -> list[dict[str, Any]]:
        """Return each variable's schema, in form order."""
        return [variable.schema() for variable in cls.variables().values()]

    @classmethod
    def validate_data(cls, data: dict | None, files: dict | None = None) -> dict[str, Any]:
        """Return cleaned values for every input; raises ValidationError listing every bad field."""
        if data is not None and not isinstance(data, dict):
            raise ValidationError({"__all__": ["Expected an object mapping field names to values."]})
        given = {**(data or {}), **(files or {})}
        inputs = {**cls.variables(), **cls.internal_variables()}
        errors: dict[str, list[str]] = {}
        cleaned: dict[str, Any] = {}
        for name, variable in inputs.items():
            try:
                cleaned[name] = variable.clean(given.get(name))
            except ValueError as exc:
                errors[name] = [str(exc)]
        for name in given.keys() - inputs.keys():
            errors[str(name)] = [UNKNOWN_FIELD_MESSAGE]
        if errors:
            raise ValidationError(errors)
        return cleaned

    @classmethod
    def supports_dryrun(cls) -> bool:
        """Tell whether the job honours a dry run: it has a DryRunVar, or a 1.x ``run(data, commit)``."""
        has_var = any(isinstance(var, DryRunVar) for var in cls.variables().values())
        return has_var or class_has_legacy_run(cls)

    @classmethod
    def job_spec(cls) -> dict[str, Any]:
        """Describe the job for discovery and the database, as JSON-serialisable data."""
        options = cls.options()
        return {
            "module_name": cls.__module__,
            "job_class_name": cls.__name__,
            "grouping": grouping_of(cls),
            "name": options.name,
            "description": options.description,
            "summary": options.summary,
            "approval_required": options.approval_required,
            "dryrun_default": options.dryrun_default,
            "field_order": list(options.field_order),
            "has_sensitive_variables": options.has_sensitive_variables,
            "hidden": options.hidden,
            "read_only": options.read_only,
            "soft_time_limit": options.soft_time_limit,
            "time_limit": options.time_limit,
            "task_queues": list(options.task_queues),
            "is_singleton": options.is_singleton,
            "retry_on_worker_lost": options.retry_on_worker_lost,
            "concurrency_key": options.concurrency_key,
            "concurrency_key_callable": options.concurrency_key_callable,
            "concurrency_limit": options.concurrency_limit,
            "concurrency_policy": options.concurrency_policy,
            "retries": options.retries,
            "retry_backoff": options.retry_backoff.as_dict(),
            "retry_on": class_names(options.retry_on),
            "on_success_run": list(options.on_success_run),
            "on_failure_run": list(options.on_failure_run),
            "is_job_hook_receiver": cls._receiver_kind == "job_hook",
            "is_job_button_receiver": cls._receiver_kind == "job_button",
            "supports_dryrun": cls.supports_dryrun(),
            "variables": cls.variable_schema(),
        }

    # ----- lifecycle (Nautobot 2 signatures) ----------------------------------------------------

    def before_start(self, task_id: str, args: tuple, kwargs: dict) -> None:
        """Prepare the run; raising or calling ``fail()`` here skips ``run``."""

    def run(self, **data: Any) -> Any:
        """Do the job's work with the cleaned variable values; the return value is the result."""
        raise NotImplementedError("Jobs must define the run method.")

    def on_success(self, retval: Any, task_id: str, args: tuple, kwargs: dict) -> None:
        """React to a successful run."""

    def on_failure(self, exc: BaseException, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        """React to a failed run: ``exc`` is the exception raised, or the return value of ``run``
        (or of ``before_start``) when the job called ``fail()``; ``einfo`` is None then."""

    def after_return(
        self, status: str, retval: Any, task_id: str, args: tuple, kwargs: dict, einfo: Any
    ) -> None:
        """Clean up after the run, whatever its outcome."""

    # ----- helpers for job code -----------------------------------------------------------------

    @property
    def failed(self) -> bool:
        """Tell whether the run has been marked failed (``fail()`` or 1.x ``log_failure()``)."""
        return self._failed

    @failed.setter
    def failed(self, value: bool) -> None:
        # Nautobot 1.x jobs set ``self.failed = True`` themselves.
        self._failed = bool(value)

    def fail(self, message: object, *args: Any, **kwargs: Any) -> None:
        """Log a failure and mark the run failed, without stopping it."""
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
        self.logger.log(FAILURE, message, *args, **kwargs)
        self._failed = True

    def log_debug(self, *args: Any, **kwargs: Any) -> None:
        """Log at debug level: ``log_debug(message, obj=None)`` (or 1.x ``log_debug(obj, message)``)."""
        self._log_compat(logging.DEBUG, args, kwargs)

    def log_info(self, *args: Any, **kwargs: Any) -> None:
        """Log at info level: ``log_info(message, obj=None)`` (or 1.x ``log_info(obj, message)``)."""
        self._log_compat(logging.INFO, args, kwargs)

    def log_success(self, *args: Any, **kwargs: Any) -> None:
        """Log at success level: ``log_success(message, obj=None)`` (or 1.x ``(obj, message)``)."""
        self._log_compat(SUCCESS, args, kwargs)

    def log_warning(self, *args: Any, **kwargs: Any) -> None:
        """Log at warning level: ``log_warning(message, obj=None)`` (or 1.x ``(obj, message)``)."""
        self._log_compat(logging.WARNING, args, kwargs)

    def log_failure(self, *args: Any, **kwargs: Any) -> None:
        """Log a failure and mark the run failed (Nautobot 1.x): ``log_failure(message, obj=None)``."""
        self._log_compat(FAILURE, args, kwargs)
        self._failed = True

    def _log_compat(self, level: int, args: tuple, kwargs: dict[str, Any]) -> None:
        message, obj = split_log_arguments(args, dict(kwargs))
        # stacklevel 3: the record points at the job's line, not at log_info() or this helper.
        self.logger.log(level, "%s", message, extra={"object": obj}, stacklevel=3)

    def create_file(self, name: str, content: str | bytes) -> None:
        """Attach a file to the run's result; raises FileTooLarge above the run's size limit."""
        if self._context is None:
            raise JobNotRunning("create_file() can only be used while the job is being run.")
        self._context.save_file(name, content)

    def load_yaml(self, path: str | Path) -> Any:
        """Read a YAML file kept beside the job's module (``yaml.safe_load``)."""
        import yaml  # here, not at the top: every discovery child imports this module, few jobs read YAML

        with self._job_file(path).open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)

    def load_json(self, path: str | Path) -> Any:
        """Read a JSON file kept beside the job's module."""
        with self._job_file(path).open(encoding="utf-8") as handle:
            return json.load(handle)

    def _job_file(self, path: str | Path) -> Path:
        """Resolve ``path`` inside the job module's directory; raises ValidationError if it leaves it."""
        base = Path(inspect.getfile(type(self))).resolve().parent
        target = (base / path).resolve()
        if not target.is_relative_to(base):
            raise ValidationError({"path": [f"{path} is outside the job's directory."]})
        return target


#: Nautobot's ``BaseJob``: the base for a family of jobs sharing code (the same class here).
BaseJob = Job


def is_job(obj: Any) -> bool:
    """Tell whether ``obj`` is a job class (a Job subclass other than the bases), as Nautobot does."""
    if not (isinstance(obj, type) and issubclass(obj, Job)):
        return False
    return not obj.__dict__.get("_abstract_job", obj is Job)


def _is_reserved(name: str) -> bool:
    # Methods and properties only: a variable named like an instance attribute (Nautobot 2's
    # ``dryrun = DryRunVar()``) is harmless, because the instance attribute shadows it.
    return name in vars(Job)
