"""The scheduler loop: each tick finds due work in the database and hands it to the broker.

Safe to run several: every step claims rows with conditional updates or unique inserts, so two
schedulers never send the same work twice or fire a schedule's slot twice. Steps, in order:
review schedules (disable those whose job cannot run), fire due schedules, send waiting runs
that are due or whose message was lost, end runs whose worker stopped beating, wake runs
waiting for a concurrency key that a lost message or an unreleased slot left waiting, and report
queues without workers (``queue_watch``).

Between ticks the loop sleeps until the earliest schedule is due (one indexed query) and fires
only then, so a slot's run is created as its time comes, not up to a tick later, while the other
steps keep their tick.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from service.infra.outage import outage_of, outages
from service.models import utcnow

logger = logging.getLogger(__name__)

#: The scheduler wakes at least this often, whatever ``scheduler_tick_seconds`` says.
MAX_TICK_SECONDS = 1.0
#: Between ticks, firings of slots this close together share one wake-up and one batch.
FIRE_GAP_SECONDS = 0.05

Step = Callable[[datetime], int]


def default_steps(runtime) -> list[Step]:
    """The built-in steps, bound to ``runtime``."""
    from service import scheduling
    from service.runs import concurrency
    from service.scheduling import recovery
    from service.scheduling.queue_watch import QueueWatch

    steps = [
        scheduling.review_schedules,
        scheduling.fire_due_schedules,
        recovery.send_waiting_runs,
        recovery.fail_lost_runs,
        concurrency.wake_waiting_runs,
    ]
    bound = [functools.update_wrapper(functools.partial(step, runtime), step) for step in steps]
    return [*bound, QueueWatch(runtime)]


def _name(step: Step) -> str:
    return getattr(step, "__name__", "")


class Scheduler:
    def __init__(
        self, runtime, *, clock: Callable[[], datetime] = utcnow, steps: Iterable[Step] | None = None
    ):
        self.runtime = runtime
        self.clock = clock
        self.steps: list[Step] = list(default_steps(runtime) if steps is None else steps)
        self._database_failed_at: float | None = None

    def tick(self) -> int:
        """Run every step once; return how many rows they acted on."""
        now = self.clock()
        done, failed = 0, set()
        for step in self.steps:
            if self._sweep_paused(step):
                continue
            done += self._run(step, now, failed)
        self._note_outages(failed)
        return done

    def _run(self, step: Step, now: datetime, failed: set) -> int:
        try:
            return step(now)
        except Exception as exc:  # one failing step must not stop the others or the loop
            backend = outage_of(exc)
            if backend is None:
                logger.exception("scheduler step %s failed", getattr(step, "__name__", step))
            else:  # one line per outage, not a traceback per tick
                outages.down(backend, exc)
                failed.add(backend)
            return 0

    def _note_outages(self, failed: set) -> None:
        if "database" in failed:
            self._database_failed_at = time.monotonic()
        elif outages.is_down("database"):  # every step reads it
            outages.up("database")

    def fire_until(self, deadline: float, stop: threading.Event) -> None:
        """Until ``deadline`` (monotonic), fire due schedules as their slots come."""
        fire = next((step for step in self.steps if _name(step) == "fire_due_schedules"), None)
        if fire is None:
            return
        from service.scheduling.firing import next_due

        while not stop.is_set():
            try:
                due = next_due(self.runtime)
            except Exception as exc:  # the tick reports an outage; anything else once here
                if outage_of(exc) is None:
                    logger.exception("scheduler: could not read when the next schedule is due")
                return
            left = deadline - time.monotonic()
            wait = left if due is None else min(left, (due - self.clock()).total_seconds() + 0.001)
            if left <= FIRE_GAP_SECONDS or stop.wait(max(0.0, wait)) or wait >= left:
                return
            failed: set = set()
            self._run(fire, self.clock(), failed)
            self._note_outages(failed)
            if failed:
                return
            stop.wait(FIRE_GAP_SECONDS)

    def _sweep_paused(self, step: Step) -> bool:
        """No heartbeat can land while the database is down: after an outage, give workers
        ``worker_lost_seconds`` to beat again before declaring any of their runs lost."""
        if getattr(step, "__name__", "") != "fail_lost_runs" or self._database_failed_at is None:
            return False
        return time.monotonic() - self._database_failed_at < self.runtime.settings.worker_lost_seconds

    def start(self) -> None:
        """Make sure every system job has its periodic run waiting."""
        from service.runs.runners import enqueue_system_jobs

        enqueue_system_jobs()

    def run_forever(self, stop: threading.Event) -> None:
        interval = min(self.runtime.settings.scheduler_tick_seconds, MAX_TICK_SECONDS)
        logger.info("scheduler started (tick %.2fs)", interval)
        try:
            self.start()
        except Exception as exc:  # a backend down at start: log it, the loop rides it out
            if outage_of(exc) is None:
                raise
            outages.down(outage_of(exc), exc)
        while not stop.is_set():
            began = time.monotonic()
            self.tick()
            self.fire_until(began + interval, stop)
            stop.wait(max(0.0, interval - (time.monotonic() - began)))
