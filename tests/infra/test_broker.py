import threading

import dramatiq
from dramatiq.brokers.stub import StubBroker

from service.infra.broker import WakeupRedisBroker, build_broker
from service.worker.actors import run_actor_name
from tests.helpers.servers import wait_until


def test_embedded_default_uses_the_in_process_broker(runtime):
    assert isinstance(runtime.broker, StubBroker)


def test_redis_url_selects_the_redis_broker_with_every_queue_declared(redis_settings):
    from service.bootstrap import configure

    runtime = configure(redis_settings.replace(queues=("reports", "acme.bulk")))
    assert isinstance(runtime.broker, WakeupRedisBroker)
    assert {"high", "default", "low", "reports", "acme.bulk"} <= runtime.broker.get_declared_queues()
    assert set(runtime.actors) == {"high", "default", "low", "reports", "acme.bulk"}
    assert runtime.actors["acme.bulk"].actor_name == run_actor_name("acme.bulk")


def test_run_actors_order_queues_high_then_default_then_low(runtime):
    priorities = [runtime.actors[q].priority for q in ("high", "default", "low")]
    assert priorities == sorted(priorities) and len(set(priorities)) == 3


def test_job_actors_never_retry_by_default(runtime):
    assert all(actor.options.get("max_retries") == 0 for actor in runtime.actors.values())


def test_an_idle_redis_consumer_wakes_on_enqueue_instead_of_sleeping(redis_settings):
    broker = build_broker(redis_settings)
    broker.declare_queue("default")
    # A consumer whose back-off has grown to a minute: without the wake-up it would sleep that long.
    consumer = broker.consume("default", prefetch=1, timeout=60_000)
    consumer.misses = 100
    received = []

    def consume():
        for message in consumer:
            if message is not None:
                received.append(message)
                consumer.ack(message)
                return

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    wait_until(lambda: broker.client.client_list(_type="normal") and any(
        c.get("cmd") == "blpop" for c in broker.client.client_list()), message="consumer blocking")
    broker.enqueue(dramatiq.Message(queue_name="default", actor_name="a", args=(), kwargs={}, options={}))
    wait_until(lambda: received, timeout=20, message="message consumed")
    thread.join(timeout=5)
    consumer.close()
    broker.close()


def test_a_batch_enqueued_in_one_round_trip_is_consumed_like_single_messages(redis_settings):
    from service.infra.broker import enqueue_many

    broker = build_broker(redis_settings)
    for queue in ("default", "low"):
        broker.declare_queue(queue)
    messages = [dramatiq.Message(queue_name=("default", "low")[i % 2], actor_name="a", args=(i,), kwargs={},
                                 options={}) for i in range(20)]
    enqueue_many(broker, messages)
    assert broker.client.llen("jobsync:default") == 10 and broker.client.llen("jobsync:low") == 10
    assert broker.client.llen(broker.notify_key("default")) == 10
    received = []
    for queue in ("default", "low"):
        consumer = broker.consume(queue, prefetch=20, timeout=100)
        while len(received) < (10 if queue == "default" else 20):
            message = next(consumer)
            if message is not None:
                received.append(message.args[0])
                consumer.ack(message)
        consumer.close()
    assert sorted(received) == list(range(20))
    broker.close()
