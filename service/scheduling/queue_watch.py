"""Scheduler step: notice queues no live worker serves, and report each whole idle minute once.

The state (since when each queue has been without workers) lives in the scheduler process, so a
restarted scheduler starts counting again; several schedulers each report (rules throttle).
"""

from __future__ import annotations

import logging
from datetime import datetime

from service.errors import BrokerUnavailable
from service.infra.presence import workers_by_queue
from service.notifications import events

logger = logging.getLogger(__name__)


class QueueWatch:
    """Callable scheduler step over ``runtime``'s queues."""

    __name__ = "watch_queues"

    def __init__(self, runtime):
        self.runtime = runtime
        self.idle_since: dict[str, datetime] = {}
        self.reported: dict[str, int] = {}

    def __call__(self, now: datetime) -> int:
        try:
            counts = workers_by_queue(self.runtime)
        except BrokerUnavailable:
            return 0
        sent = 0
        for queue, workers in counts.items():
            if workers:
                self.idle_since.pop(queue, None)
                self.reported.pop(queue, None)
                continue
            since = self.idle_since.setdefault(queue, now)
            minutes = int((now - since).total_seconds() // 60)
            if minutes >= 1 and self.reported.get(queue, 0) < minutes:
                self.reported[queue] = minutes
                sent += len(events.queue_without_workers(self.runtime, queue, minutes))
        return sent
