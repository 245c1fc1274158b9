"""The assembler: builds a process's runtime from its settings and wires every part to it.

The only non-HTTP module that imports everything; the web app, the worker, the scheduler and the
CLI call ``configure()`` once at start and pass the runtime it returns to whatever they run.
"""

from __future__ import annotations

import threading
from typing import Any

from repos.process_guard import make_non_dumpable
from service import runtime as runtime_module
from service.config import Settings, load_settings
from service.extensions import load_extensions
from service.infra.broker import build_broker
from service.infra.db import Database
from service.infra.outbox import Outbox
from service.jobs.runner import set_dispatcher
from service.observability import metrics, tracing
from service.runs import housekeeping  # noqa: F401  (defines a service runner: find_runner knows it)
from service.runs.runners import DatabaseDispatcher
from service.runtime import Runtime
from service.sources import sync  # noqa: F401  (likewise)
from service.worker.actors import declare_actors

_lock = threading.Lock()


def configure(settings: Settings | None = None, **overrides: Any) -> Runtime:
    """Build the runtime for ``settings`` (or the loaded configuration), install it and return it.

    Raises ConfigError naming a broken setting or extension.
    """
    make_non_dumpable()  # repository code started from this process cannot read its environment or memory
    settings = settings or load_settings(overrides or None)
    extensions = load_extensions(settings)
    settings = settings.replace(extension_queues=extensions.queues)  # all_queues now includes them
    metrics.enable(settings.metrics_enabled)
    tracing.configure()  # on only with the tracing extra and OTEL_* settings
    with _lock:
        _close_installed()
        runtime = Runtime(settings=settings, db=Database(settings.sqlalchemy_url),
                          broker=build_broker(settings), extensions=extensions)
        runtime.actors = declare_actors(runtime)
        runtime.outbox = Outbox(runtime.broker, runtime.actors)
        runtime.outbox.install(runtime.db)
        set_dispatcher(DatabaseDispatcher(runtime))  # JobRunner.enqueue writes JobResults from now on
        runtime_module.install(runtime)
    return runtime


def reset() -> None:
    """Close and forget this process's runtime (tests, shutdown)."""
    with _lock:
        _close_installed()
        runtime_module.install(None)


def _close_installed() -> None:
    try:
        runtime_module.installed().close()
    except RuntimeError:  # nothing installed yet
        pass
