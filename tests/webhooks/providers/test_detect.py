import pytest
from werkzeug.datastructures import Headers

from webhooks.errors import UnsupportedProvider
from webhooks.providers import PROVIDERS, detect_provider

# The headers each sender really sends (trimmed to the ones that identify it).
REAL_HEADERS = {
    "github": {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-GitHub-Hook-ID": "478524791",
        "X-Hub-Signature-256": "sha256=...",
        "User-Agent": "GitHub-Hookshot/044aadd",
    },
    "gitlab": {
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Token": "...",
        "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e",
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "User-Agent": "GitLab/17.5.0",
    },
    "gitea": {
        "X-GitHub-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473",
        "X-GitHub-Event": "push",
        "X-Gogs-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473",
        "X-Gogs-Event": "push",
        "X-Gitea-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473",
        "X-Gitea-Event": "push",
        "X-Gitea-Signature": "...",
    },
    "bitbucket-cloud": {
        "X-Event-Key": "repo:push",
        "X-Hook-UUID": "{cedbe0f1-0a4b-4d47-8a57-9ec9a8f3c5b8}",
        "X-Request-UUID": "{afe7d94b-5bf9-4c5f-bb45-d6bd05ee53a1}",
        "X-Attempt-Number": "1",
        "User-Agent": "Bitbucket-Webhooks/2.0",
    },
    "bitbucket-server": {
        "X-Event-Key": "repo:refs_changed",
        "X-Request-Id": "3b3e6e6e-2f3c-4e1e-9f63-0b6f4b9a6c51",
        "X-Hub-Signature": "sha256=...",
    },
    "generic": {"X-Jobsync-Signature": "sha256=...", "X-Jobsync-Delivery": "ci-run-8812"},
}


@pytest.mark.parametrize("provider", sorted(REAL_HEADERS))
def test_each_provider_is_detected_from_its_real_headers(provider):
    assert detect_provider(REAL_HEADERS[provider]) == provider


def test_every_provider_has_real_headers_to_detect_it_by():
    assert set(PROVIDERS) == set(REAL_HEADERS)


@pytest.mark.parametrize("spell", [str.lower, str.upper, str.title])
def test_header_names_are_matched_without_regard_to_case(spell):
    assert detect_provider({spell("X-Gitlab-Event"): "Push Hook"}) == "gitlab"


def test_werkzeug_request_headers_are_accepted():
    assert detect_provider(Headers({"X-GitHub-Event": "push"})) == "github"


def test_gitea_is_detected_although_it_also_sends_github_headers():
    assert detect_provider(REAL_HEADERS["gitea"]) == "gitea"


def test_forgejo_is_detected_as_gitea():
    headers = {"X-Forgejo-Event": "push", "X-Forgejo-Delivery": "d1", "X-GitHub-Event": "push"}
    assert detect_provider(headers) == "gitea"


def test_bitbucket_cloud_stays_cloud_when_a_proxy_adds_x_request_id():
    headers = {**REAL_HEADERS["bitbucket-cloud"], "X-Request-Id": "added-by-nginx"}
    assert detect_provider(headers) == "bitbucket-cloud"


def test_bitbucket_data_center_is_known_by_its_event_key_without_x_request_id():
    assert detect_provider({"X-Event-Key": "repo:refs_changed"}) == "bitbucket-server"
    assert detect_provider({"X-Event-Key": "diagnostics:ping"}) == "bitbucket-server"


def test_other_bitbucket_data_center_events_are_known_by_x_request_id():
    headers = {
        "X-Event-Key": "mirror:repo_synchronized",
        "X-Request-Id": "3b3e6e6e-2f3c-4e1e-9f63-0b6f4b9a6c51",
    }
    assert detect_provider(headers) == "bitbucket-server"


def test_bitbucket_with_no_other_clue_is_cloud():
    assert detect_provider({"X-Event-Key": "repo:push"}) == "bitbucket-cloud"


def test_headers_from_no_known_provider_are_refused():
    with pytest.raises(UnsupportedProvider):
        detect_provider({"Content-Type": "application/json", "User-Agent": "curl/8.5.0"})
