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
#: Lists whose ``next`` links also carry a cursor (their page's last row; service/infra/pages.py).
KEYSET_LISTS = {"/api/extras/job-results/", "/api/extras/job-logs/"}


@pytest.mark.parametrize("path", LISTS)
def test_every_list_pages_with_absolute_next_and_previous_links(client, admin, rows, path):
    first = client.get(f"{path}?limit=2", headers=admin.headers).get_json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["previous"] is None
    assert first["next"].startswith("http://localhost" + path)
    query = parse_qs(urlparse(first["next"]).query)
    assert (query.pop("cursor", None) is not None) == (path in KEYSET_LISTS)
    assert query == {"limit": ["2"], "offset": ["2"]}

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


def walk(client, admin, url: str) -> tuple[list[str], list[dict]]:
    """Every row of a list, following ``next`` links; with the query of each link followed."""
    ids, queries = [], []
    while url:
        page = client.get(url, headers=admin.headers).get_json()
        ids += [item["id"] for item in page["results"]]
        url = page["next"]
        if url:
            queries.append(parse_qs(urlparse(url).query))
    return ids, queries


def offset_pages(client, admin, path: str, limit: int) -> list[str]:
    ids, offset = [], 0
    while True:
        page = client.get(f"{path}limit={limit}&offset={offset}", headers=admin.headers).get_json()
        ids += [item["id"] for item in page["results"]]
        if not page["next"]:
            return ids
        offset += limit


def test_following_next_cursors_gives_the_rows_of_the_offset_pages(client, admin, runtime):
    """Keyset pages (results newest first, logs oldest first) are the offset pages, ties in
    ``created`` included, filters kept; a later row added on top shifts nothing already listed."""
    from datetime import timedelta

    from service.models import JobLogEntry, Status, utcnow
    from tests.helpers.factories import make_job, make_result

    moment = utcnow() - timedelta(hours=1)
    with runtime.db.session() as session:
        job = make_job(session, "Hello")
        runs = [make_result(session, job, status=Status.FAILURE if index % 3 else Status.SUCCESS,
                            created=moment + timedelta(seconds=index // 4)) for index in range(11)]
        session.add_all([JobLogEntry(job_result_id=runs[0].id, message=f"line {index}",
                                     created=moment + timedelta(milliseconds=index // 3))
                         for index in range(10)])
    lists = ["/api/extras/job-results/?", "/api/extras/job-results/?status=FAILURE&",
             f"/api/extras/job-logs/?job_result={runs[0].id}&",
             f"/api/extras/job-results/{runs[0].id}/logs/?"]
    for path in lists:
        expected = offset_pages(client, admin, path, 3)
        walked, queries = walk(client, admin, f"{path}limit=3")
        assert walked == expected and len(set(walked)) == len(walked) > 3, path
        assert all("cursor" in query for query in queries)
        assert [query["offset"] for query in queries] == [[str(3 * n)] for n in range(1, len(queries) + 1)]
    first = client.get("/api/extras/job-results/?limit=3", headers=admin.headers).get_json()
    with runtime.db.session() as session:
        make_result(session, job, status=Status.SUCCESS)  # the newest now: offset 3 would repeat a row
    second = client.get(first["next"], headers=admin.headers).get_json()
    now_listed = offset_pages(client, admin, "/api/extras/job-results/?", 3)
    assert [item["id"] for item in second["results"]] == now_listed[4:7]


def test_a_bad_cursor_is_a_400_naming_it(client, admin):
    for path in KEYSET_LISTS:
        response = client.get(f"{path}?cursor=yesterday", headers=admin.headers)
        assert response.status_code == 400 and "cursor" in response.get_json(), path
