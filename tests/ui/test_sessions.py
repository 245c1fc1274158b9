"""Browser sessions end everywhere on logout and password change; the cookie's Secure flag; login
throttling (tests for service.web.sessions and service.web.login_throttle)."""

from __future__ import annotations

from service import users as user_accounts
from service.models import User
from tests.helpers.ui import log_in, post


def _copy_cookie(source, target) -> None:
    """Give ``target`` the session cookie ``source`` holds, as a thief who copied it would."""
    cookie = source.get_cookie("session")
    target.set_cookie("session", cookie.value)


def test_logging_out_ends_copies_of_the_session_cookie_too(app, alice):
    thief = app.test_client()
    _copy_cookie(alice, thief)
    assert thief.get("/api/extras/jobs/").status_code == 200
    post(alice, "/logout")
    assert thief.get("/api/extras/jobs/").status_code == 401


def test_changing_a_password_ends_every_session_of_that_user(app, alice, runtime, users):
    assert alice.get("/api/extras/jobs/").status_code == 200
    with runtime.db.session() as session:
        user_accounts.set_password(session, session.get(User, users["alice"]), "a new password")
    assert alice.get("/api/extras/jobs/").status_code == 401
    assert alice.get("/jobs/").status_code == 302  # the UI sends them to log in again


def test_the_session_cookie_is_secure_on_https_when_set_to_auto(app, users):
    client = app.test_client()
    log_in(client, "alice")
    assert not client.get_cookie("session").secure
    secure_client = app.test_client()
    secure_client.get("/login", base_url="https://localhost")
    response = secure_client.post("/login", base_url="https://localhost", data={
        "username": "alice", "password": "correct horse", "csrf_token": _csrf(secure_client)})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]


def test_the_session_cookie_is_always_secure_when_set_to_true(settings, users):
    from service import bootstrap
    from service.app import create_app

    app = create_app(runtime=bootstrap.configure(settings.replace(session_cookie_secure="true")))
    client = app.test_client()
    assert log_in(client, "alice").status_code == 302
    assert client.get_cookie("session").secure


def _csrf(client) -> str:
    with client.session_transaction(base_url="https://localhost") as session:
        return session["csrf_token"]


def test_too_many_failed_logins_for_one_user_refuse_even_the_right_password(runtime, app, users):
    limit = runtime.settings.login_max_attempts
    for number in range(limit):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{number + 1}"  # a different address each time
        assert log_in(client, "alice", "wrong").status_code == 401
    client = app.test_client()
    assert log_in(client, "alice").status_code == 429
    assert log_in(client, "bob").status_code == 302  # other users are not locked out


def test_too_many_failed_logins_from_one_address_refuse_it_for_every_user(runtime, app, users):
    client = app.test_client()
    for number in range(runtime.settings.login_max_attempts):
        assert log_in(client, f"nobody-{number}", "wrong").status_code == 401
    assert log_in(client, "bob").status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    assert log_in(elsewhere, "bob").status_code == 302


def test_behind_a_trusted_proxy_failed_logins_count_against_the_clients_address(settings, users):
    from service import bootstrap
    from service.app import create_app

    app = create_app(runtime=bootstrap.configure(settings.replace(trusted_proxy_hops=1)))
    limit = settings.login_max_attempts
    attacker = app.test_client()
    attacker.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    for number in range(limit):
        assert log_in(attacker, f"nobody-{number}", "wrong").status_code == 401
    assert log_in(attacker, "bob").status_code == 429
    colleague = app.test_client()  # through the same proxy, from another address
    colleague.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.2"
    assert log_in(colleague, "bob").status_code == 302
