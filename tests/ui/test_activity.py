"""The webhook deliveries and object change events logs."""

from service.models import GitRepository, ObjectChangeEvent, WebhookDelivery


def test_deliveries_are_listed_newest_first_and_filter_by_outcome_and_repository(runtime, alice):
    with runtime.db.session() as session:
        repository = GitRepository(name="Team", slug="team", remote_url="https://git.example.com/t.git")
        session.add(repository)
        session.flush()
        session.add_all(
            [
                WebhookDelivery(
                    provider="github",
                    delivery_id="d1",
                    repository_id=repository.id,
                    event="push",
                    ref="refs/heads/main",
                    sha="a" * 40,
                    outcome="accepted",
                ),
                WebhookDelivery(provider="gitlab", outcome="rejected", reason="Signature <mismatch>"),
            ]
        )
    page = alice.get("/webhook-deliveries/").get_data(as_text=True)
    assert "github" in page and "refs/heads/main" in page and "Signature &lt;mismatch&gt;" in page
    assert "gitlab" not in alice.get("/webhook-deliveries/?outcome=accepted").get_data(as_text=True)
    assert "github" in alice.get("/webhook-deliveries/?repository=team").get_data(as_text=True)
    assert "gitlab" not in alice.get("/webhook-deliveries/?repository=team").get_data(as_text=True)


def test_change_events_show_which_hooks_ran_or_why_not(runtime, admin):
    result_id = "5b1c3f1e-8a7e-4a37-9a4e-0c6f3e1d2b11"
    with runtime.db.session() as session:
        session.add_all(
            [
                ObjectChangeEvent(
                    request_id="r1",
                    action="update",
                    object_type="dcim.device",
                    object_id="7",
                    object_repr="edge-1",
                    user="jo",
                    matched=[
                        {"hook": "h", "name": "Devices", "job_result": result_id},
                        {"hook": "h2", "name": "Off", "skipped": "Job x is disabled."},
                    ],
                ),
                ObjectChangeEvent(
                    request_id="r2",
                    action="delete",
                    object_type="dcim.site",
                    object_id="3",
                    reason="No enabled job hook matches delete of dcim.site.",
                ),
            ]
        )
    page = admin.get("/object-change-events/").get_data(as_text=True)
    assert f"/job-results/{result_id}/" in page and "skipped: Job x is disabled." in page
    assert "No enabled job hook matches" in page
    assert "dcim.site" not in admin.get("/object-change-events/?action=update").get_data(as_text=True)
    assert "edge-1" not in admin.get("/object-change-events/?object_type=dcim.site").get_data(as_text=True)


def test_change_events_need_view_all_results(alice):
    assert alice.get("/object-change-events/").status_code == 403
