"""The scheduler rides out an outage: one log line, no traceback per tick, and it keeps ticking."""

import logging

from service import bootstrap
from service.scheduling.loop import Scheduler
from tests.helpers.servers import free_port


def test_a_scheduler_without_its_database_logs_one_line_and_keeps_ticking(settings, caplog):
    down = f"postgresql+psycopg://jobsync@127.0.0.1:{free_port()}/none?connect_timeout=2"
    runtime = bootstrap.configure(settings.replace(database_url=down))
    scheduler = Scheduler(runtime)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert scheduler.tick() == 0
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    assert "database unavailable" in caplog.records[0].getMessage()
    assert not any(record.exc_info for record in caplog.records)


def test_after_a_database_outage_the_sweep_waits_worker_lost_seconds_before_failing_runs(settings):
    from datetime import timedelta

    from service.infra.db import Database
    from service.models import JobResult, Status, utcnow
    from tests.helpers.factories import make_job, make_result
    from tests.helpers.servers import wait_until

    runtime = bootstrap.configure(settings.replace(worker_lost_seconds=1))
    long_ago = utcnow() - timedelta(minutes=10)
    with runtime.db.session() as session:  # its worker could not beat while the database was down
        run_id = make_result(session, make_job(session), status=Status.STARTED, started=long_ago,
                             heartbeat=long_ago, worker_id="elsewhere:1:1").id
    database = runtime.db
    runtime.db = Database(f"postgresql+psycopg://jobsync@127.0.0.1:{free_port()}/none?connect_timeout=2")
    scheduler = Scheduler(runtime)
    scheduler.tick()  # the outage
    runtime.db = database  # the database is back
    scheduler.tick()

    def status():
        with runtime.db.session() as session:
            return session.get(JobResult, run_id).status

    assert status() == Status.STARTED  # not yet: its worker gets worker_lost_seconds to beat again
    wait_until(lambda: scheduler.tick() and status() == Status.FAILURE, timeout=10,
               message="the sweep to end the run once the window has passed")
