"""The session key: never the shipped default, never short, generated only for the embedded default on
loopback (tests for service.web.session_key)."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest

from service.config import load_settings
from service.errors import ConfigError
from service.web.session_key import session_secret_key


def _settings(tmp_path, **overrides):
    values = {"data_dir": str(tmp_path / "data"), **overrides}
    return load_settings(values, environ={})


@pytest.mark.parametrize("key", ["change-me", "short-but-not-default", "x" * 31])
def test_a_default_or_short_key_is_refused_outside_the_embedded_loopback_default(tmp_path, key):
    settings = _settings(tmp_path, secret_key=key, redis_url="redis://localhost:6379/0")
    with pytest.raises(ConfigError) as refused:
        session_secret_key(settings, bind_host="127.0.0.1")
    assert refused.value.key == "secret_key" and "secret_key" in str(refused.value)


def test_the_embedded_default_on_a_public_address_still_needs_a_key(tmp_path):
    with pytest.raises(ConfigError):
        session_secret_key(_settings(tmp_path), bind_host="0.0.0.0")
    with pytest.raises(ConfigError):
        session_secret_key(_settings(tmp_path), bind_host=None)  # a WSGI server: address unknown


def test_a_long_configured_key_is_used_as_given(tmp_path):
    key = "k" * 32
    assert session_secret_key(_settings(tmp_path, secret_key=key, redis_url="redis://x:1/0"),
                              bind_host=None) == key


def test_the_embedded_default_on_loopback_generates_a_private_key_once_and_reuses_it(tmp_path):
    settings = _settings(tmp_path)
    first = session_secret_key(settings, bind_host="127.0.0.1")
    path = tmp_path / "data" / "secret_key"
    assert len(first) >= 32 and first != "change-me"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert session_secret_key(settings, bind_host="localhost") == first


def test_the_app_refuses_to_build_with_the_default_key_behind_a_wsgi_server(tmp_path):
    from service.app import create_app

    settings = _settings(tmp_path, database_url=f"sqlite:///{tmp_path}/db.sqlite3",
                         redis_url="redis://localhost:6379/0")
    from service import bootstrap

    with pytest.raises(ConfigError):
        create_app(runtime=bootstrap.configure(settings))


def test_jobsync_serve_with_the_default_key_on_a_public_address_exits_2_naming_secret_key(cli_env):
    command = [sys.executable, "-m", "service.cli", "serve", "--host", "0.0.0.0", "--port", "0"]
    env = {**cli_env, "JOBSYNC_SECRET_KEY": "change-me"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "secret_key" in lines[0]


def test_a_cookie_forged_with_the_shipped_default_key_is_not_a_session(tmp_path):
    """The embedded default on loopback signs with its generated key, never with ``change-me``."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    from service import bootstrap
    from service.app import create_app
    from tests.helpers.factories import make_user

    # The embedded default itself: its own SQLite file, the in-process broker, the shipped key.
    runtime = bootstrap.configure(_settings(tmp_path))
    runtime.db.upgrade()
    with runtime.db.session() as session:
        admin_id = str(make_user(session, "root", is_superuser=True).id)
    app = create_app(runtime=runtime, bind_host="127.0.0.1")
    forger = Flask("forger")
    forger.secret_key = "change-me"
    cookie = SecureCookieSessionInterface().get_signing_serializer(forger).dumps(
        {"user_id": admin_id, "session_version": 0})
    client = app.test_client()
    client.set_cookie("session", cookie)
    assert client.get("/api/extras/jobs/").status_code == 401
