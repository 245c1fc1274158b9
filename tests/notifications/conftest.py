"""Fixtures for notification tests: a runtime with fast retries, and the real servers."""

import pytest

from service import bootstrap
from service.notifications.delivery import forget_rules_cache
from tests.helpers.notifications import HttpReceiver, SmtpServer

SECRET = "s3cr3t-hmac-key"


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def receiver():
    with HttpReceiver() as server:
        yield server


@pytest.fixture
def notify_runtime(settings, smtp, monkeypatch):
    monkeypatch.setenv("NOTIFY_TEST_SECRET", SECRET)
    forget_rules_cache()
    current = bootstrap.configure(settings.replace(
        isolation="thread", notify_backoff_seconds=0.01, notify_max_attempts=3, notify_min_interval_seconds=0,
        smtp_host="127.0.0.1", smtp_port=smtp.port, public_url="https://jobsync.example.com"))
    yield current
    forget_rules_cache()
    bootstrap.reset()
