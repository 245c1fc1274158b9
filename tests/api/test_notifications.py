"""/api/extras/notification-rules/ and notification-deliveries/: admin only, validated, no secrets shown."""

from service.models import NotificationDelivery, NotificationRule

RULES = "/api/extras/notification-rules/"
SLACK = "https://hooks.slack.com/services/T000/B000/very-secret-token"


def test_an_admin_creates_lists_changes_and_deletes_a_rule(client, admin):
    body = {"name": "ops", "events": ["run_failed", "sync_failed"], "channel": "webhook",
            "target": "https://ops.example.com/hook", "secret": "env:OPS_HOOK_SECRET", "grouping": "network"}
    created = client.post(RULES, json=body, headers=admin.headers)
    assert created.status_code == 201, created.json
    assert created.json["events"] == ["run_failed", "sync_failed"]
    assert created.json["secret"] == "env:OPS_HOOK_SECRET"
    url = f"{RULES}{created.json['id']}/"
    assert [rule["name"] for rule in client.get(RULES, headers=admin.headers).json["results"]] == ["ops"]
    changed = client.patch(url, json={"enabled": False}, headers=admin.headers)
    assert changed.status_code == 200 and changed.json["enabled"] is False
    assert client.delete(url, headers=admin.headers).status_code == 204
    assert client.get(url, headers=admin.headers).status_code == 404


def test_bad_rules_are_refused_naming_the_field(client, admin):
    base = {"name": "bad", "events": ["run_failed"], "channel": "webhook", "target": "https://x.example/"}
    for change, field in ((({"events": ["nope"]}), "events"), ({"channel": "pager"}, "channel"),
                          ({"target": "ftp://x"}, "target"), ({"secret": "plain-secret"}, "secret"),
                          ({"channel": "email", "target": "not an address"}, "target")):
        response = client.post(RULES, json={**base, **change}, headers=admin.headers)
        assert response.status_code in (400, 422), response.json
        assert field in str(response.json["error"]["fields"]), (change, response.json)


def test_a_chat_webhook_url_is_never_shown(client, admin):
    created = client.post(RULES, json={"name": "chat", "events": ["run_failed"], "channel": "slack",
                                       "target": SLACK}, headers=admin.headers)
    assert created.status_code == 201
    assert created.json["target"] == "https://hooks.slack.com/…"
    assert "very-secret-token" not in client.get(RULES, headers=admin.headers).get_data(as_text=True)


def test_rules_and_deliveries_need_admin(client, reader):
    assert client.get(RULES, headers=reader.headers).status_code == 403
    assert client.get("/api/extras/notification-deliveries/", headers=reader.headers).status_code == 403


def test_deliveries_list_status_attempts_and_last_error(client, admin, runtime):
    with runtime.db.session() as session:
        rule = NotificationRule(name="r", events=["run_failed"], channel="webhook", target="https://x.example/")
        session.add(rule)
        session.flush()
        session.add(NotificationDelivery(rule_id=rule.id, event="run_failed", status="failed", attempts=3,
                                         last_error="HTTP 500 from the webhook", message={"title": "t"}))
    [delivery] = client.get("/api/extras/notification-deliveries/?status=failed",
                            headers=admin.headers).json["results"]
    assert (delivery["rule"]["name"], delivery["attempts"], delivery["last_error"]) == (
        "r", 3, "HTTP 500 from the webhook")
