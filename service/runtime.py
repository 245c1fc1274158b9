"""The runtime container: one process's settings, database, broker, actors and extensions.

A plain dataclass, built by ``service.bootstrap`` (the assembler) and handed to whoever needs it
as a parameter. The one process-wide handle below exists only for code jobsync does not call
itself and so cannot pass anything to: ``JobRunner.enqueue`` from job or extension code (through
the dispatcher the bootstrap installs) and the extension API (``service.extensions.get_extension``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dramatiq.broker import Broker

from service.config import Settings
from service.infra.db import Database


@dataclasses.dataclass
class Runtime:
    settings: Settings
    db: Database
    broker: Broker
    actors: dict[str, Any] = dataclasses.field(default_factory=dict)
    extensions: Any = None  # service.extensions.LoadedExtensions
    outbox: Any = None  # service.infra.outbox.Outbox: sends run messages, keeps transient input
    closed: bool = False

    def close(self) -> None:
        self.closed = True
        self.broker.close()
        self.db.dispose()


_installed: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    """Make ``runtime`` this process's handle for job and extension code (bootstrap only)."""
    global _installed
    _installed = runtime


def installed() -> Runtime:
    """Return the runtime the bootstrap installed; only for job and extension code (see above)."""
    if _installed is None:
        raise RuntimeError("jobsync runtime not configured: call service.bootstrap.configure() first")
    return _installed
