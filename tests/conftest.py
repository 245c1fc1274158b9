"""Shared fixtures: settings, a migrated database, the runtime, the app and a CLI runner.

The database comes from JOBSYNC_TEST_DB: ``sqlite`` (default; a template file migrated once per
session and copied per test) or ``postgresql`` (JOBSYNC_TEST_DATABASE_URL, migrated once per
session and emptied after each test). Redis comes from JOBSYNC_TEST_REDIS_URL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, make_url, text

from service import bootstrap
from service.config import load_settings
from service.infra.db import Database
from service.models import Base
from tests.helpers.factories import TEST_SECRET_KEY

TEST_DB = os.environ.get("JOBSYNC_TEST_DB", "sqlite")


def _postgres_url() -> str:
    url = os.environ.get("JOBSYNC_TEST_DATABASE_URL")
    if not url:
        raise RuntimeError("JOBSYNC_TEST_DB=postgresql needs JOBSYNC_TEST_DATABASE_URL (scripts/test.sh)")
    return url


def test_redis_url() -> str:
    url = os.environ.get("JOBSYNC_TEST_REDIS_URL")
    if not url:
        raise RuntimeError("these tests need a real Redis: JOBSYNC_TEST_REDIS_URL (set by scripts/test.sh)")
    return url


test_redis_url.__test__ = False  # a helper, not a test


@contextlib.contextmanager
def _session_postgres_database(server_url: str):
    """Create a database of our own on the test server, so concurrent sessions never collide."""
    url = make_url(server_url)
    name = f"jobsync_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """Migrate a database once per session; return its URL (a template file for SQLite)."""
    with contextlib.ExitStack() as stack:
        if TEST_DB == "postgresql":
            url = stack.enter_context(_session_postgres_database(_postgres_url()))
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'template.sqlite3'}"
        database = Database(url)
        database.upgrade()
        database.dispose()
        yield url


def _empty_postgres(url: str) -> None:
    database = Database(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} CASCADE"))
    database.dispose()


@pytest.fixture
def database_url(migrated_database, tmp_path):
    if TEST_DB == "postgresql":
        yield migrated_database
        _empty_postgres(migrated_database)
    else:
        path = tmp_path / "jobsync.sqlite3"
        shutil.copyfile(migrated_database.split(":///", 1)[1], path)
        yield f"sqlite:///{path}"


@pytest.fixture
def settings(database_url, tmp_path):
    """Embedded-mode settings (in-process broker) on the test database."""
    return load_settings({"database_url": database_url, "data_dir": str(tmp_path / "data"),
                          "secret_key": TEST_SECRET_KEY}, environ={})


@pytest.fixture(scope="session")
def _session_redis_url():
    """Lease a Redis database number for this session (a key in db 0 marks it taken)."""
    import redis

    url = make_url_redis(test_redis_url())
    admin = redis.Redis.from_url(url.format(db=0))
    for number in range(1, 16):
        if admin.set(f"jobsync-test-lease:{number}", os.getpid(), nx=True, ex=3 * 3600):
            try:
                yield url.format(db=number)
            finally:
                admin.delete(f"jobsync-test-lease:{number}")
                admin.close()
            return
    raise RuntimeError("no free Redis database number for this test session (all 15 leased)")


def make_url_redis(url: str) -> str:
    """Turn ``redis://host:port/N`` into a template with the database number left open."""
    base, _, last = url.rstrip("/").rpartition("/")
    return (base if last.isdigit() else url.rstrip("/")) + "/{db}"


@pytest.fixture
def redis_url(_session_redis_url):
    import redis

    client = redis.Redis.from_url(_session_redis_url)
    client.flushdb()
    yield _session_redis_url
    client.flushdb()
    client.close()


@pytest.fixture
def redis_settings(settings, redis_url):
    """Production-mode settings: the test database and the real Redis broker."""
    return settings.replace(redis_url=redis_url)


@pytest.fixture
def runtime(settings):
    current = bootstrap.configure(settings)
    yield current
    bootstrap.reset()


@pytest.fixture
def redis_runtime(redis_settings):
    current = bootstrap.configure(redis_settings)
    yield current
    bootstrap.reset()


@pytest.fixture
def app(runtime):
    from service.app import create_app

    return create_app(runtime=runtime)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cli_env(database_url, tmp_path) -> dict[str, str]:
    """Environment for running ``jobsync`` as a subprocess against the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSYNC_")}
    env.update(JOBSYNC_DATABASE_URL=database_url, JOBSYNC_DATA_DIR=str(tmp_path / "data"),
               JOBSYNC_SECRET_KEY=TEST_SECRET_KEY)
    return env


@pytest.fixture(autouse=True)
def _forget_runtime():
    """A CLI invocation configures the process runtime; never let it leak into the next test."""
    yield
    bootstrap.reset()


@pytest.fixture(autouse=True)
def _forget_outages():
    """The process's outage log (service.infra.outage) must not carry one test's outage into the next."""
    from service.infra.outage import outages

    outages.forget()
    yield
    outages.forget()


def pytest_collection_modifyitems(config, items):
    """On the PostgreSQL pass, run only the tests that touch the database: the rest ran on SQLite's.

    Tests marked ``postgresql_only`` run on that pass alone (deselected, never skipped, on SQLite's).
    """
    uses_database = {"database_url", "migrated_database"}
    kept, skipped = [], []
    for item in items:
        if TEST_DB != "postgresql":
            keep = item.get_closest_marker("postgresql_only") is None
        else:
            fixtures = set(getattr(item, "fixturenames", ()))
            keep = bool(fixtures & uses_database) or item.get_closest_marker("postgres") is not None
        (kept if keep else skipped).append(item)
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = kept


@pytest.fixture
def clock():
    """A clock the test moves by hand (scheduling and JobRunner tests)."""
    from tests.helpers.scheduling import FakeClock

    return FakeClock()
