"""Recovery steps: lost messages are sent again; runs of dead workers end "worker lost" (or retry)."""

from datetime import timedelta

from sqlalchemy import select

from service.models import JobLogEntry, JobResult, Status
from service.scheduling.loop import Scheduler
from service.scheduling.recovery import fail_lost_runs, send_waiting_runs
from tests.helpers.factories import make_job, make_result
from tests.helpers.scheduling import sent_ids


def add_result(runtime, job_fields=None, **fields):
    with runtime.db.session() as session:
        return make_result(session, make_job(session, **(job_fields or {})), **fields)


def reload(runtime, result_id) -> JobResult:
    with runtime.db.session() as session:
        return session.get(JobResult, result_id)


def started(clock, seconds_ago: float, **fields) -> dict:
    moment = clock.now - timedelta(seconds=seconds_ago)
    return dict(
        status=Status.STARTED, started=moment, heartbeat=moment, worker_id="gone:1:1", attempts=1, **fields
    )


def test_a_due_run_that_was_never_sent_is_sent_once(runtime, clock):
    result = add_result(runtime)
    scheduler = Scheduler(runtime, clock=clock)
    scheduler.tick()
    scheduler.tick()
    assert sent_ids(runtime) == [result.id] and reload(runtime, result.id).enqueued == clock.now


def test_a_run_sent_recently_is_left_alone_and_one_sent_long_ago_is_sent_again(runtime, clock):
    recent = add_result(runtime, enqueued=clock.now - timedelta(seconds=10))
    lost = add_result(runtime, enqueued=clock.now - timedelta(seconds=31))
    assert send_waiting_runs(runtime, clock.now) == 1
    assert sent_ids(runtime) == [lost.id] and reload(runtime, recent.id).enqueued < clock.now


def test_a_run_sent_before_its_new_time_is_sent_again_when_due(runtime, clock):
    result = add_result(runtime, enqueued=clock.now - timedelta(seconds=5), scheduled_at=clock.now)
    send_waiting_runs(runtime, clock.now)
    assert sent_ids(runtime) == [result.id]


def test_a_run_scheduled_for_later_is_not_sent_yet(runtime, clock):
    add_result(runtime, scheduled_at=clock.now + timedelta(seconds=1))
    assert send_waiting_runs(runtime, clock.now) == 0 and sent_ids(runtime) == []


def test_a_started_run_whose_heartbeat_stopped_becomes_failure_worker_lost(runtime, clock):
    lost = add_result(runtime, **started(clock, 61))
    alive = add_result(runtime, **started(clock, 59))
    assert fail_lost_runs(runtime, clock.now) == 1
    failed = reload(runtime, lost.id)
    assert failed.status == Status.FAILURE and failed.error.startswith("Worker lost")
    assert failed.completed == clock.now and reload(runtime, alive.id).status == Status.STARTED
    with runtime.db.session() as session:
        (entry,) = session.scalars(select(JobLogEntry).where(JobLogEntry.job_result_id == lost.id))
        assert entry.level == "failure" and "Worker lost" in entry.message


def test_a_run_of_a_job_retried_on_worker_lost_is_requeued_once(runtime, clock):
    result = add_result(runtime, job_fields={"retry_on_worker_lost": True}, **started(clock, 61))
    fail_lost_runs(runtime, clock.now)
    requeued = reload(runtime, result.id)
    assert requeued.status == Status.PENDING and requeued.worker_id is None and requeued.started is None
    assert sent_ids(runtime) == [result.id]
    with runtime.db.session() as session:  # its second attempt is lost too
        row = session.get(JobResult, result.id)
        row.status, row.started, row.heartbeat, row.attempts = (
            Status.STARTED,
            clock.now - timedelta(seconds=61),
            clock.now - timedelta(seconds=61),
            2,
        )
    fail_lost_runs(runtime, clock.now)
    assert reload(runtime, result.id).status == Status.FAILURE


def test_a_lost_periodic_run_still_gets_its_successor(runtime, clock):
    result = add_result(
        runtime, interval=60, scheduled_at=clock.now - timedelta(minutes=2), **started(clock, 61)
    )
    fail_lost_runs(runtime, clock.now)
    with runtime.db.session() as session:
        (successor,) = session.scalars(select(JobResult).where(JobResult.status == Status.PENDING))
    assert successor.scheduled_at == result.scheduled_at + timedelta(minutes=60)


def test_two_schedulers_end_a_lost_run_once(runtime, clock):
    lost = add_result(runtime, **started(clock, 61))
    assert fail_lost_runs(runtime, clock.now) + fail_lost_runs(runtime, clock.now) == 1
    with runtime.db.session() as session:
        assert (
            len(session.scalars(select(JobLogEntry).where(JobLogEntry.job_result_id == lost.id)).all()) == 1
        )


def test_a_waiting_run_on_a_queue_no_longer_configured_fails_saying_so(runtime, clock):
    result = add_result(runtime, queue="retired")
    send_waiting_runs(runtime, clock.now)
    failed = reload(runtime, result.id)
    assert failed.status == Status.FAILURE and "queue" in failed.error


def test_a_lost_run_of_a_job_with_retries_safe_to_repeat_fails_and_gets_its_next_attempt(runtime, clock):
    lost = add_result(runtime, job_fields={"retry_on_worker_lost": True, "retries": 1}, **started(clock, 61))
    fail_lost_runs(runtime, clock.now)
    assert reload(runtime, lost.id).status == Status.FAILURE
    with runtime.db.session() as session:
        (retry,) = session.scalars(select(JobResult).where(JobResult.retry_of == lost.id))
    assert (retry.status, retry.attempt) == (Status.PENDING, 2) and retry.scheduled_at > clock.now


def test_a_lost_run_of_a_job_with_retries_but_not_safe_to_repeat_is_not_retried(runtime, clock):
    lost = add_result(runtime, job_fields={"retries": 3}, **started(clock, 61))
    fail_lost_runs(runtime, clock.now)
    assert reload(runtime, lost.id).status == Status.FAILURE
    with runtime.db.session() as session:
        assert session.scalars(select(JobResult).where(JobResult.retry_of == lost.id)).all() == []


def test_a_lost_run_that_fails_starts_what_its_job_chains_to_on_failure(runtime, clock):
    with runtime.db.session() as session:
        downstream = make_job(session, "Downstream")
        target = downstream.class_path
    lost = add_result(runtime, job_fields={"on_failure_run": [target]}, **started(clock, 61))
    fail_lost_runs(runtime, clock.now)
    with runtime.db.session() as session:
        (following,) = session.scalars(select(JobResult).where(JobResult.triggered_by == lost.id))
    assert following.status == Status.PENDING and following.class_path == target
