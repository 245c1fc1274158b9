"""Rows and clients for the webhook endpoints: a repository with a webhook secret, users with tokens."""

from __future__ import annotations

import pytest

from service.models import GitRepository
from service.users import create_token, create_user
from tests.helpers.senders import SECRET
from tests.helpers.webhooks import EVENTS_SECRET, EVENTS_SECRET_VARIABLE, SECRET_VARIABLE


@pytest.fixture
def webhook_secret(monkeypatch):
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    return f"env:{SECRET_VARIABLE}"


@pytest.fixture
def repository(runtime, webhook_secret, tmp_path):
    """A repository following ``main`` that accepts signed webhooks (its remote is never fetched here)."""
    with runtime.db.session() as session:
        repository = GitRepository(
            name="Demo",
            slug="demo",
            remote_url=str(tmp_path / "remote.git"),
            branch="main",
            webhook_secret=webhook_secret,
        )
        session.add(repository)
    return repository


@pytest.fixture
def token_for(runtime):
    """Return an API key for a new user holding ``permissions``."""

    def make(username: str = "netbox", permissions: tuple[str, ...] = ("run_job",)) -> str:
        with runtime.db.session() as session:
            user = create_user(session, username, permissions=list(permissions))
            return create_token(session, user)[1]

    return make


@pytest.fixture
def settings(settings, monkeypatch):
    """The shared settings, with an HMAC secret for /webhooks/events."""
    monkeypatch.setenv(EVENTS_SECRET_VARIABLE, EVENTS_SECRET)
    return settings.replace(events_secret=f"env:{EVENTS_SECRET_VARIABLE}")
