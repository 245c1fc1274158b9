"""UI fixtures: users with cheap password hashes, and test clients logged in as each of them."""

from __future__ import annotations

import pytest

from tests.helpers.factories import make_user
from tests.helpers.ui import FAST_HASH, USERS, log_in


@pytest.fixture
def users(runtime) -> dict:
    """One user per role, committed; returns their ids by name."""
    with runtime.db.session() as session:
        made = {
            name: make_user(session, name, password_hash=FAST_HASH, **fields)
            for name, fields in USERS.items()
        }
        return {name: user.id for name, user in made.items()}


@pytest.fixture
def login(app, users):
    """Return a test client logged in as the named user."""

    def make(username: str):
        client = app.test_client()
        response = log_in(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


@pytest.fixture
def admin(login):
    return login("admin")


@pytest.fixture
def alice(login):
    return login("alice")
