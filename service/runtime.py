"""The process-wide runtime: settings, database and broker, built once by a composition root.

The web app, the worker and the CLI each call ``configure()`` at start; use cases and actors
reach the database through ``current()``.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from dramatiq.broker import Broker

from service.config import Settings, load_settings
from service.infra.broker import build_broker
from service.infra.db import Database


@dataclasses.dataclass
class Runtime:
    settings: Settings
    db: Database
    broker: Broker
    actors: dict[str, Any] = dataclasses.field(default_factory=dict)
    extensions: Any = None  # service.extensions.LoadedExtensions

    def close(self) -> None:
        self.broker.close()
        self.db.dispose()


_current: Runtime | None = None
_lock = threading.Lock()


def configure(settings: Settings | None = None, **overrides: Any) -> Runtime:
    """Build the runtime for ``settings`` (or the loaded configuration) and make it current."""
    global _current
    settings = settings or load_settings(overrides or None)
    from service.extensions import load_extensions

    extensions = load_extensions(settings)  # raises ConfigError naming a broken extension
    settings = settings.replace(extension_queues=extensions.queues)  # all_queues now includes them
    with _lock:
        if _current is not None:
            _current.close()
        _current = Runtime(settings=settings, db=Database(settings.sqlalchemy_url),
                           broker=build_broker(settings), extensions=extensions)
        from service.worker import actors as worker  # actors bind to the broker just built

        _current.actors = worker.declare_actors(_current.broker, settings.all_queues)
        from service.jobs.runner import set_dispatcher
        from service.runs.runners import DatabaseDispatcher

        set_dispatcher(DatabaseDispatcher())  # JobRunner.enqueue writes JobResults from now on
    return _current


def current() -> Runtime:
    """Return the runtime configured by this process's composition root."""
    if _current is None:
        raise RuntimeError("jobsync runtime not configured: call service.runtime.configure() first")
    return _current


def reset() -> None:
    """Close and forget the current runtime (tests, shutdown)."""
    global _current
    with _lock:
        if _current is not None:
            _current.close()
        _current = None
