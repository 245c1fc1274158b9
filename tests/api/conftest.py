"""API test helpers: callers with chosen permissions, and one row of each kind the API lists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from service import runtime as runtime_module
from service.config import load_settings
from service.models import (
    GitRepository,
    JobButton,
    JobHook,
    JobLogEntry,
    ObjectChangeEvent,
    ScheduledJob,
    User,
    WebhookDelivery,
    utcnow,
)
from service.users import create_token, create_user
from tests.factories import make_job, make_result

HELLO_VARIABLES = [{"name": "who", "type": "StringVar", "required": False, "default": "world"}]


@pytest.fixture(scope="session")
def shared_app(tmp_path_factory):
    """One app for the whole session: building one (routes, OpenAPI document) costs ~0.1 s."""
    from service.app import create_app

    directory = tmp_path_factory.mktemp("app")
    settings = load_settings(
        {"database_url": f"sqlite:///{directory}/unused.sqlite3", "data_dir": str(directory)}, environ={}
    )
    try:
        return create_app(runtime=runtime_module.configure(settings))
    finally:
        runtime_module.reset()  # each test's app fixture plugs in that test's runtime


@pytest.fixture
def app(shared_app, runtime):
    """The shared app, serving this test's runtime (and so this test's database)."""
    shared_app.extensions["jobsync"] = runtime
    return shared_app


@dataclass
class Caller:
    user_id: uuid.UUID
    username: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.key}"}


@pytest.fixture
def make_caller(runtime):
    """Create a user with ``permissions`` and a token; return who they are and their key."""
    counter = iter(range(10**6))

    def make(*permissions: str, superuser: bool = False, write_enabled: bool = True, expires=None) -> Caller:
        with runtime.db.session() as session:
            user = create_user(
                session,
                f"user{next(counter)}-{uuid.uuid4().hex[:6]}",
                is_superuser=superuser,
                permissions=list(permissions),
            )
            _, key = create_token(session, user, write_enabled=write_enabled, expires=expires)
            return Caller(user.id, user.username, key)

    return make


@pytest.fixture
def reader(make_caller) -> Caller:
    """Authenticated, with no permission at all."""
    return make_caller()


@pytest.fixture
def admin(make_caller) -> Caller:
    return make_caller("admin")


@pytest.fixture
def hello(runtime):
    """An enabled, installed job with one optional variable; returns its id."""
    with runtime.db.session() as session:
        return make_job(session, "Hello", variables=HELLO_VARIABLES).id


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


@pytest.fixture
def rows(runtime, admin):
    """Three rows of each listed kind; returns the ids of interest."""
    with runtime.db.session() as session:
        hook_job = make_job(session, "Hello", is_job_hook_receiver=True, is_job_button_receiver=True)
        results = [make_result(session, hook_job) for _ in range(3)]
        for index in range(3):
            add_repository(session)
            add_schedule(session, hook_job)
            add_hook(session, hook_job)
            add_button(session, hook_job)
            add_log(session, results[0], f"line {index}")
            add_delivery(session)
            add_change(session)
        for index in range(2):
            make_job(session, "Hello")
            create_token(session, session.get(User, admin.user_id))
            create_user(session, f"someone-{index}")
        return {"job": hook_job.id, "result": results[0].id}
