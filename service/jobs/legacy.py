"""Nautobot 1.x (and NetBox report) compatibility: ``run(data, commit)``, ``test_*`` methods,
``post_run()`` and the ``log_*(obj, message)`` calling convention."""

import inspect
import weakref
from typing import Any

_LEGACY_RUN_PARAMETERS = ["data", "commit"]
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def has_legacy_run(job: Any) -> bool:
    """Tell whether ``job.run`` has the Nautobot 1.x signature ``run(self, data, commit)``."""
    function = getattr(job.run, "__func__", None)
    if function is None:  # not a plain method: look at it as it is
        return _legacy_signature(job.run, skip=0)
    known = _legacy_methods.get(function)
    if known is None:  # inspect.signature is slow, and every run asks
        known = _legacy_methods[function] = _legacy_signature(function, skip=1)
    return known


def class_has_legacy_run(job_class: type) -> bool:
    """Tell whether a job class's ``run`` has the 1.x signature ``run(self, data, commit)``."""
    return _legacy_signature(job_class.run, skip=1)


_legacy_methods: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()


def _legacy_signature(function: Any, *, skip: int) -> bool:
    code = getattr(function, "__code__", None)
    plain = not (hasattr(function, "__wrapped__") or hasattr(function, "__signature__"))
    if inspect.isfunction(function) and plain and code is not None:
        # A plain function's positional parameters as inspect.signature lists them, far cheaper.
        return list(code.co_varnames[: code.co_argcount][skip:][:2]) == _LEGACY_RUN_PARAMETERS
    try:
        parameters = list(inspect.signature(function).parameters.values())[skip:]
    except (TypeError, ValueError):
        return False
    positional = [parameter.name for parameter in parameters if parameter.kind in _POSITIONAL]
    return positional[:2] == _LEGACY_RUN_PARAMETERS


def test_method_names(job: Any) -> list[str]:
    """Return the ``test_*`` methods of a 1.x job in ``dir()`` order, as Nautobot 1.x ran them."""
    return [name for name in dir(job) if name.startswith("test_") and callable(getattr(job, name))]


# Not a test, whatever pytest thinks of the name.
test_method_names.__test__ = False  # type: ignore[attr-defined]


def split_log_arguments(args: tuple, kwargs: dict[str, Any]) -> tuple[str, Any]:
    """Return ``(message, obj)`` from ``log_*`` arguments in either the 2.x or the 1.x order.

    ``log_info(message, obj)`` is the documented form; with two positional arguments where the
    second is text and the first is not (or both are text) it is Nautobot 1.x's ``(obj, message)``.
    """
    message = kwargs.pop("message", None)
    obj = kwargs.pop("obj", None)
    if kwargs:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
    if len(args) > 2:
        raise TypeError(f"expected at most 2 positional arguments, got {len(args)}")
    if len(args) == 2:
        first, second = args
        if isinstance(first, str) and not isinstance(second, str):
            message, obj = first, second
        else:
            obj, message = first, second
    elif len(args) == 1:
        if message is None and (isinstance(args[0], str) or obj is not None):
            message = args[0]
        else:
            obj = args[0]
    return ("" if message is None else str(message)), obj
