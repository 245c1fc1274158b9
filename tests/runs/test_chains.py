"""Chains: a run's ending starts the jobs its job names, in the same transaction, linked by
``triggered_by``, passing the upstream run along."""

from sqlalchemy import select

from service.models import JobLogEntry, JobResult, Status
from service.worker.engine import run_job_result
from tests.helpers.factories import make_job, make_result

UPSTREAM = [{"name": "upstream", "type": "JSONVar", "required": False, "default": None}]
FLAG = [{"name": "fail_it", "type": "IntegerVar", "required": False, "default": 0}]


def chain(runtime, *, on_success=True, on_failure=True, fail=0, **head_fields):
    with runtime.db.session() as session:
        downstream = make_job(session, "Downstream", variables=UPSTREAM)
        targets = [downstream.class_path]
        head = make_job(session, "ChainHead", variables=FLAG, on_success_run=targets if on_success else None,
                        on_failure_run=targets if on_failure else None, **head_fields)
        return make_result(session, head, input_data={"fail_it": fail}).id


def ended_and_started(runtime, result_id):
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        ended = session.get(JobResult, result_id)
        return ended, session.scalars(select(JobResult).where(JobResult.triggered_by == result_id)).all()


def test_a_success_starts_the_next_job_with_the_upstream_run_and_its_result(runtime):
    head_id = chain(runtime)
    ended, (following,) = ended_and_started(runtime, head_id)
    assert ended.status == Status.SUCCESS and following.status == Status.PENDING
    assert following.input_data == {"upstream": {"id": str(head_id), "result": {"devices": 3}}}
    run_job_result(runtime, str(following.id))
    with runtime.db.session() as session:
        assert session.get(JobResult, following.id).result == {"id": str(head_id), "result": {"devices": 3}}


def test_a_failure_starts_only_what_on_failure_run_names(runtime):
    ended, started = ended_and_started(runtime, chain(runtime, on_failure=False, fail=1))
    assert ended.status == Status.FAILURE and started == []
    ended, (following,) = ended_and_started(runtime, chain(runtime, on_success=False, fail=1))
    assert ended.status == Status.FAILURE and following.input_data["upstream"]["result"] is None


def test_a_failure_with_a_retry_to_come_starts_nothing_until_the_last_attempt_fails(runtime):
    ended, started = ended_and_started(runtime, chain(runtime, on_success=False, fail=1, retries=1))
    assert ended.status == Status.FAILURE and started == []
    with runtime.db.session() as session:
        retry = session.scalar(select(JobResult).where(JobResult.retry_of == ended.id))
        retry.scheduled_at = None  # let the backoff pass
    last, (following,) = ended_and_started(runtime, retry.id)
    assert last.status == Status.FAILURE and following.input_data["upstream"]["id"] == str(retry.id)


def test_a_hop_that_cannot_start_is_noted_on_the_run_that_ended_which_keeps_its_outcome(runtime):
    with runtime.db.session() as session:
        head = make_job(session, "ChainHead", variables=FLAG, on_success_run=["system/nowhere/Gone"])
        head_id = make_result(session, head, input_data={}).id
    ended, started = ended_and_started(runtime, head_id)
    assert ended.status == Status.SUCCESS and started == []
    with runtime.db.session() as session:
        notes = session.scalars(select(JobLogEntry.message).where(JobLogEntry.job_result_id == head_id)).all()
    assert "Chained job system/nowhere/Gone not started: no such job." in notes
