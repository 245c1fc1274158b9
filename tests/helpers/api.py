"""API test helpers: callers with chosen permissions, and one row of each kind the API lists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from service.models import (
    GitRepository,
    JobButton,
    JobHook,
    JobLogEntry,
    ObjectChangeEvent,
    ScheduledJob,
    WebhookDelivery,
    utcnow,
)

HELLO_VARIABLES = [{"name": "who", "type": "StringVar", "required": False, "default": "world"}]


@dataclass
class Caller:
    user_id: uuid.UUID
    username: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.key}"}


def add_hook(session, job, name: str | None = None, **fields) -> JobHook:
    values = dict(
        name=name or f"hook-{uuid.uuid4().hex[:8]}", content_types=["dcim.device"], job=job, type_create=True
    )
    values.update(fields)
    hook = JobHook(**values)
    session.add(hook)
    session.flush()
    return hook


def add_button(session, job, name: str | None = None, **fields) -> JobButton:
    values = dict(
        name=name or f"button-{uuid.uuid4().hex[:8]}", content_types=["dcim.device"], job=job, text="Run"
    )
    values.update(fields)
    button = JobButton(**values)
    session.add(button)
    session.flush()
    return button


def add_log(session, result, message: str = "hello", level: str = "info") -> JobLogEntry:
    entry = JobLogEntry(job_result_id=result.id, level=level, message=message, created=utcnow())
    session.add(entry)
    session.flush()
    return entry


def add_repository(session, **fields) -> GitRepository:
    name = f"repo{uuid.uuid4().hex[:8]}"
    values = dict(name=name, slug=name, remote_url=f"https://git.example.com/{name}.git")
    values.update(fields)
    repository = GitRepository(**values)
    session.add(repository)
    session.flush()
    return repository


def add_schedule(session, job, **fields) -> ScheduledJob:
    values = dict(
        name=f"schedule-{uuid.uuid4().hex[:8]}", job=job, interval_type="daily", start_time=utcnow()
    )
    values.update(fields)
    schedule = ScheduledJob(**values)
    session.add(schedule)
    session.flush()
    return schedule


def add_delivery(session, **fields) -> WebhookDelivery:
    values = dict(
        provider="github",
        delivery_id=uuid.uuid4().hex,
        event="push",
        ref="refs/heads/main",
        outcome="accepted",
    )
    values.update(fields)
    delivery = WebhookDelivery(**values)
    session.add(delivery)
    session.flush()
    return delivery


def add_change(session, **fields) -> ObjectChangeEvent:
    values = dict(
        request_id=uuid.uuid4().hex,
        action="create",
        object_type="dcim.device",
        object_id=uuid.uuid4().hex,
        object_repr="router1",
    )
    values.update(fields)
    change = ObjectChangeEvent(**values)
    session.add(change)
    session.flush()
    return change
