"""The comparison engines' side of bench/dispatch.py: no-op tasks and their worker processes.

Run by the benchmark as ``python -m bench.engines dramatiq|dramatiq-floor|rq-fork|rq-simple ...``
with the repository root on PYTHONPATH; each worker runs until SIGTERM (RQ workers in burst mode
stop by themselves once their queue is empty).

``dramatiq-floor`` is the least a worker that records its runs in PostgreSQL can do: raw
Dramatiq, and per message only the writes of a recorded run (claim, one log line, outcome) as
hand-written SQL on a plain psycopg connection per thread. No real engine can drain faster.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
import uuid

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

DRAMATIQ_NAMESPACE = "bench-dramatiq"
RQ_QUEUE = "bench-rq"
STARTED_KEY = "bench:started"


def noop() -> None:
    """The no-op task every engine runs."""


class DramatiqActors:
    """Raw Dramatiq with its default RedisBroker and middleware: the baseline we are built on."""

    def __init__(self, redis_url: str):
        self.broker = RedisBroker(url=redis_url, namespace=DRAMATIQ_NAMESPACE)
        self.client = redis.Redis.from_url(redis_url)
        self.noop = dramatiq.actor(noop, actor_name="bench.noop", broker=self.broker)
        self.stamp = dramatiq.actor(self._stamp, actor_name="bench.stamp", broker=self.broker)

    def _stamp(self, tag: str) -> None:
        # Record when the actor started, so the sender can subtract its send time.
        self.client.rpush(STARTED_KEY, json.dumps([tag, time.time()]))

    def messages_left(self) -> int:
        """Messages not yet acknowledged (Dramatiq keeps every message in a hash until its ack)."""
        return self.client.hlen(f"{DRAMATIQ_NAMESPACE}:default.msgs")


_CLAIM_SQL = (
    "UPDATE job_results SET status = 'STARTED', started = now(), heartbeat = now(), worker_id = %s, "
    "attempts = attempts + 1 WHERE id = %s AND status = 'PENDING' RETURNING job_id, input_data"
)
_LOG_SQL = (
    "INSERT INTO job_log_entries (id, job_result_id, level, grouping, message, created) "
    "VALUES (%s, %s, 'info', 'run', 'trivial run', now())"
)
_FINISH_SQL = (
    "UPDATE job_results SET status = 'SUCCESS', completed = now(), result = %s, log_counts = %s "
    "WHERE id = %s AND status = 'STARTED'"
)


class RecordingFloor:
    """Raw Dramatiq whose actor only writes what a recorded run needs (see the module docstring)."""

    def __init__(self, redis_url: str, database_dsn: str):
        self.broker = RedisBroker(url=redis_url, namespace=f"{DRAMATIQ_NAMESPACE}-floor")
        self.dsn = database_dsn
        self.local = threading.local()
        self.record = dramatiq.actor(self._record, actor_name="bench.record", broker=self.broker)

    def _record(self, run_id: str) -> None:
        import psycopg
        from psycopg.types.json import Jsonb

        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = psycopg.connect(self.dsn, autocommit=True)
        if connection.execute(_CLAIM_SQL, (threading.current_thread().name, run_id)).fetchone() is None:
            return
        with connection.transaction():
            connection.execute(_LOG_SQL, (uuid.uuid4(), run_id))
            connection.execute(_FINISH_SQL, (Jsonb({"ok": True}), Jsonb({"info": 1}), run_id))


def serve_dramatiq(redis_url: str, threads: int, database_dsn: str | None = None) -> None:
    actors = RecordingFloor(redis_url, database_dsn) if database_dsn else DramatiqActors(redis_url)
    actors.broker.emit_after("process_boot")  # as the dramatiq command does
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = dramatiq.Worker(actors.broker, worker_threads=threads)  # default worker_timeout (1 s)
    worker.start()
    stop.wait()
    worker.stop()
    actors.broker.close()


def serve_rq(redis_url: str, *, simple: bool) -> None:
    from rq import Queue, SimpleWorker, Worker

    connection = redis.Redis.from_url(redis_url)
    worker_class = SimpleWorker if simple else Worker
    worker = worker_class([Queue(RQ_QUEUE, connection=connection)], connection=connection)
    worker.work(burst=True, logging_level="WARNING")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("engine", choices=["dramatiq", "dramatiq-floor", "rq-fork", "rq-simple"])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--database-dsn", help="libpq DSN, for dramatiq-floor")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    if args.engine == "dramatiq":
        serve_dramatiq(args.redis_url, args.threads)
    elif args.engine == "dramatiq-floor":
        serve_dramatiq(args.redis_url, args.threads, args.database_dsn)
    else:
        serve_rq(args.redis_url, simple=args.engine == "rq-simple")


if __name__ == "__main__":
    main()
