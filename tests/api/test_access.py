"""Authentication and permissions, for every endpoint in the OpenAPI document."""

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from service.models import Token, utcnow

ANY_ID = "00000000-0000-4000-8000-000000000000"

#: Every operation, and the permission its policy asks for (None: any authenticated caller).
OPERATIONS = {
    ("get", "/api/"): None,
    ("get", "/api/extras/"): None,
    ("get", "/api/users/"): None,
    ("get", "/api/status/"): None,
    ("get", "/api/extras/jobs/"): None,
    ("get", "/api/extras/jobs/{ref}/"): None,
    ("patch", "/api/extras/jobs/{ref}/"): "change_job",
    ("get", "/api/extras/jobs/{ref}/variables/"): None,
    ("post", "/api/extras/jobs/{ref}/run/"): "run_job",
    ("get", "/api/extras/job-results/"): None,
    ("get", "/api/extras/job-results/{result_id}/"): None,
    ("get", "/api/extras/job-results/{result_id}/logs/"): None,
    ("post", "/api/extras/job-results/{result_id}/cancel/"): "run_job",
    ("get", "/api/extras/job-results/{result_id}/files/{name}/"): None,
    ("get", "/api/extras/job-logs/"): None,
    ("get", "/api/extras/job-logs/{entry_id}/"): None,
    ("get", "/api/extras/job-hooks/"): None,
    ("post", "/api/extras/job-hooks/"): "change_job",
    ("get", "/api/extras/job-hooks/{hook_id}/"): None,
    ("patch", "/api/extras/job-hooks/{hook_id}/"): "change_job",
    ("delete", "/api/extras/job-hooks/{hook_id}/"): "change_job",
    ("get", "/api/extras/job-buttons/"): None,
    ("post", "/api/extras/job-buttons/"): "change_job",
    ("get", "/api/extras/job-buttons/{button_id}/"): None,
    ("patch", "/api/extras/job-buttons/{button_id}/"): "change_job",
    ("delete", "/api/extras/job-buttons/{button_id}/"): "change_job",
    ("post", "/api/extras/job-buttons/{button_id}/run/"): "run_job",
    ("get", "/api/users/tokens/"): None,
    ("post", "/api/users/tokens/"): None,
    ("get", "/api/users/tokens/{token_id}/"): None,
    ("patch", "/api/users/tokens/{token_id}/"): None,
    ("delete", "/api/users/tokens/{token_id}/"): None,
    ("get", "/api/users/users/"): "admin",
    ("get", "/api/users/users/{user_id}/"): "admin",
    ("get", "/api/extras/notification-rules/"): "admin",
    ("post", "/api/extras/notification-rules/"): "admin",
    ("get", "/api/extras/notification-rules/{rule_id}/"): "admin",
    ("patch", "/api/extras/notification-rules/{rule_id}/"): "admin",
    ("delete", "/api/extras/notification-rules/{rule_id}/"): "admin",
    ("get", "/api/extras/notification-deliveries/"): "admin",
    ("get", "/api/extras/notification-deliveries/{delivery_id}/"): "admin",
    ("get", "/api/extras/webhook-deliveries/"): None,
    ("get", "/api/extras/webhook-deliveries/{delivery_id}/"): None,
    ("get", "/api/extras/object-change-events/"): None,
    ("get", "/api/extras/object-change-events/{event_id}/"): None,
    ("get", "/api/extras/git-repositories/"): None,
    ("post", "/api/extras/git-repositories/"): "sync_repository",
    ("get", "/api/extras/git-repositories/{repository_id}/"): None,
    ("patch", "/api/extras/git-repositories/{repository_id}/"): "sync_repository",
    ("delete", "/api/extras/git-repositories/{repository_id}/"): "sync_repository",
    ("post", "/api/extras/git-repositories/{repository_id}/sync/"): "sync_repository",
    ("post", "/api/extras/git-repositories/sync-all/"): "sync_repository",
    ("get", "/api/extras/scheduled-jobs/"): None,
    ("get", "/api/extras/scheduled-jobs/{schedule_id}/"): None,
    ("delete", "/api/extras/scheduled-jobs/{schedule_id}/"): "run_job",
    ("post", "/api/extras/scheduled-jobs/{schedule_id}/dry-run/"): "run_job",
    ("post", "/api/extras/scheduled-jobs/{schedule_id}/approve/"): "approve_job",
    ("post", "/api/extras/scheduled-jobs/{schedule_id}/deny/"): "approve_job",
}
GUARDED = sorted(key for key, permission in OPERATIONS.items() if permission)


def concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda match: "report.txt" if match.group(1) == "name" else ANY_ID, path)


