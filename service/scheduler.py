"""The scheduler loop: each tick finds due work in the database and hands it to the broker.

Safe to run several: every step claims rows with conditional updates, so two schedulers never
send the same work twice. The scheduling issue adds schedules, approvals and recovery steps.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from service.models import utcnow

logger = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, runtime, *, clock: Callable[[], datetime] = utcnow):
        self.runtime = runtime
        self.clock = clock
        self.steps: list[Callable[[datetime], int]] = []

    def tick(self) -> int:
        """Run every step once; return how many rows they acted on."""
        now = self.clock()
        done = 0
        for step in self.steps:
            try:
                done += step(now)
            except Exception:  # one failing step must not stop the others or the loop
                logger.exception("scheduler step %s failed", getattr(step, "__name__", step))
        return done

    def run_forever(self, stop: threading.Event) -> None:
        interval = self.runtime.settings.scheduler_tick_seconds
        logger.info("scheduler started (tick %.2fs)", interval)
        while not stop.is_set():
            self.tick()
            stop.wait(interval)
