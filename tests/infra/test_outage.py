"""Telling outages from bugs, retrying through them, and logging each transition once."""

import logging
import threading

import pytest
import redis
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from service.errors import BrokerUnavailable, DatabaseUnavailable
from service.infra.db import Database
from service.infra.outage import (
    BROKER,
    DATABASE,
    OutageLog,
    OutageOutlasted,
    as_service_error,
    outage_of,
    retry_through_outage,
)
from tests.helpers.servers import free_port


def unreachable_database() -> Database:
    """A real PostgreSQL URL on a port nobody listens on: connecting fails as in an outage."""
    return Database(f"postgresql+psycopg://jobsync@127.0.0.1:{free_port()}/none?connect_timeout=2")


def database_error() -> Exception:
    try:
        with unreachable_database().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # the real error psycopg and SQLAlchemy raise
        return exc
    raise AssertionError("connecting to a closed port succeeded")


def redis_error() -> Exception:
    try:
        redis.Redis(port=free_port(), socket_connect_timeout=1).ping()
    except Exception as exc:
        return exc
    raise AssertionError("connecting to a closed port succeeded")


def test_an_unreachable_database_or_redis_is_an_outage_and_a_bug_is_not():
    assert outage_of(database_error()) == DATABASE
    assert outage_of(redis_error()) == BROKER
    assert outage_of(ValueError("bug")) is None
    assert outage_of(IntegrityError("INSERT", {}, Exception("duplicate"))) is None


def test_outages_translate_into_our_503_errors():
    assert isinstance(as_service_error(database_error()), DatabaseUnavailable)
    assert isinstance(as_service_error(redis_error()), BrokerUnavailable)
    assert as_service_error(KeyError("x")) is None


def test_an_operation_is_retried_through_an_outage_until_it_succeeds():
    failures = [database_error(), database_error()]

    def operation():
        if failures:
            raise failures.pop()
        return "done"

    assert retry_through_outage(operation, grace_seconds=30, what="test") == "done"
    assert failures == []


def test_an_outage_longer_than_the_grace_raises_outage_outlasted():
    error = database_error()
    calls = []

    def operation():
        calls.append(1)
        raise error

    with pytest.raises(OutageOutlasted, match="database stayed unreachable"):
        retry_through_outage(operation, grace_seconds=0.3, what="test")
    assert len(calls) >= 2


def test_a_bug_is_raised_at_once_never_retried():
    calls = []

    def operation():
        calls.append(1)
        raise ValueError("bug")

    with pytest.raises(ValueError):
        retry_through_outage(operation, grace_seconds=30, what="test")
    assert calls == [1]


def test_a_stop_request_ends_the_wait_early():
    stop = threading.Event()
    stop.set()
    error = redis_error()

    def operation():
        raise error

    with pytest.raises(OutageOutlasted):
        retry_through_outage(operation, grace_seconds=3600, what="test", stop=stop)


def test_the_outage_log_says_down_once_and_back_once(caplog):
    log = OutageLog(logging.getLogger("test.outage"))
    error = database_error()
    with caplog.at_level(logging.WARNING, logger="test.outage"):
        for _ in range(5):
            log.down(DATABASE, error)
        for _ in range(3):
            log.up(DATABASE)
    messages = [record.getMessage() for record in caplog.records]
    down = f"database unavailable ({type(error).__name__}): retrying"
    assert messages == [down, "database available again"]
