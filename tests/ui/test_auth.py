"""Logging in and out, CSRF refusals and the headers every page carries."""

from tests.helpers.ui import csrf_token, log_in, post


def test_pages_send_an_anonymous_visitor_to_the_login_page_and_back(client, users):
    response = client.get("/jobs/?q=hello")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/jobs/?q=hello"' in login_page
    response = client.post(
        "/login",
        data={
            "username": "alice",
            "password": "correct horse",
            "next": "/jobs/?q=hello",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/jobs/?q=hello"


def test_a_wrong_password_and_an_unknown_user_get_the_same_refusal(client, users):
    wrong = log_in(client, "alice", password="nope")
    unknown = log_in(client, "mallory")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong user name or password." in wrong.get_data(as_text=True)
    assert "Wrong user name or password." in unknown.get_data(as_text=True)
    assert client.get("/jobs/").status_code == 302


def test_an_inactive_user_cannot_log_in(client, users, runtime):
    from service.models import User

    with runtime.db.session() as session:
        session.get(User, users["alice"]).is_active = False
    assert log_in(client, "alice").status_code == 401


def test_login_never_redirects_to_another_site(client, users):
    client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": "alice",
            "password": "correct horse",
            "next": "https://evil.example/",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.headers["Location"] == "/jobs/"
    response = client.post(
        "/login",
        data={
            "username": "alice",
            "password": "correct horse",
            "next": "//evil.example/x",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.headers["Location"] == "/jobs/"


def test_a_post_without_the_csrf_token_is_refused(alice):
    response = alice.post("/logout")
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)
    assert alice.get("/jobs/").status_code == 200  # still logged in


def test_a_post_with_another_sessions_csrf_token_is_refused(alice, login):
    other = login("bob")
    response = alice.post("/logout", data={"csrf_token": csrf_token(other)})
    assert response.status_code == 400


def test_the_login_form_itself_needs_the_csrf_token(client, users):
    response = client.post("/login", data={"username": "alice", "password": "correct horse"})
    assert response.status_code == 400


def test_logging_in_replaces_the_csrf_token_picked_up_before(client, users):
    client.get("/login")
    before = csrf_token(client)
    log_in(client, "alice")
    assert csrf_token(client) != before


def test_logging_out_ends_the_session(alice):
    response = post(alice, "/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert alice.get("/jobs/").status_code == 302


def test_the_live_feed_answers_401_json_when_not_logged_in(client, users):
    response = client.get("/job-results/00000000-0000-0000-0000-000000000000/live")
    assert response.status_code == 401 and response.is_json


def test_pages_forbid_inline_scripts_and_framing(alice):
    response = alice.get("/jobs/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_missing_row_is_an_html_404_page(alice):
    response = alice.get("/jobs/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "No job" in response.get_data(as_text=True)


def test_an_action_without_its_permission_is_a_403_page(login):
    viewer = login("viewer")
    response = post(viewer, "/repositories/add", {"name": "x", "remote_url": "/tmp/x"})
    assert response.status_code == 403 and "manage_repository permission" in response.get_data(as_text=True)


def test_login_never_redirects_through_a_backslash(client, users):
    client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": "alice",
            "password": "correct horse",
            "next": "/\\evil.example/",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.headers["Location"] == "/jobs/"
