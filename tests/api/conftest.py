"""API fixtures: the app shared by the API tests, callers with chosen permissions, rows to list."""

from __future__ import annotations

import uuid

import pytest

from service import bootstrap
from service.config import load_settings
from service.models import (
    User,
)
from service.users import create_token, create_user
from service.web.app_runtime import attach_runtime
from tests.helpers.api import (
    HELLO_VARIABLES,
    Caller,
    add_button,
    add_change,
    add_delivery,
    add_hook,
    add_log,
    add_repository,
    add_schedule,
)
from tests.helpers.factories import TEST_SECRET_KEY, make_job, make_result


@pytest.fixture(scope="session")
def shared_app(tmp_path_factory):
    """One app for the whole session: building one (routes, OpenAPI document) costs ~0.1 s."""
    from service.app import create_app

    directory = tmp_path_factory.mktemp("app")
    settings = load_settings(
        {"database_url": f"sqlite:///{directory}/unused.sqlite3", "data_dir": str(directory),
         "secret_key": TEST_SECRET_KEY}, environ={}
    )
    try:
        return create_app(runtime=bootstrap.configure(settings))
    finally:
        bootstrap.reset()  # each test's app fixture plugs in that test's runtime


@pytest.fixture
def app(shared_app, runtime):
    """The shared app, serving this test's runtime (and so this test's database)."""
    attach_runtime(shared_app, runtime)
    return shared_app


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
