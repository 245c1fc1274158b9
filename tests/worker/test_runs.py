"""Requesting runs: only enabled, installed jobs; valid input; the right queue; sensitive data kept out."""

import pytest
from sqlalchemy import func, select

from service.errors import Conflict, JobNotRunnable, ValidationError
from service.models import JobResult, Status
from service.runs.requests import enqueue_job
from tests.helpers.factories import make_job

QUEUES = ("high", "default", "low")
WHO = [{"name": "who", "type": "StringVar", "required": True, "default": None, "label": "Who",
        "description": "", "min_length": None, "max_length": 5, "regex": None}]


def result_count(session):
    return session.scalar(select(func.count()).select_from(JobResult))


@pytest.mark.parametrize("fields", [{"enabled": False}, {"installed": False}])
def test_a_disabled_or_uninstalled_job_is_refused_and_no_row_is_written(runtime, fields):
    with runtime.db.session() as session:
        job = make_job(session, **fields)
        with pytest.raises(JobNotRunnable):
            enqueue_job(session, job, known_queues=QUEUES)
        assert result_count(session) == 0


def test_bad_input_is_refused_naming_each_field(runtime):
    with runtime.db.session() as session:
        job = make_job(session, variables=WHO)
        with pytest.raises(ValidationError) as caught:
            enqueue_job(session, job, {"who": "far too long", "extra": 1}, known_queues=QUEUES)
        assert set(caught.value.fields) == {"who", "extra"}
        assert result_count(session) == 0


def test_queue_is_the_requested_allowed_one_else_the_jobs_first_else_default(runtime):
    with runtime.db.session() as session:
        plain = make_job(session)
        picky = make_job(session, task_queues=["low", "high"])
        assert enqueue_job(session, plain, known_queues=QUEUES).queue == "default"
        assert enqueue_job(session, picky, known_queues=QUEUES).queue == "low"
        assert enqueue_job(session, picky, known_queues=QUEUES, queue="high").queue == "high"
        with pytest.raises(ValidationError) as caught:
            enqueue_job(session, picky, known_queues=QUEUES, queue="default")
        assert "task_queue" in caught.value.fields


def test_a_singleton_job_refuses_a_second_run_unless_the_lock_is_overridden(runtime):
    with runtime.db.session() as session:
        job = make_job(session, is_singleton=True)
        enqueue_job(session, job, known_queues=QUEUES)
        with pytest.raises(Conflict):
            enqueue_job(session, job, known_queues=QUEUES)
        assert enqueue_job(session, job, known_queues=QUEUES, ignore_singleton_lock=True)


def test_the_run_is_pending_pinned_to_the_jobs_commit_and_read_only_jobs_run_dry(runtime):
    with runtime.db.session() as session:
        job = make_job(session, commit="a" * 40, read_only=True)
        result = enqueue_job(session, job, known_queues=QUEUES, dryrun=False)
        assert (result.status, result.commit, result.dryrun) == (Status.PENDING, "a" * 40, True)


def test_sensitive_input_is_never_stored(runtime):
    with runtime.db.session() as session:
        job = make_job(session, "Secretive", has_sensitive_variables=True, variables=[
            {"name": "password", "type": "StringVar", "required": True, "default": None}])
        result = enqueue_job(session, job, {"password": "hunter2"}, known_queues=QUEUES)
        assert result.input_data is None


def test_nothing_is_sent_when_the_transaction_rolls_back(runtime):
    sent = []
    runtime.broker.enqueue = lambda message, **kw: sent.append(message)
    with pytest.raises(RuntimeError), runtime.db.session() as session:
        enqueue_job(session, make_job(session), known_queues=QUEUES)
        raise RuntimeError("rollback")
    assert sent == []
    with runtime.db.session() as session:
        enqueue_job(session, make_job(session), known_queues=QUEUES)
    assert len(sent) == 1
