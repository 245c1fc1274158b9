"""Named credentials pinned to hosts (tests for repos.credentials and the fetch's host check)."""

from __future__ import annotations

import http.server
import threading

import pytest

from repos.credentials import resolve_named_credentials, validate_credential_name
from repos.errors import CredentialNotPinned, CredentialsUnavailable
from repos.git import GitSettings, fetch
from repos.remotes import remote_host
from service.jobs.errors import ValidationError

TOKEN = "ghp_PinnedTokenValue0123456789abcdefABCD"
DEFINITIONS = {"github_ro": {"secret": "env:JOBSYNC_TEST_PINNED_TOKEN", "hosts": ["github.com"]}}


@pytest.mark.parametrize(("url", "host"), [
    ("https://GitHub.com/acme/jobs.git", "github.com"),
    ("https://user@github.com:8443/acme/jobs.git", "github.com"),
    ("ssh://git@github.com/acme/jobs.git", "github.com"),
    ("git@github.com:acme/jobs.git", "github.com"),
    ("/srv/git/jobs.git", None),
    ("file:///srv/git/jobs.git", None),
])
def test_the_host_a_remote_url_connects_to(url, host):
    assert remote_host(url) == host


def test_a_credential_is_resolved_only_for_a_remote_on_a_pinned_host(monkeypatch):
    monkeypatch.setenv("JOBSYNC_TEST_PINNED_TOKEN", TOKEN)
    credentials = resolve_named_credentials("github_ro", DEFINITIONS, "https://github.com/acme/jobs.git")
    assert credentials.secret == TOKEN and credentials.hosts == ("github.com",)
    with pytest.raises(CredentialNotPinned) as refused:
        resolve_named_credentials("github_ro", DEFINITIONS, "https://evil.example/acme/jobs.git")
    assert TOKEN not in str(refused.value)


def test_a_fetch_never_sends_a_credential_to_a_host_it_is_not_pinned_to(monkeypatch, tmp_path):
    """An attacker's server on another host sees no request at all, let alone the token."""
    monkeypatch.setenv("JOBSYNC_TEST_PINNED_TOKEN", TOKEN)
    seen: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        credentials = resolve_named_credentials("github_ro", DEFINITIONS, "https://github.com/acme/jobs.git")
        url = f"https://127.0.0.1:{server.server_port}/acme/jobs.git"
        with pytest.raises(CredentialNotPinned):
            fetch(tmp_path / "data", "demo", url, "main", credentials=credentials,
                  settings=GitSettings(timeout=5))
    finally:
        server.shutdown()
        server.server_close()
    assert seen == []


def test_old_references_and_unknown_names_are_refused_when_a_repository_is_saved():
    for value in ("env:JOBSYNC_SECRET_KEY", "file:/proc/self/environ"):
        with pytest.raises(ValidationError) as refused:
            validate_credential_name(value, DEFINITIONS, "https://github.com/acme/jobs.git")
        assert list(refused.value.fields) == ["credentials"]
        assert "named credential" in str(refused.value.fields)
    with pytest.raises(ValidationError, match="github_ro"):
        validate_credential_name("other", DEFINITIONS, "https://github.com/acme/jobs.git")
    with pytest.raises(ValidationError) as refused:
        validate_credential_name("github_ro", DEFINITIONS, "https://evil.example/acme/jobs.git")
    assert "github.com" in str(refused.value.fields)
    assert validate_credential_name("github_ro", DEFINITIONS, "git@github.com:acme/jobs.git") == "github_ro"


def test_an_unreadable_secret_says_nothing_about_whether_its_file_exists(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("")
    messages = set()
    for path in (empty, tmp_path / "absent", tmp_path):
        definitions = {"mine": {"secret": f"file:{path}", "hosts": ["github.com"]}}
        with pytest.raises(CredentialsUnavailable) as refused:
            resolve_named_credentials("mine", definitions, "https://github.com/acme/jobs.git")
        messages.add(str(refused.value))
    assert messages == {"The secret of credential 'mine' cannot be read."}


def test_an_old_reference_stored_on_a_repository_is_never_resolved(monkeypatch):
    monkeypatch.setenv("JOBSYNC_SECRET_KEY", "the-session-key")
    with pytest.raises(CredentialsUnavailable, match="named credential") as refused:
        resolve_named_credentials("env:JOBSYNC_SECRET_KEY", DEFINITIONS, "https://github.com/acme/jobs.git")
    assert "the-session-key" not in str(refused.value)
