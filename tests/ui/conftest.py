"""UI fixtures: users with cheap password hashes, and test clients logged in as each of them."""

from __future__ import annotations

import re

import pytest
from werkzeug.security import generate_password_hash

from tests.factories import make_user

PASSWORD = "correct horse"
#: A fast hash keeps each login cheap; check_password reads any method werkzeug knows.
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
USERS = {
    "admin": {"is_superuser": True},
    "alice": {"permissions": ["run_job"]},
    "bob": {"permissions": ["run_job", "approve_job"]},
    "viewer": {"permissions": []},
}


@pytest.fixture
def users(runtime) -> dict:
    """One user per role, committed; returns their ids by name."""
    with runtime.db.session() as session:
        made = {
            name: make_user(session, name, password_hash=FAST_HASH, **fields)
            for name, fields in USERS.items()
        }
        return {name: user.id for name, user in made.items()}


def csrf_token(client) -> str:
    """This client session's CSRF token (a page render creates it)."""
    with client.session_transaction() as session:
        token = session.get("csrf_token")
    if token is None:
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return token


def log_in(client, username: str, password: str = PASSWORD):
    client.get("/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)}
    )


def post(client, url: str, data: dict | None = None, **kwargs):
    """POST a form with this session's CSRF token, as a page's form would."""
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


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
