"""JobRunners keep NetBox's behaviour (a failed run is not retried) unless their Meta declares
retries, which then work as a Job's: each attempt its own run, due after the backoff."""

from datetime import timedelta

import pytest

from service.jobs import JobRunner
from service.jobs.errors import RegistrationError
from service.models import JobResult, Status
from service.scheduling.recovery import fail_lost_runs
from tests.helpers.sample_runners import Dawdler, Exploder, Reconnecting, RepeatableDawdler
from tests.helpers.scheduling import sent_ids
from tests.runs.test_retries import next_attempt, run_and_reload, when_due


def test_a_runner_declaring_retries_gets_its_attempts_after_the_backoff_until_they_run_out(runtime):
    first_id = Reconnecting.enqueue(error="connection").id
    failed = run_and_reload(runtime, first_id)
    waits = []
    for expected_attempt in (2, 3):
        assert failed.status == Status.FAILURE and "ConnectionError" in failed.error
        retry = next_attempt(runtime, failed.id)
        assert (retry.status, retry.attempt, retry.retry_of) == (Status.PENDING, expected_attempt, first_id)
        assert retry.runner == failed.runner
        assert retry.input_data == {"args": [], "kwargs": {"error": "connection"}}
        waits.append((retry.scheduled_at - failed.completed).total_seconds())
        failed = run_and_reload(runtime, when_due(runtime, retry.id))
    assert failed.status == Status.FAILURE and next_attempt(runtime, failed.id) is None  # 1 + 2 retries
    assert waits == pytest.approx([5, 15], abs=0.5)  # base 5, factor 3, no jitter


@pytest.mark.parametrize(("runner", "kwargs"), [
    (Exploder, {}),  # NetBox's runners declare nothing: no retries, as before
    (Reconnecting, {"error": "bug"}),  # an exception its retry_on does not name
])
def test_a_runner_failure_it_does_not_retry_gets_no_next_attempt(runtime, runner, kwargs):
    failed = run_and_reload(runtime, runner.enqueue(**kwargs).id)
    assert failed.status == Status.FAILURE and next_attempt(runtime, failed.id) is None


def test_a_bad_retry_declaration_fails_where_the_runner_is_defined():
    with pytest.raises(RegistrationError, match=r"Careless.Meta.retries must be a whole number"):
        class Careless(JobRunner):
            class Meta:
                retries = -1


def lose(runtime, clock, runner) -> JobResult:
    """Enqueue ``runner`` and leave its run STARTED by a worker that stopped beating a minute ago."""
    result = runner.enqueue()
    moment = clock.now - timedelta(seconds=61)
    with runtime.db.session() as session:
        row = session.get(JobResult, result.id)
        row.status, row.started, row.heartbeat, row.worker_id, row.attempts = (
            Status.STARTED, moment, moment, "gone:1:1", 1)
    fail_lost_runs(runtime, clock.now)
    with runtime.db.session() as session:
        return session.get(JobResult, result.id)


def test_a_lost_run_of_a_runner_safe_to_repeat_is_requeued(runtime, clock):
    requeued = lose(runtime, clock, RepeatableDawdler)
    assert requeued.status == Status.PENDING and requeued.worker_id is None
    assert sent_ids(runtime) == [requeued.id, requeued.id]  # when enqueued, and again when re-queued


def test_a_lost_run_of_a_runner_not_declared_safe_to_repeat_fails(runtime, clock):
    failed = lose(runtime, clock, Dawdler)
    assert failed.status == Status.FAILURE and next_attempt(runtime, failed.id) is None
