"""Turning an event into deliveries (one per matching rule, throttled) and delivering one.

A delivery is a row first and a message second (the outbox sends it on commit). The
``jobsync.notify`` actor calls ``deliver``, which tries the channel once and records the attempt;
it raises RetryDelivery while attempts remain, so Dramatiq retries with back-off, and records the
delivery failed after ``notify_max_attempts``.
"""

from __future__ import annotations

import logging
import time
import uuid
import weakref
from datetime import datetime

import dramatiq
from sqlalchemy import select

from service.errors import NotificationFailed
from service.infra.outbox import send_message_after_commit
from service.models import NotificationDelivery, NotificationRule, utcnow
from service.notifications.messages import build_message
from service.notifications.rules import Event, matches, throttled
from service.notifications.senders import send
from service.observability import metrics

logger = logging.getLogger(__name__)

NOTIFY_ACTOR = "jobsync.notify"
NOTIFY_QUEUE = "default"
#: How long a process trusts its answer to "is any rule enabled?" (the hot path asks per run).
RULES_CACHE_SECONDS = 5.0

_rules_seen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Database -> (until, answer)


class RetryDelivery(Exception):  # noqa: N818 (a signal to Dramatiq's Retries middleware)
    """The channel failed and attempts remain: Dramatiq retries the message with back-off."""


def any_rules(db) -> bool:
    """Say whether any rule is enabled, asking the database at most every few seconds."""
    seen = _rules_seen.get(db)
    now = time.monotonic()
    if seen and seen[0] > now:
        return seen[1]
    with db.session() as session:
        first = session.scalar(select(NotificationRule.id).where(NotificationRule.enabled).limit(1))
    present = first is not None
    _rules_seen[db] = (now + RULES_CACHE_SECONDS, present)
    return present


def forget_rules_cache() -> None:
    """Ask the database again next time (after rules change in this process; tests)."""
    _rules_seen.clear()


def notify(session, event: Event, settings, *, now: datetime | None = None) -> list[uuid.UUID]:
    """Record a delivery for every enabled rule ``event`` matches, unless its throttle holds it;
    their messages leave when ``session`` commits. Return the deliveries' ids."""
    now = now or utcnow()
    delivered = []
    for rule in session.scalars(select(NotificationRule).where(NotificationRule.enabled)):
        if not matches(rule, event):
            continue
        if throttled(rule.last_sent, now, settings.notify_min_interval_seconds):
            rule.suppressed += 1  # summarised in the rule's next message
            continue
        message = build_message(event, suppressed=rule.suppressed, public_url=settings.public_url, now=now)
        delivery = NotificationDelivery(id=uuid.uuid4(), rule_id=rule.id, event=event.kind, message=message,
                                        created=now)
        session.add(delivery)
        rule.last_sent, rule.suppressed = now, 0
        send_message_after_commit(session, delivery_message(delivery.id))
        delivered.append(delivery.id)
    return delivered


def delivery_message(delivery_id: uuid.UUID) -> dramatiq.Message:
    return dramatiq.Message(queue_name=NOTIFY_QUEUE, actor_name=NOTIFY_ACTOR, args=(str(delivery_id),),
                            kwargs={}, options={})


def deliver(current, delivery_id: str) -> str:
    """Try a pending delivery once and record the attempt; return its status.

    Raises RetryDelivery when the channel failed and attempts remain.
    """
    settings = current.settings
    with current.db.session() as session:
        delivery = session.get(NotificationDelivery, uuid.UUID(str(delivery_id)))
        if delivery is None or delivery.status != "pending":
            return delivery.status if delivery else "gone"
        rule, message = delivery.rule, dict(delivery.message)
        session.expunge(rule)
    error = None
    try:
        send(rule, message, settings)
    except NotificationFailed as exc:
        error = str(exc)
    with current.db.session() as session:
        delivery = session.get(NotificationDelivery, uuid.UUID(str(delivery_id)))
        delivery.attempts += 1
        delivery.last_error = error
        if error is None:
            delivery.status, delivery.completed = "sent", utcnow()
        elif delivery.attempts >= settings.notify_max_attempts:
            delivery.status, delivery.completed = "failed", utcnow()
        status, attempts = delivery.status, delivery.attempts
    metrics.notification_attempt(rule.channel, "sent" if error is None else "failed")
    if status == "pending":
        logger.warning("notification %s: attempt %d failed (%s); retrying", delivery_id, attempts, error)
        raise RetryDelivery(f"notification {delivery_id}: attempt {attempts} failed")
    return status
