"""``/api/users/tokens/``, ``/api/users/users/`` and the read-only event records."""

import uuid
from datetime import timedelta

from sqlalchemy import select

from service.models import Token, User, utcnow
from service.users import create_token
from tests.helpers.api import add_change, add_delivery


def test_a_created_tokens_key_is_answered_once_and_then_works(client, reader):
    created = client.post(
        "/api/users/tokens/", json={"description": "ci", "write_enabled": False}, headers=reader.headers
    )
    assert created.status_code == 201
    token = created.get_json()
    assert len(token["key"]) == 40 and token["write_enabled"] is False
    assert token["user"]["display"] == reader.username and token["key"][-6:] in token["display"]
    listed = client.get("/api/users/tokens/", headers=reader.headers).get_json()
    assert listed["count"] == 2 and all("key" not in item for item in listed["results"])
    assert token["key"] not in str(listed)
    assert client.get("/api/", headers={"Authorization": f"Token {token['key']}"}).status_code == 200


def test_a_deleted_token_stops_working(client, make_caller, reader):
    created = client.post("/api/users/tokens/", json={}, headers=reader.headers).get_json()
    assert client.delete(created["url"], headers=reader.headers).status_code == 204
    assert client.get("/api/", headers={"Authorization": f"Token {created['key']}"}).status_code == 401


def test_a_token_may_be_changed_by_its_owner(client, reader):
    created = client.post("/api/users/tokens/", json={}, headers=reader.headers).get_json()
    changed = client.patch(created["url"], json={"description": "renamed"}, headers=reader.headers)
    assert changed.status_code == 200 and changed.get_json()["description"] == "renamed"


def test_an_expiry_in_the_past_is_a_400_naming_expires(client, reader):
    past = (utcnow() - timedelta(days=1)).isoformat()
    response = client.post("/api/users/tokens/", json={"expires": past}, headers=reader.headers)
    assert response.status_code == 400 and "expires" in response.get_json()


def test_a_token_cannot_remove_or_extend_its_own_expiry(client, runtime, make_caller):
    expires = utcnow() + timedelta(hours=1)
    caller = make_caller(expires=expires)
    with runtime.db.session() as session:
        own = session.scalar(select(Token).where(Token.user_id == caller.user_id))
        url = f"/api/users/tokens/{own.id}/"
    for later in (None, (expires + timedelta(days=365)).isoformat()):
        response = client.patch(url, json={"expires": later}, headers=caller.headers)
        assert response.status_code == 400 and "expires" in response.get_json()
    sooner = (expires - timedelta(minutes=30)).isoformat()
    assert client.patch(url, json={"expires": sooner}, headers=caller.headers).status_code == 200


def test_an_expiring_token_cannot_mint_a_token_that_outlives_it(client, make_caller):
    caller = make_caller(expires=utcnow() + timedelta(hours=1))
    response = client.post("/api/users/tokens/", json={}, headers=caller.headers)
    assert response.status_code == 400 and "expires" in response.get_json()


def test_other_users_tokens_need_admin(client, runtime, make_caller, reader, admin):
    stranger = make_caller()
    created = client.post("/api/users/tokens/", json={}, headers=stranger.headers).get_json()
    for method in ("GET", "PATCH", "DELETE"):
        assert client.open(created["url"], method=method, json={}, headers=reader.headers).status_code == 403
    assert (
        client.get(f"/api/users/tokens/?user={stranger.username}", headers=reader.headers).status_code == 403
    )
    for_stranger = client.post("/api/users/tokens/", json={"user": stranger.username}, headers=reader.headers)
    assert for_stranger.status_code == 403
    assert client.get(created["url"], headers=admin.headers).status_code == 200
    listed = client.get(f"/api/users/tokens/?user={stranger.username}", headers=admin.headers).get_json()
    assert listed["count"] == 2
    made = client.post("/api/users/tokens/", json={"user": str(stranger.user_id)}, headers=admin.headers)
    assert made.status_code == 201 and made.get_json()["user"]["id"] == str(stranger.user_id)


def test_a_token_for_an_unknown_user_is_a_400_naming_user(client, admin):
    response = client.post("/api/users/tokens/", json={"user": "nobody"}, headers=admin.headers)
    assert response.status_code == 400 and "user" in response.get_json()


def test_users_are_listed_to_admins_without_secrets(client, runtime, admin):
    with runtime.db.session() as session:
        create_token(session, session.get(User, admin.user_id))
    page = client.get(f"/api/users/users/?username={admin.username}", headers=admin.headers).get_json()
    [user] = page["results"]
    assert user["permissions"] == ["admin"] and "password_hash" not in user and "tokens" not in user


def test_webhook_deliveries_are_listed_newest_first_and_filtered(client, runtime, reader):
    with runtime.db.session() as session:
        add_delivery(session, outcome="rejected", reason="bad signature")
        add_delivery(session, provider="gitlab")
    page = client.get("/api/extras/webhook-deliveries/", headers=reader.headers).get_json()
    assert [item["provider"] for item in page["results"]] == ["gitlab", "github"]
    rejected = client.get(
        "/api/extras/webhook-deliveries/?outcome=rejected", headers=reader.headers
    ).get_json()
    assert [item["reason"] for item in rejected["results"]] == ["bad signature"]
    detail = client.get(rejected["results"][0]["url"], headers=reader.headers).get_json()
    assert detail["object_type"] == "extras.webhookdelivery" and detail["repository"] is None
    bad = client.get("/api/extras/webhook-deliveries/?outcome=lost", headers=reader.headers)
    assert bad.status_code == 400 and "outcome" in bad.get_json()


def test_object_change_events_are_listed_and_filtered(client, runtime, make_caller):
    reader = make_caller("view_all_results")
    with runtime.db.session() as session:
        add_change(session, action="delete", object_type="ipam.prefix")
        kept = add_change(session, action="update").id
    page = client.get("/api/extras/object-change-events/?action=update", headers=reader.headers).get_json()
    assert [item["id"] for item in page["results"]] == [str(kept)]
    assert page["results"][0]["action"] == {"value": "update", "label": "update"}
    page = client.get(
        "/api/extras/object-change-events/?changed_object_type=ipam.prefix", headers=reader.headers
    ).get_json()
    assert page["count"] == 1
    missing = client.get(f"/api/extras/object-change-events/{uuid.uuid4()}/", headers=reader.headers)
    assert missing.status_code == 404
