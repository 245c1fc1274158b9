"""Input the database must not keep (uploaded files) reaches the job, then is gone."""

import threading

import pytest
from sqlalchemy import select

from service.bootstrap import configure
from service.jobs import UploadedFile
from service.models import Base, JobResult, Status
from service.runs.requests import enqueue_job
from service.worker.engine import run_job_result
from tests.helpers.factories import make_job
from tests.helpers.servers import wait_until

FILE_SCHEMA = [{"name": "config", "type": "FileVar", "required": True, "default": None}]


def test_an_uploaded_file_reaches_the_job_and_is_stored_nowhere(runtime):
    content = b"hostname edge-unique-marker-42\n"
    with runtime.db.session() as session:
        job = make_job(session, "Upload", variables=FILE_SCHEMA)
        result_id = enqueue_job(
            session,
            job,
            {},
            files={"config": UploadedFile("router.cfg", content)},
            known_queues=runtime.settings.all_queues,
        ).id
    run_job_result(runtime, str(result_id))
    with runtime.db.session() as session:
        result = session.get(JobResult, result_id)
        assert (result.status, result.result) == (
            Status.SUCCESS,
            {"name": "router.cfg", "size": len(content)},
        )
    with runtime.db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                assert "edge-unique-marker-42" not in str(tuple(row))


def test_a_long_run_in_a_worker_thread_keeps_its_heartbeat(settings):
    runtime = configure(settings.replace(isolation="thread", heartbeat_seconds=0.1))
    with runtime.db.session() as session:
        job = make_job(
            session,
            "Sleeper",
            time_limit=None,
            variables=[{"name": "seconds", "type": "IntegerVar", "required": False, "default": 60}],
        )
        result_id = enqueue_job(session, job, {"seconds": 2}, known_queues=runtime.settings.all_queues).id
    runner = threading.Thread(target=run_job_result, args=(runtime, str(result_id)))
    runner.start()

    def beaten():
        with runtime.db.session() as session:
            result = session.get(JobResult, result_id)
            return result.status == Status.STARTED and result.heartbeat > result.started

    wait_until(beaten, timeout=10, message="a heartbeat newer than the start")
    runner.join(timeout=30)
    with runtime.db.session() as session:
        assert session.scalar(select(JobResult.status).where(JobResult.id == result_id)) == Status.SUCCESS


SECRET_SCHEMA = [{"name": "password", "type": "StringVar", "required": True, "default": None}]


def _waiting_secret_run(runtime):
    with runtime.db.session() as session:
        job = make_job(session, "Secretive", variables=SECRET_SCHEMA, has_sensitive_variables=True)
        return enqueue_job(session, job, {"password": "hunter2"}, known_queues=runtime.settings.all_queues).id


def test_cancelling_a_waiting_run_drops_its_sensitive_input_at_once(runtime):
    from service.runs.requests import request_cancel

    result_id = _waiting_secret_run(runtime)
    assert runtime.outbox.transient.stashed_ids() == [str(result_id)]
    with runtime.db.session() as session:
        assert request_cancel(session, result_id).status == Status.REVOKED
    assert runtime.outbox.transient.stashed_ids() == []


def test_cancelling_drops_sensitive_input_kept_in_redis(redis_runtime):
    from service.runs.requests import request_cancel

    result_id = _waiting_secret_run(redis_runtime)
    client = redis_runtime.broker.client
    assert client.exists(f"jobsync:sensitive:{result_id}")
    with redis_runtime.db.session() as session:
        request_cancel(session, result_id)
    assert not client.exists(f"jobsync:sensitive:{result_id}")


def test_housekeeping_sweeps_input_whose_run_ended_without_taking_it(runtime):
    from sqlalchemy import update

    from service.runs.housekeeping import sweep_transient_input

    ended, waiting = _waiting_secret_run(runtime), _waiting_secret_run(runtime)
    runtime.outbox.transient.stash("00000000-0000-0000-0000-000000000000", {"data": {"x": 1}})  # no such run
    with runtime.db.session() as session:
        session.execute(update(JobResult).where(JobResult.id == ended).values(status=Status.FAILURE))
    assert sweep_transient_input(runtime.db, runtime.outbox.transient) == 2
    assert runtime.outbox.transient.stashed_ids() == [str(waiting)]


def test_an_upload_over_the_limit_is_refused_naming_the_field_and_nothing_is_kept(runtime):
    from service.errors import ValidationError

    with runtime.db.session() as session, pytest.raises(ValidationError) as refused:
        job = make_job(session, "Upload", variables=FILE_SCHEMA)
        enqueue_job(session, job, {}, files={"config": UploadedFile("big.cfg", b"x" * 2048)},
                    known_queues=runtime.settings.all_queues, upload_max_bytes=1024)
    assert "upload_max_bytes" in refused.value.fields["config"][0]
    assert runtime.outbox.transient.stashed_ids() == []
    with runtime.db.session() as session:
        assert session.scalars(select(JobResult)).all() == []
