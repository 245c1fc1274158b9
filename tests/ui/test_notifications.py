"""The notification rules page: admins add, see and delete rules and recent deliveries; others may not."""

from sqlalchemy import select

from service.models import NotificationRule
from tests.helpers.ui import post

SLACK = "https://hooks.slack.com/services/T0/B0/ui-secret-token"


def test_an_admin_adds_a_rule_sees_it_without_the_chat_url_and_deletes_it(admin, runtime):
    bad = post(admin, "/notifications/add", {"name": "ops", "channel": "slack", "target": "nope",
                                             "failures": "3", "idle_minutes": "10"})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Choose one or more of" in page and "Give an http(s) URL" in page
    good = post(admin, "/notifications/add", {"name": "ops", "events": ["run_failed", "sync_failed"],
                                              "channel": "slack", "target": SLACK, "failures": "3",
                                              "idle_minutes": "10", "enabled": "on"})
    assert good.status_code == 303
    listing = admin.get("/notifications/").get_data(as_text=True)
    assert "ops" in listing and "run_failed, sync_failed" in listing and "ui-secret-token" not in listing
    with runtime.db.session() as session:
        rule_id = session.scalar(select(NotificationRule.id))
    assert post(admin, f"/notifications/{rule_id}/delete").status_code == 303
    with runtime.db.session() as session:
        assert session.scalar(select(NotificationRule.id)) is None


def test_only_admins_see_the_notifications_page(alice):
    assert alice.get("/notifications/").status_code == 403
    assert alice.get("/notifications/add").status_code == 403
