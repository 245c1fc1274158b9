"""Scheduled jobs: the approval queue, approving as another user, denying, and refusals."""

from sqlalchemy import select

from service.models import JobResult, ScheduledJob, Status
from service.scheduling import request_run
from tests.helpers.factories import make_job
from tests.helpers.ui import post


def waiting_request(runtime, users, requester="alice"):
    """A run of a job needing approval, requested by ``requester``: a one-off awaiting approval."""
    from service.models import User

    with runtime.db.session() as session:
        job = make_job(session, "Gated", name="Gated job", approval_required=True, supports_dryrun=True)
        schedule = request_run(
            session,
            job,
            {},
            user=session.get(User, users[requester]),
            known_queues=runtime.settings.all_queues,
        )
        return schedule.id


def test_the_list_shows_requests_waiting_for_approval(runtime, users, login):
    schedule_id = waiting_request(runtime, users)
    bob = login("bob")
    page = bob.get("/scheduled-jobs/?approval=needs_approval").get_data(as_text=True)
    assert f"/scheduled-jobs/{schedule_id}/" in page and "Gated job" in page and "needs approval" in page
    assert "Gated job" not in bob.get("/scheduled-jobs/?approval=approved").get_data(as_text=True)


def test_another_approver_approves_and_the_run_starts(runtime, users, login):
    schedule_id = waiting_request(runtime, users)
    bob = login("bob")
    page = bob.get(f"/scheduled-jobs/{schedule_id}/").get_data(as_text=True)
    assert ">Approve</button>" in page and ">Deny</button>" in page
    response = post(bob, f"/scheduled-jobs/{schedule_id}/approve")
    assert response.status_code == 303
    with runtime.db.session() as session:
        run = session.scalars(select(JobResult)).one()
        assert run.scheduled_job_id == schedule_id and run.status == Status.PENDING
        assert session.get(ScheduledJob, schedule_id).approved_by.username == "bob"
    assert response.headers["Location"] == f"/job-results/{run.id}/"


def test_the_requester_cannot_approve_their_own_request(runtime, users, login):
    schedule_id = waiting_request(runtime, users, requester="bob")
    bob = login("bob")
    page = bob.get(f"/scheduled-jobs/{schedule_id}/").get_data(as_text=True)
    assert ">Approve</button>" not in page and "other than you" in page
    response = post(bob, f"/scheduled-jobs/{schedule_id}/approve", follow_redirects=True)
    assert "cannot approve or deny your own job request" in response.get_data(as_text=True)
    with runtime.db.session() as session:
        assert session.get(ScheduledJob, schedule_id).approval_state == "needs_approval"


def test_approving_needs_the_approve_job_permission(runtime, users, alice):
    schedule_id = waiting_request(runtime, users, requester="bob")
    assert post(alice, f"/scheduled-jobs/{schedule_id}/approve").status_code == 403


def test_denying_disables_the_request(runtime, users, login):
    schedule_id = waiting_request(runtime, users)
    bob = login("bob")
    assert post(bob, f"/scheduled-jobs/{schedule_id}/deny").status_code == 303
    with runtime.db.session() as session:
        schedule = session.get(ScheduledJob, schedule_id)
        assert schedule.approval_state == "denied" and not schedule.enabled
        assert session.scalars(select(JobResult)).all() == []


def test_a_dry_run_of_a_waiting_request_needs_no_approval(runtime, users, alice):
    schedule_id = waiting_request(runtime, users)
    response = post(alice, f"/scheduled-jobs/{schedule_id}/dry-run")
    assert response.status_code == 303
    with runtime.db.session() as session:
        assert session.scalars(select(JobResult)).one().dryrun


def test_an_admin_deletes_a_schedule(runtime, users, admin):
    schedule_id = waiting_request(runtime, users)
    assert post(admin, f"/scheduled-jobs/{schedule_id}/delete").status_code == 303
    with runtime.db.session() as session:
        assert session.get(ScheduledJob, schedule_id) is None