def test_the_table_above_names_every_operation_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").get_json()
    documented = {
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS))
def test_every_endpoint_answers_401_without_credentials(client, method, path):
    response = client.open(concrete(path), method=method.upper(), json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert response.get_json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_every_guarded_endpoint_answers_403_to_a_caller_without_its_permission(client, reader, method, path):
    response = client.open(concrete(path), method=method.upper(), json={}, headers=reader.headers)
    assert response.status_code == 403
    assert OPERATIONS[(method, path)] in response.get_json()["error"]["message"]


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_the_admin_permission_opens_every_guarded_endpoint(client, admin, method, path):
    response = client.open(concrete(path), method=method.upper(), json={}, headers=admin.headers)
    assert response.status_code not in (401, 403)


@pytest.mark.parametrize("header", ["Token", "Token nope", "Bearer abc", "Token a b", "token abc"])
def test_a_wrong_or_malformed_token_is_refused_with_401(client, header):
    response = client.get("/api/extras/jobs/", headers={"Authorization": header})
    assert response.status_code == 401


def test_an_expired_token_is_refused_with_401(client, make_caller):
    caller = make_caller(expires=utcnow() - timedelta(seconds=1))
    response = client.get("/api/extras/jobs/", headers=caller.headers)
    assert response.status_code == 401 and "expired" in response.get_json()["detail"]


def test_a_write_disabled_token_may_read_but_never_write(client, make_caller):
    caller = make_caller("admin", write_enabled=False)
    assert client.get("/api/extras/jobs/", headers=caller.headers).status_code == 200
    response = client.post("/api/users/tokens/", json={}, headers=caller.headers)
    assert response.status_code == 403 and "write" in response.get_json()["detail"]


def test_a_logged_in_session_user_is_accepted_without_a_token(client, make_caller):
    caller = make_caller()
    with client.session_transaction() as session:
        session["user_id"], session["session_version"] = str(caller.user_id), 0
    assert client.get("/api/extras/jobs/").status_code == 200


def test_a_session_user_writes_only_with_the_sessions_csrf_token(client, make_caller):
    caller = make_caller()
    with client.session_transaction() as session:
        session["user_id"], session["csrf_token"] = str(caller.user_id), "secret-token"
        session["session_version"] = 0
    forged = client.post("/api/users/tokens/", json={})
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "csrf_refused"
    wrong = client.post("/api/users/tokens/", json={}, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 400
    assert (
        client.post("/api/users/tokens/", json={}, headers={"X-CSRF-Token": "secret-token"}).status_code
        == 201
    )


def test_a_session_naming_no_known_user_is_refused(client):
    with client.session_transaction() as session:
        session["user_id"] = str(uuid.uuid4())
    assert client.get("/api/extras/jobs/").status_code == 401


def test_using_a_token_records_when_it_was_last_used(client, runtime, reader):
    client.get("/api/", headers=reader.headers)
    with runtime.db.session() as session:
        token = session.scalar(select(Token).where(Token.user_id == reader.user_id))
        assert token.last_used is not None


def last_used(runtime, caller):
    with runtime.db.session() as session:
        return session.scalar(select(Token.last_used).where(Token.user_id == caller.user_id))


def test_a_token_used_again_within_a_minute_keeps_its_last_used_unwritten(client, runtime, reader):
    client.get("/api/", headers=reader.headers)
    first = last_used(runtime, reader)
    client.get("/api/", headers=reader.headers)
    assert last_used(runtime, reader) == first


def test_a_token_used_a_minute_after_its_last_use_records_the_new_one(client, runtime, reader):
    client.get("/api/", headers=reader.headers)
    long_ago = last_used(runtime, reader) - timedelta(minutes=2)
    with runtime.db.session() as session:
        session.execute(update(Token).where(Token.user_id == reader.user_id).values(last_used=long_ago))
    client.get("/api/", headers=reader.headers)
    assert last_used(runtime, reader) > long_ago + timedelta(minutes=1)


def test_responses_announce_the_nautobot_api_version(client, reader):
    assert client.get("/api/", headers=reader.headers).headers["API-Version"] == "2.4"


def test_the_openapi_document_and_docs_page_need_no_token(client):
    assert client.get("/api/openapi.json").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_null_characters_anywhere_in_a_request_are_a_400_naming_where(client, reader, hello):
    # PostgreSQL cannot store them: refused up front, whatever the endpoint.
    for response, field in (
        (client.get("/api/extras/jobs/?name=a%00b", headers=reader.headers), "name"),
        (client.get("/api/extras/jobs/a%00b/", headers=reader.headers), "path"),
        (
            client.post("/api/users/tokens/", json={"description": "a\x00"}, headers=reader.headers),
            "description",
        ),
    ):
        assert response.status_code == 400 and field in response.get_json()
