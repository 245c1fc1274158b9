"""Queue gauges read at scrape time: depth, oldest PENDING age and live workers per queue.

They come from the database and the presence records, not from process memory, so they are the
same whichever process answers the scrape. The caller supplies the reader (``service.web.metrics``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class QueueState:
    queue: str
    depth: int  # PENDING runs due now
    oldest_pending_seconds: float  # 0 when none is waiting
    workers: int  # live worker processes serving the queue


class QueueCollector:
    """A prometheus-client collector over ``read()``'s queue states."""

    def __init__(self, read: Callable[[], Iterable[QueueState]]):
        self.read = read

    def collect(self):
        try:
            states = list(self.read())
        except Exception:  # the database is down: the other metrics still answer the scrape
            logger.warning("queue gauges left out of this scrape", exc_info=True)
            return
        depth = GaugeMetricFamily("jobsync_queue_depth", "PENDING runs due now, by queue.", labels=["queue"])
        oldest = GaugeMetricFamily(
            "jobsync_queue_oldest_pending_seconds", "Age of the oldest due PENDING run, by queue.",
            labels=["queue"],
        )
        workers = GaugeMetricFamily("jobsync_queue_workers", "Live worker processes, by queue.",
                                    labels=["queue"])
        for state in states:
            depth.add_metric([state.queue], state.depth)
            oldest.add_metric([state.queue], state.oldest_pending_seconds)
            workers.add_metric([state.queue], state.workers)
        yield from (depth, oldest, workers)
