"""Scheduling test helpers: a settable clock, broker message inspection, new schedules."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from dramatiq.message import Message

from service.models import utcnow
from service.scheduling import create_schedule
from tests.helpers.factories import make_job


class FakeClock:
    """A clock a test moves by hand; it starts at the real time so worker claims agree with it."""

    def __init__(self, start: datetime | None = None):
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def sent_ids(runtime, queue: str = "default") -> list[uuid.UUID]:
    """Drain the in-process broker's ``queue``; return the JobResult ids its messages carry."""
    ids = []
    pending = runtime.broker.queues[queue]
    while not pending.empty():
        ids.append(uuid.UUID(Message.decode(pending.get_nowait()).args[0]))
    return ids


def new_schedule(runtime, clock, job_fields=None, **fields):
    """Schedule a fresh runnable job (every ten minutes from now, unless ``fields`` say otherwise)."""
    values = dict(
        name=f"every ten minutes {len(fields)}",
        interval_type="custom",
        every_minutes=10,
        start_time=clock.now,
        known_queues=("high", "default", "low"),
        now=clock.now,
    )
    values.update(fields)
    with runtime.db.session() as session:
        job = make_job(session, **(job_fields or {}))
        return create_schedule(session, job, **values)
