"""Input the database must not keep (uploaded files) reaches the job, then is gone."""

import threading

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
    runner = threading.Thread(target=run_job_result, args=(str(result_id),))
    runner.start()

    def beaten():
        with runtime.db.session() as session:
            result = session.get(JobResult, result_id)
            return result.status == Status.STARTED and result.heartbeat > result.started

    wait_until(beaten, timeout=10, message="a heartbeat newer than the start")
    runner.join(timeout=30)
    with runtime.db.session() as session:
        assert session.scalar(select(JobResult.status).where(JobResult.id == result_id)) == Status.SUCCESS
