"""Which worker processes are alive and which queues each serves.

Every worker process publishes a presence record (its id, host, pid and queues) every
``heartbeat_seconds``; a record that is not renewed expires after a few beats, and a worker
that stops cleanly withdraws its own at once. With Redis the record is a key with a TTL
(``<namespace>:__workers__:<id>``), so every process sees every worker; on the embedded broker
the worker shares the process with the web app, so an in-process record is enough.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from datetime import UTC, datetime

import redis
from dramatiq.brokers.redis import RedisBroker

from service.errors import BrokerUnavailable
from service.infra.outage import BROKER, outage_of, outages

logger = logging.getLogger(__name__)

#: A record lives this many heartbeats unless renewed.
BEATS_TO_EXPIRE = 3
MIN_TTL_SECONDS = 1.0


@dataclasses.dataclass(frozen=True)
class WorkerRecord:
    id: str
    hostname: str
    pid: int
    queues: tuple[str, ...]
    started: str  # ISO 8601, UTC
    seen: str

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> WorkerRecord:
        data = json.loads(raw)
        return cls(**{**data, "queues": tuple(data["queues"])})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RedisPresence:
    """Records as Redis keys with a TTL, visible to every process using the same Redis."""

    def __init__(self, broker: RedisBroker):
        self.client = broker.client
        self.prefix = f"{broker.namespace}:__workers__:"

    def publish(self, record: WorkerRecord, ttl: float) -> None:
        self.client.set(self.prefix + record.id, record.to_json(), px=max(1, int(ttl * 1000)))

    def withdraw(self, worker_id: str) -> None:
        self.client.delete(self.prefix + worker_id)

    def records(self) -> list[WorkerRecord]:
        try:
            keys = list(self.client.scan_iter(match=self.prefix + "*", count=500))
            values = self.client.mget(keys) if keys else []
        except redis.RedisError as exc:
            reason = type(exc).__name__
            raise BrokerUnavailable(f"Redis cannot be reached to list the workers ({reason}).") from None
        return [WorkerRecord.from_json(value) for value in values if value]  # expired in between: gone


_local_records: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_local_lock = threading.Lock()


class LocalPresence:
    """Records kept in this process, per broker: the embedded broker's workers live here too."""

    def __init__(self, broker):
        with _local_lock:
            self.entries: dict[str, tuple[float, WorkerRecord]] = _local_records.setdefault(broker, {})

    def publish(self, record: WorkerRecord, ttl: float) -> None:
        with _local_lock:
            self.entries[record.id] = (time.monotonic() + ttl, record)

    def withdraw(self, worker_id: str) -> None:
        with _local_lock:
            self.entries.pop(worker_id, None)

    def records(self) -> list[WorkerRecord]:
        now = time.monotonic()
        with _local_lock:
            return [record for expires, record in self.entries.values() if expires > now]


def presence_store(runtime) -> RedisPresence | LocalPresence:
    if isinstance(runtime.broker, RedisBroker):
        return RedisPresence(runtime.broker)
    return LocalPresence(runtime.broker)


class PresencePublisher:
    """Publish this worker's record now and every heartbeat until stopped, then withdraw it."""

    def __init__(self, runtime, queues: tuple[str, ...]):
        self.store = presence_store(runtime)
        self.interval = runtime.settings.heartbeat_seconds
        self.ttl = max(MIN_TTL_SECONDS, BEATS_TO_EXPIRE * self.interval)
        hostname = socket.gethostname()
        self.record = WorkerRecord(id=f"{hostname}:{os.getpid()}:{uuid.uuid4().hex[:6]}", hostname=hostname,
                                   pid=os.getpid(), queues=tuple(queues), started=_now(), seen=_now())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="jobsync-presence", daemon=True)

    def start(self) -> PresencePublisher:
        self._publish()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        try:
            self.store.withdraw(self.record.id)
        except Exception:  # Redis gone at shutdown: the record expires on its own
            logger.warning("could not withdraw worker presence %s", self.record.id, exc_info=True)

    def _publish(self) -> None:
        self.record = dataclasses.replace(self.record, seen=_now())
        try:
            self.store.publish(self.record, self.ttl)
        except Exception as exc:  # a missed beat is retried next time; the worker must not stop for it
            if outage_of(exc) is None:
                logger.warning("worker presence update failed", exc_info=True)
            else:  # one line per outage, not one per beat
                outages.down(BROKER, exc)
            return
        if outages.is_down(BROKER):
            outages.up(BROKER)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            self._publish()


def live_workers(runtime) -> list[WorkerRecord]:
    """Return the records of the workers alive now, oldest first; raises BrokerUnavailable."""
    return sorted(presence_store(runtime).records(), key=lambda record: (record.started, record.id))


def workers_by_queue(runtime, workers: list[WorkerRecord] | None = None) -> dict[str, int]:
    """Return how many live workers serve each known queue (0 for a queue nobody serves)."""
    workers = live_workers(runtime) if workers is None else workers
    counts = {queue: 0 for queue in runtime.settings.all_queues}
    for record in workers:
        for queue in record.queues:
            counts[queue] = counts.get(queue, 0) + 1
    return counts


def queue_warning(runtime, queue: str) -> str | None:
    """Return a warning naming ``queue`` if no live worker serves it, else None (also when unknown:
    callers warn after the run is committed, so this must never fail the request)."""
    try:
        workers = live_workers(runtime)
    except BrokerUnavailable as exc:  # logged once per outage, not once per request
        outages.down(BROKER, exc)
        return None
    if any(queue in record.queues for record in workers):
        return None
    return f"No live worker serves queue {queue!r}: the run stays queued until one does."


__all__ = [
    "LocalPresence",
    "PresencePublisher",
    "RedisPresence",
    "WorkerRecord",
    "live_workers",
    "presence_store",
    "queue_warning",
    "workers_by_queue",
]
