"""Retries: a run that fails by a retried exception gets its next attempt as its own PENDING run,
written with the failure, due after the backoff, linked to the first attempt; the job's own
verdict, a cancel and sensitive input are never retried."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.models import JobLogEntry, JobResult, Status, utcnow
from service.runs.requests import enqueue_job
from service.runs.retries import attempt_chain, schedule_retry
from service.scheduling.firing import fire_due_schedules
from service.scheduling.recovery import send_waiting_runs
from service.worker.engine import run_job_result
from tests.helpers.factories import make_job, make_result
from tests.helpers.scheduling import FakeClock, new_schedule, sent_ids

QUEUES = ("high", "default", "low")
FLAKY = {"retries": 2, "retry_backoff": {"base": 5, "factor": 3, "max": 600, "jitter": 0.1}}


def first_run(runtime, class_name="Flaky", **job_fields):
    with runtime.db.session() as session:
        job = make_job(session, class_name, **{**FLAKY, **job_fields})
        return make_result(session, job, input_data={}, commit="c" * 40).id


def run_and_reload(runtime, result_id) -> JobResult:
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        return session.get(JobResult, result_id)


def when_due(runtime, result_id):
    """Let the backoff pass: the claim takes a run only once it is due."""
    with runtime.db.session() as session:
        session.get(JobResult, result_id).scheduled_at = utcnow()
    return result_id


def next_attempt(runtime, failed_id) -> JobResult | None:
    with runtime.db.session() as session:
        failed = session.get(JobResult, failed_id)
        first = failed.retry_of or failed.id
        return session.scalar(select(JobResult).where(
            JobResult.retry_of == first, JobResult.attempt == failed.attempt + 1))


def test_each_attempt_is_its_own_run_due_after_the_growing_backoff_until_retries_run_out(runtime):
    first_id = first_run(runtime)
    failed = run_and_reload(runtime, first_id)
    waits = []
    for expected_attempt in (2, 3):
        assert failed.status == Status.FAILURE
        retry = next_attempt(runtime, failed.id)
        assert (retry.status, retry.attempt, retry.retry_of) == (Status.PENDING, expected_attempt, first_id)
        assert retry.commit == "c" * 40 and retry.enqueued is None  # not sent before it is due
        waits.append((retry.scheduled_at - failed.completed).total_seconds())
        failed = run_and_reload(runtime, when_due(runtime, retry.id))
    assert failed.status == Status.FAILURE and next_attempt(runtime, failed.id) is None  # 1 + 2 retries
    assert 5 <= waits[0] <= 5.5 and 15 <= waits[1] <= 16.5  # base 5, factor 3, jitter at most 10%
    with runtime.db.session() as session:
        chain = attempt_chain(session, session.get(JobResult, first_id))
        assert [(row.attempt, row.status) for row in chain] == [(n, Status.FAILURE) for n in (1, 2, 3)]
        (note,) = session.scalars(select(JobLogEntry).where(
            JobLogEntry.job_result_id == first_id, JobLogEntry.level == "warning"))
        assert note.message.startswith("Attempt 1 of 3 failed: attempt 2 is run ")


@pytest.mark.parametrize(("class_name", "job_fields"), [
    ("FlakyVerdict", {}),  # self.fail(): the job's own verdict
    ("FlakyNarrow", {}),  # an exception its retry_on does not name
    ("Raises", {}),  # its class declares no retries (the row's count alone does not retry it)
    ("HardExit", {"retry_on_worker_lost": False}),  # its process died while executing
])
def test_a_failure_the_job_does_not_retry_gets_no_next_attempt(runtime, class_name, job_fields):
    failed = run_and_reload(runtime, first_run(runtime, class_name, **job_fields))
    assert failed.status == Status.FAILURE and next_attempt(runtime, failed.id) is None


def test_a_run_whose_process_died_is_retried_when_its_job_is_safe_to_repeat(runtime):
    failed = run_and_reload(runtime, first_run(runtime, "HardExit", retry_on_worker_lost=True))
    assert failed.status == Status.FAILURE and next_attempt(runtime, failed.id).attempt == 2


@pytest.mark.parametrize("fields", [
    {"cancel_requested": True},
    {"status": Status.REVOKED},
    {"status": Status.SUCCESS},
])
def test_a_cancelled_or_not_failed_run_is_never_retried(runtime, fields):
    with runtime.db.session() as session:
        job = make_job(session, "Flaky", **FLAKY)
        result = make_result(session, job, **{"status": Status.FAILURE, **fields})
        assert schedule_retry(session, result.id) is None


def test_a_run_with_sensitive_input_is_not_retried_because_its_input_is_gone(runtime):
    with runtime.db.session() as session:
        job = make_job(session, "Flaky", **FLAKY, has_sensitive_variables=True,
                       variables=[{"name": "password", "type": "StringVar", "required": True}])
        result = make_result(session, job, status=Status.FAILURE)
        assert schedule_retry(session, result.id) is None


def test_the_next_attempt_is_sent_by_the_scheduler_only_once_it_is_due(runtime):
    failed = run_and_reload(runtime, first_run(runtime))
    retry = next_attempt(runtime, failed.id)
    sent_ids(runtime)  # drop anything sent so far
    assert send_waiting_runs(runtime, retry.scheduled_at - timedelta(seconds=1)) == 0
    assert send_waiting_runs(runtime, retry.scheduled_at) == 1 and sent_ids(runtime) == [retry.id]


def by_request(runtime):
    with runtime.db.session() as session:
        return enqueue_job(session, make_job(session, "Flaky", **FLAKY), known_queues=QUEUES).id


def by_schedule(runtime):
    clock = FakeClock()
    new_schedule(runtime, clock, job_fields={"job_class_name": "Flaky", **FLAKY}, every_minutes=10)
    fire_due_schedules(runtime, clock.advance(seconds=1))
    with runtime.db.session() as session:
        return session.scalar(select(JobResult.id).where(JobResult.scheduled_job_id.is_not(None)))


@pytest.mark.parametrize("trigger", [by_request, by_schedule])
def test_retries_apply_whichever_path_started_the_run(runtime, trigger):
    failed = run_and_reload(runtime, trigger(runtime))
    retry = next_attempt(runtime, failed.id)
    assert failed.status == Status.FAILURE and retry.attempt == 2 and retry.interval is None
