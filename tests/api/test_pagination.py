"""Every list pages like Nautobot's: ``{count, next, previous, results}`` with limit and offset."""

from urllib.parse import parse_qs, urlparse

import pytest

from service.api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_limit

LISTS = [
    "/api/extras/jobs/",
    "/api/extras/job-results/",
    "/api/extras/job-logs/",
    "/api/extras/job-hooks/",
    "/api/extras/job-buttons/",
    "/api/users/tokens/",
    "/api/users/users/",
    "/api/extras/webhook-deliveries/",
    "/api/extras/object-change-events/",
    "/api/extras/git-repositories/",
    "/api/extras/scheduled-jobs/",
]


@pytest.mark.parametrize("path", LISTS)
def test_every_list_pages_with_absolute_next_and_previous_links(client, admin, rows, path):
    first = client.get(f"{path}?limit=2", headers=admin.headers).get_json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["previous"] is None
    assert first["next"].startswith("http://localhost" + path)
    assert parse_qs(urlparse(first["next"]).query) == {"limit": ["2"], "offset": ["2"]}

    second = client.get(first["next"], headers=admin.headers).get_json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert parse_qs(urlparse(second["previous"]).query) == {"limit": ["2"]}
    ids = {item["id"] for item in first["results"] + second["results"]}
    assert len(ids) == 3


@pytest.mark.parametrize("path", LISTS)
def test_every_list_names_a_bad_limit_or_offset_in_a_400(client, admin, path):
    for query, field in (("limit=many", "limit"), ("offset=-1", "offset"), ("limit=-5", "limit")):
        response = client.get(f"{path}?{query}", headers=admin.headers)
        assert response.status_code == 400
        assert field in response.get_json(), query


def test_links_keep_the_filters_of_the_request(client, admin, rows):
    page = client.get("/api/extras/jobs/?limit=1&enabled=true", headers=admin.headers).get_json()
    assert parse_qs(urlparse(page["next"]).query) == {"enabled": ["true"], "limit": ["1"], "offset": ["1"]}


def test_an_offset_past_the_end_answers_an_empty_page(client, admin, rows):
    page = client.get("/api/extras/jobs/?offset=10", headers=admin.headers).get_json()
    assert page["count"] == 3 and page["results"] == [] and page["next"] is None
    assert parse_qs(urlparse(page["previous"]).query) == {"limit": ["50"]}


@pytest.mark.parametrize(
    ("requested", "size"),
    [(None, DEFAULT_PAGE_SIZE), (0, MAX_PAGE_SIZE), (MAX_PAGE_SIZE + 1, MAX_PAGE_SIZE), (7, 7)],
)
def test_the_page_size_defaults_to_50_and_never_exceeds_1000(requested, size):
    assert page_limit(requested) == size


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/extras/jobs/", "enabled=maybe", "enabled"),
        ("/api/extras/job-results/", "status=DONE", "status"),
        ("/api/extras/job-results/", "job_model_id=42", "job_model_id"),
        ("/api/extras/job-logs/", "job_result=nope", "job_result"),
        ("/api/extras/job-hooks/", "enabled=sometimes", "enabled"),
        ("/api/extras/job-buttons/", "enabled=sometimes", "enabled"),
        ("/api/users/users/", "is_active=perhaps", "is_active"),
        ("/api/extras/webhook-deliveries/", "outcome=lost", "outcome"),
        ("/api/extras/object-change-events/", "action=explode", "action"),
        ("/api/extras/scheduled-jobs/", "approval_state=maybe", "approval_state"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_filter(client, admin, path, query, field):
    response = client.get(f"{path}?{query}", headers=admin.headers)
    assert response.status_code == 400 and field in response.get_json()


def test_a_50000_character_search_is_a_400_naming_q(client, make_caller):
    caller = make_caller()
    for url in ("/api/extras/job-logs/", "/api/extras/jobs/", "/api/extras/git-repositories/"):
        response = client.get(url, query_string={"q": "x" * 50_000}, headers=caller.headers)
        assert response.status_code == 400 and "q" in response.get_json()["error"]["fields"], url
