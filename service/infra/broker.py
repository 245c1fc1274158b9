"""Dramatiq broker set-up: Redis when ``redis_url`` is set, in-process otherwise.

Dramatiq's Redis consumer sleeps with back-off (up to the worker timeout) when its queue is
empty, so a message sent to an idle worker waits hundreds of milliseconds. ``WakeupRedisBroker``
keeps Dramatiq's queues and acks but lets an idle consumer block on a notify list beside its
queue; every enqueue pushes a token there, so an idle worker starts within a round trip.
"""

from __future__ import annotations

import time
from uuid import uuid4

import dramatiq
import redis
from dramatiq.broker import Broker, MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import compute_backoff, current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message
from dramatiq.middleware import Callbacks, CurrentMessage, Pipelines, Retries

from service.config import Settings
from service.observability import tracing
from service.observability.middleware import TraceContext

#: Tokens kept per notify list; more waiting tokens than this would only cause empty fetches.
MAX_NOTIFY_TOKENS = 64
#: Fewest messages a consumer keeps fetched ahead (see _WakeupConsumer).
MIN_PREFETCH = 8
#: How long a consumer whose prefetch is full waits before handing control back for acks.
FULL_POLL_SECONDS = 0.001


def notify_key(namespace: str, queue_name: str) -> str:
    return f"{namespace}:{queue_name}.notify"


class _WakeupConsumer(_RedisConsumer):
    """A Redis consumer that waits on its queue's notify list instead of sleeping."""

    def __init__(self, broker, queue_name, prefetch, timeout):
        # Dramatiq prefetches 2 per thread. With one thread, a short higher-priority run can end
        # before its consumer has fetched the next one, and the thread takes lower-priority work
        # meanwhile; a deeper buffer keeps higher-priority work waiting in the worker.
        super().__init__(broker, queue_name, max(prefetch, MIN_PREFETCH), timeout)

    def __next__(self):
        try:
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    self.misses = 0
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                messages = []
                if self.outstanding_message_count < self.prefetch:
                    self.message_cache = messages = self.broker.do_fetch(
                        self.queue_name, self.prefetch - self.outstanding_message_count
                    )
                if not messages:
                    if self.outstanding_message_count >= self.prefetch:
                        # Full: room comes only from acks, which the worker hands to this thread
                        # after we return; a long back-off here would stall them (and let lower
                        # priority work overtake), so come back almost at once.
                        time.sleep(FULL_POLL_SECONDS)
                        return None
                    self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                    self.broker.client.blpop(
                        [self.broker.notify_key(self.queue_name)], timeout=max(backoff_ms, 10) / 1000
                    )
                    return None
        except redis.ConnectionError as exc:
            raise ConnectionClosed(exc) from None


class WakeupRedisBroker(RedisBroker):
    """RedisBroker whose enqueues wake idle consumers at once."""

    @property
    def consumer_class(self):
        return _WakeupConsumer

    def notify_key(self, queue_name: str) -> str:
        return notify_key(self.namespace, queue_name)

    def enqueue(self, message: Message, *, delay: int | None = None) -> Message:
        message = super().enqueue(message, delay=delay)
        if delay is None:
            pipe = self.client.pipeline(transaction=False)
            pipe.lpush(self.notify_key(message.queue_name), 1)
            pipe.ltrim(self.notify_key(message.queue_name), 0, MAX_NOTIFY_TOKENS - 1)
            pipe.execute()
        return message


def _dispatch_arguments(broker: RedisBroker, queue_name: str, message: Message) -> list:
    # The argument list RedisBroker._dispatch builds for its "enqueue" Lua command (dramatiq 2.x);
    # tests/foundation/test_broker.py checks batches against a real Redis and worker consumer.
    return [
        "enqueue",
        current_millis(),
        queue_name,
        broker.broker_id,
        broker.heartbeat_timeout,
        broker.dead_message_ttl,
        broker._should_do_maintenance("enqueue"),
        broker._max_unpack_size(),
        message.options["redis_message_id"],
        message.encode(),
    ]


def enqueue_many(broker: Broker, messages: list[Message]) -> None:
    """Enqueue ``messages``; on Redis in one pipelined round trip with their wake-up tokens."""
    if not isinstance(broker, WakeupRedisBroker) or len(messages) < 2:
        for message in messages:
            broker.enqueue(message)
        return
    script = broker.scripts["dispatch"]
    sent = []
    with broker.client.pipeline(transaction=False) as pipe:
        tokens: dict[str, int] = {}
        for message in messages:
            message = message.copy(options={"redis_message_id": str(uuid4())})
            broker.emit_before("enqueue", message, None)
            script(
                keys=[broker.namespace],
                args=_dispatch_arguments(broker, message.queue_name, message),
                client=pipe,
            )
            tokens[message.queue_name] = tokens.get(message.queue_name, 0) + 1
            sent.append(message)
        for queue_name, count in tokens.items():
            key = broker.notify_key(queue_name)
            pipe.lpush(key, *[1] * min(count, MAX_NOTIFY_TOKENS))
            pipe.ltrim(key, 0, MAX_NOTIFY_TOKENS - 1)
        pipe.execute()
    for message in sent:
        broker.emit_after("enqueue", message, None)


def _middleware() -> list:
    # No TimeLimit or AgeLimit: limits are the job's own (service.worker.engine); no retries by default.
    middleware = [CurrentMessage(), Callbacks(), Pipelines(), Retries(max_retries=0)]
    if tracing.active():  # only with the tracing extra configured: otherwise nothing changes
        middleware.append(TraceContext())
    return middleware


def build_broker(settings: Settings, *, namespace: str = "jobsync") -> Broker:
    """Create the broker for these settings and make it Dramatiq's global broker."""
    if settings.redis_url:
        broker: Broker = WakeupRedisBroker(
            url=settings.redis_url, namespace=namespace, middleware=_middleware()
        )
    else:
        broker = StubBroker(middleware=_middleware())
        broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    return broker


def ping(broker: Broker) -> None:
    """Raise BrokerUnavailable-worthy errors if the broker cannot be reached."""
    if isinstance(broker, RedisBroker):
        broker.client.ping()
