"""Retries: ``Meta.retries``, ``Meta.retry_backoff`` and ``Meta.retry_on``, checked at registration.

A failure by exception is retried (``retry_on`` narrows which exceptions); ``fail()``, a raised
``JobFailed`` or invalid input is the job's own verdict and never is. The waits grow exponentially:
``base * factor ** (attempt - 1)``, capped at ``max``, spread by up to ``jitter`` of themselves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .errors import JobFailed


@dataclass(frozen=True)
class Backoff:
    """How long to wait before each retry, in seconds."""

    base: float = 10.0
    factor: float = 2.0
    max: float = 3600.0
    jitter: float = 0.1  # a fraction of the wait, added at random

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Return the wait before retry number ``retry`` (1 for the first retry)."""
        wait = min(self.max, self.base * self.factor ** max(0, retry - 1))
        return wait + wait * self.jitter * (rng or random).random()

    def as_dict(self) -> dict[str, float]:
        return {"base": self.base, "factor": self.factor, "max": self.max, "jitter": self.jitter}


@dataclass(frozen=True)
class RetryPolicy:
    """What a job or JobRunner declares of retries; the default retries nothing (NetBox's runners)."""

    retries: int = 0  # attempts after the first
    backoff: Backoff = Backoff()
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    on_worker_lost: bool = False  # safe to run again after dying mid-run

    def retries_exception(self, exception: BaseException | None) -> bool:
        """Tell whether a run that raised ``exception`` gets another attempt (if any are left)."""
        return self.retries > 0 and is_retryable(exception, self.retry_on)


def read_backoff(value: Any) -> Backoff:
    """Return the Backoff a Meta declares: a number (the base) or a dict of base/factor/max/jitter.

    Raises ValueError saying what is wrong.
    """
    if value is None:
        return Backoff()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = {"base": value}
    if not isinstance(value, dict):
        raise ValueError("must be a number of seconds or a dict of base, factor, max and jitter")
    unknown = set(value) - {"base", "factor", "max", "jitter"}
    if unknown:
        names = ", ".join(sorted(map(str, unknown)))
        raise ValueError(f"names {names}, not one of base, factor, max, jitter")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in value.values()):
        raise ValueError("takes numbers of at least 0")
    backoff = Backoff(**{name: float(v) for name, v in value.items()})
    if backoff.factor < 1:
        raise ValueError("factor must be at least 1")
    return backoff


def read_retry_on(value: Any) -> tuple[type[BaseException], ...]:
    """Return the exception classes a Meta retries on; raises ValueError if they are not classes."""
    if value is None:
        return (Exception,)
    if isinstance(value, type):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError("must be an exception class or a list of them")
    if not all(isinstance(item, type) and issubclass(item, BaseException) for item in value):
        raise ValueError("must be an exception class or a list of them")
    return tuple(value)


def class_names(classes: tuple[type, ...]) -> list[str]:
    """Name exception classes for the database and the API."""
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in classes]


def is_retryable(exception: BaseException | None, retry_on: tuple[type[BaseException], ...]) -> bool:
    """Tell whether a run that raised ``exception`` may be retried (JobFailed is a verdict)."""
    return (
        exception is not None
        and not isinstance(exception, JobFailed)
        and isinstance(exception, retry_on)
    )
