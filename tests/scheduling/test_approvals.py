"""Approvals: jobs needing approval wait; another approver approves or denies; dry runs need none."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.errors import Conflict, PermissionDenied, ValidationError
from service.models import JobResult, ScheduledJob
from service.runs.approval import ApprovalRequired
from service.runs.requests import enqueue_job
from service.scheduling import approve, create_schedule, deny, dry_run, fire_due_schedules, request_run
from service.scheduling.loop import Scheduler
from tests.helpers.factories import make_job, make_user

QUEUES = ("high", "default", "low")


@pytest.fixture
def people(runtime):
    with runtime.db.session() as session:
        return {
            "requester": make_user(session, "requester", permissions=["run_job", "approve_job"]),
            "approver": make_user(session, "approver", permissions=["approve_job"]),
            "bystander": make_user(session, "bystander", permissions=["run_job"]),
            "root": make_user(session, "root", is_superuser=True),
        }


def request(runtime, clock, requester, supports_dryrun=True, **fields):
    """Ask to run an approval-required job now; return the ScheduledJob that waits for approval."""
    with runtime.db.session() as session:
        job = make_job(session, approval_required=True, supports_dryrun=supports_dryrun)
        return request_run(session, job, user=requester, known_queues=QUEUES, now=clock.now, **fields)


def decide(runtime, decision, schedule_id, user_id, settings=None, now=None):
    extra = {"known_queues": QUEUES} if decision is approve else {}
    with runtime.db.session() as session:
        schedule = session.get(ScheduledJob, schedule_id)
        return decision(
            session,
            schedule,
            session.get(type(schedule.user), user_id),
            settings=settings or runtime.settings,
            now=now,
            **extra,
        )


def results_of(runtime, schedule_id):
    with runtime.db.session() as session:
        return list(session.scalars(select(JobResult).where(JobResult.scheduled_job_id == schedule_id)))


def test_running_a_job_that_needs_approval_waits_without_a_run(runtime, clock, people):
    waiting = request(runtime, clock, people["requester"])
    assert isinstance(waiting, ScheduledJob) and waiting.approval_state == "needs_approval"
    assert waiting.interval_type == "future" and waiting.start_time == clock.now
    Scheduler(runtime, clock=clock).tick()
    assert results_of(runtime, waiting.id) == []


def test_the_requester_cannot_approve_their_own_request(runtime, clock, people):
    waiting = request(runtime, clock, people["requester"])
    with pytest.raises(PermissionDenied):
        decide(runtime, approve, waiting.id, people["requester"].id)
    with runtime.db.session() as session:
        assert session.get(ScheduledJob, waiting.id).approval_state == "needs_approval"


def test_a_user_without_approve_job_cannot_approve(runtime, clock, people):
    waiting = request(runtime, clock, people["requester"])
    with pytest.raises(PermissionDenied):
        decide(runtime, approve, waiting.id, people["bystander"].id)


def test_another_approver_approves_and_an_overdue_one_off_runs_at_once(runtime, clock, people):
    waiting = request(runtime, clock, people["requester"])
    clock.advance(hours=3)  # nobody looked at it for three hours
    approved = decide(runtime, approve, waiting.id, people["approver"].id, now=clock.now)
    assert approved.approval_state == "approved" and approved.approved_by_id == people["approver"].id
    (result,) = results_of(runtime, waiting.id)
    assert result.user_id == people["requester"].id
    Scheduler(runtime, clock=clock).tick()
    assert len(results_of(runtime, waiting.id)) == 1


def test_an_approved_future_one_off_runs_at_its_time(runtime, clock, people):
    with runtime.db.session() as session:
        job = make_job(session, approval_required=True)
        waiting = create_schedule(
            session,
            job,
            name="later",
            interval_type="future",
            start_time=clock.now + timedelta(hours=1),
            user=people["requester"],
            known_queues=QUEUES,
            now=clock.now,
        )
    decide(runtime, approve, waiting.id, people["approver"].id, now=clock.now)
    assert results_of(runtime, waiting.id) == []
    clock.advance(hours=1)
    Scheduler(runtime, clock=clock).tick()
    assert len(results_of(runtime, waiting.id)) == 1


def test_superuser_self_approval_needs_the_setting(runtime, clock, people):
    waiting = request(runtime, clock, people["root"])
    with pytest.raises(PermissionDenied):
        decide(runtime, approve, waiting.id, people["root"].id)
    allowing = runtime.settings.replace(allow_superuser_self_approval=True)
    assert (
        decide(runtime, approve, waiting.id, people["root"].id, settings=allowing).approval_state
        == "approved"
    )


def test_a_denied_request_never_runs_and_cannot_then_be_approved(runtime, clock, people):
    waiting = request(runtime, clock, people["requester"])
    denied = decide(runtime, deny, waiting.id, people["approver"].id)
    assert denied.approval_state == "denied" and not denied.enabled and "approver" in denied.disabled_reason
    with pytest.raises(Conflict):
        decide(runtime, approve, waiting.id, people["approver"].id)
    Scheduler(runtime, clock=clock).tick()
    assert results_of(runtime, waiting.id) == []


def test_the_requester_cannot_deny_their_own_request_either(runtime, clock, people):
    waiting = request(runtime, clock, people["requester"])
    with pytest.raises(PermissionDenied):
        decide(runtime, deny, waiting.id, people["requester"].id)


def test_a_dry_run_needs_no_approval(runtime, clock, people):
    result = request(runtime, clock, people["requester"], dryrun=True)
    assert isinstance(result, JobResult) and result.dryrun
    with runtime.db.session() as session:
        job = make_job(session, approval_required=True, supports_dryrun=True)
        schedule = create_schedule(
            session,
            job,
            name="dry",
            interval_type="hourly",
            start_time=clock.now,
            dryrun=True,
            known_queues=QUEUES,
            now=clock.now,
        )
    assert schedule.approval_state == "not_required"


def test_an_approver_can_dry_run_a_waiting_request(runtime, clock, people):
    waiting = request(runtime, clock, people["requester"])
    with runtime.db.session() as session:
        result = dry_run(
            session, session.get(ScheduledJob, waiting.id), people["approver"], known_queues=QUEUES
        )
        assert result.dryrun and result.user_id == people["approver"].id
    with runtime.db.session() as session:
        assert session.get(ScheduledJob, waiting.id).approval_state == "needs_approval"


def test_a_job_needing_approval_with_sensitive_variables_cannot_wait_for_it(runtime, clock, people):
    with runtime.db.session() as session:
        job = make_job(session, approval_required=True, has_sensitive_variables=True)
        with pytest.raises(ValidationError) as caught:
            request_run(session, job, user=people["requester"], known_queues=QUEUES, now=clock.now)
    assert "sensitive" in caught.value.fields["job"][0]


def test_a_schedule_whose_job_comes_to_need_approval_waits_for_it(runtime, clock, people):
    with runtime.db.session() as session:
        job = make_job(session)
        schedule = create_schedule(
            session,
            job,
            name="hourly",
            interval_type="hourly",
            start_time=clock.now,
            user=people["requester"],
            known_queues=QUEUES,
            now=clock.now,
        )
        assert schedule.approval_state == "not_required"
        job.approval_required = True
    Scheduler(runtime, clock=clock).tick()
    with runtime.db.session() as session:
        assert session.get(ScheduledJob, schedule.id).approval_state == "needs_approval"
    assert results_of(runtime, schedule.id) == []


def test_a_dry_run_of_a_job_that_cannot_run_dry_still_waits_for_approval(runtime, clock, people):
    waiting = request(runtime, clock, people["requester"], supports_dryrun=False, dryrun=True)
    assert isinstance(waiting, ScheduledJob) and waiting.approval_state == "needs_approval"
    assert results_of(runtime, waiting.id) == []


def test_enqueueing_a_job_needing_approval_directly_is_refused(runtime, people):
    # The path the CLI's runjob, a job button and code calling enqueue_job take.
    with runtime.db.session() as session:
        job = make_job(session, approval_required=True, supports_dryrun=True)
        with pytest.raises(ApprovalRequired) as caught:
            enqueue_job(session, job, user=people["requester"], known_queues=QUEUES)
        assert list(caught.value.fields) == ["approval_required"]
        assert enqueue_job(session, job, user=people["requester"], known_queues=QUEUES, dryrun=True).dryrun


def test_only_an_approver_or_the_requester_can_dry_run_a_waiting_request(runtime, clock, people):
    waiting = request(runtime, clock, people["requester"])
    with runtime.db.session() as session:
        with pytest.raises(PermissionDenied, match="approve_job"):
            dry_run(session, session.get(ScheduledJob, waiting.id), people["bystander"], known_queues=QUEUES)
    with runtime.db.session() as session:
        schedule = session.get(ScheduledJob, waiting.id)
        mine = dry_run(session, schedule, people["requester"], known_queues=QUEUES)
        assert mine.dryrun


def test_a_waiting_request_of_a_job_that_cannot_run_dry_cannot_be_dry_run(runtime, clock, people):
    waiting = request(runtime, clock, people["requester"], supports_dryrun=False)
    with runtime.db.session() as session:
        with pytest.raises(ValidationError) as caught:
            dry_run(session, session.get(ScheduledJob, waiting.id), people["approver"], known_queues=QUEUES)
    assert list(caught.value.fields) == ["dryrun"]


def test_a_due_schedule_whose_job_now_needs_approval_is_held_not_run(runtime, clock, people):
    with runtime.db.session() as session:
        job = make_job(session)
        schedule = create_schedule(
            session, job, name="later gated", interval_type="hourly", start_time=clock.now,
            known_queues=QUEUES, now=clock.now,
        )
        job.approval_required = True
    fire_due_schedules(runtime, clock.now + timedelta(minutes=1))
    assert results_of(runtime, schedule.id) == []
    with runtime.db.session() as session:
        held = session.get(ScheduledJob, schedule.id)
        assert held.approval_state == "needs_approval" and held.enabled
