"""The heartbeat tells the truth; a run the worker gives up is released honestly; what the
recorder cannot write during an outage waits in memory."""

import threading
from datetime import timedelta

from sqlalchemy import select

from service.models import JobLogEntry, JobOutputFile, JobResult, Status, utcnow
from service.worker.heartbeat import beat
from service.worker.live_runs import LiveRuns
from service.worker.recorder import RunRecorder
from service.worker.release import release
from tests.helpers.factories import make_job, make_result
from tests.infra.test_outage import unreachable_database

LONG_AGO = utcnow() - timedelta(hours=1)


def started_runs(runtime, count: int) -> list:
    with runtime.db.session() as session:
        job = make_job(session)
        return [make_result(session, job, status=Status.STARTED, started=LONG_AGO, heartbeat=LONG_AGO,
                            worker_id="this-host:1:1").id for _ in range(count)]


def heartbeat_of(runtime, run_id):
    with runtime.db.session() as session:
        return session.get(JobResult, run_id).heartbeat


def test_the_heartbeat_stamps_only_runs_whose_thread_is_alive(runtime):
    alive, dead_thread, unlisted = started_runs(runtime, 3)
    runs = LiveRuns()
    runs.add(alive)  # this thread: alive
    finished = threading.Thread(target=lambda: runs.add(dead_thread))
    finished.start()
    finished.join()
    assert beat(runtime.db, runs) == 1
    assert heartbeat_of(runtime, alive) > LONG_AGO
    assert heartbeat_of(runtime, dead_thread) == LONG_AGO  # its thread died: the sweep must catch it
    assert heartbeat_of(runtime, unlisted) == LONG_AGO  # the same worker id is no reason to beat


def test_a_run_removed_from_the_live_runs_stops_beating(runtime):
    (run_id,) = started_runs(runtime, 1)
    runs = LiveRuns()
    runs.add(run_id)
    runs.remove(run_id)
    assert beat(runtime.db, runs) == 0 and heartbeat_of(runtime, run_id) == LONG_AGO


def test_a_given_up_run_whose_job_code_ran_ends_failure_with_the_reason(runtime):
    (run_id,) = started_runs(runtime, 1)
    assert release(runtime.db, run_id, job_code_started=True, reason="The database was gone.")
    with runtime.db.session() as session:
        result = session.get(JobResult, run_id)
        assert (result.status, result.error) == (Status.FAILURE, "The database was gone.")
        logged = select(JobLogEntry.message).where(JobLogEntry.job_result_id == run_id)
        assert session.scalars(logged).all() == ["The database was gone."]


def test_a_given_up_run_whose_job_code_never_ran_is_requeued_for_the_scheduler(runtime):
    (run_id,) = started_runs(runtime, 1)
    assert release(runtime.db, run_id, job_code_started=False, reason="Stopped.")
    with runtime.db.session() as session:
        result = session.get(JobResult, run_id)
        assert (result.status, result.enqueued, result.worker_id) == (Status.PENDING, None, None)


def test_a_run_that_already_ended_keeps_its_ending(runtime):
    (run_id,) = started_runs(runtime, 1)
    assert release(runtime.db, run_id, job_code_started=True, reason="first")
    assert not release(runtime.db, run_id, job_code_started=False, reason="second")
    with runtime.db.session() as session:
        assert session.get(JobResult, run_id).status == Status.FAILURE


def test_log_lines_and_files_wait_in_memory_while_the_database_is_down(runtime):
    (run_id,) = started_runs(runtime, 1)
    recorder = RunRecorder(unreachable_database(), run_id)
    recorder.log({"level": "info", "message": "one", "grouping": "run", "object": None, "created": utcnow()})
    assert recorder.heartbeat() is False  # the run goes on; nothing is lost
    recorder.file("report.txt", b"hello")
    recorder.log({"level": "info", "message": "two", "grouping": "run", "object": None, "created": utcnow()})
    recorder.flush()
    assert [row["message"] for row in recorder.pending] == ["one", "two"] and len(recorder.files) == 1
    recorder.db = runtime.db  # the database is back
    assert recorder.heartbeat() is False
    assert recorder.pending == [] and recorder.files == []
    with runtime.db.session() as session:
        messages = session.scalars(select(JobLogEntry.message).where(JobLogEntry.job_result_id == run_id)
                                   .order_by(JobLogEntry.created)).all()
        assert messages == ["one", "two"]
        assert session.scalar(select(JobOutputFile.content)) == b"hello"
    assert heartbeat_of(runtime, run_id) > LONG_AGO


def test_a_heartbeat_with_nothing_to_stamp_says_nothing_of_the_database(runtime):
    """During an outage an idle worker's heartbeat asks nothing of the database: it must not log it back."""
    from service.infra.outage import DATABASE, outages
    from service.worker.heartbeat import ProcessHeartbeat
    from tests.infra.test_outage import database_error

    outages.down(DATABASE, database_error())
    ProcessHeartbeat(LiveRuns()).beat_once(runtime)
    assert outages.is_down(DATABASE)


def test_the_heartbeat_thread_of_a_closed_runtime_stops_without_beating_again(settings):
    """Woken after its runtime closed (a worker's shutdown, a test's end), the thread must not beat:
    that beat reached another database than the one now in use, and logged it back."""
    from service import bootstrap
    from service.infra.outage import DATABASE, outages
    from service.worker.heartbeat import ProcessHeartbeat
    from tests.infra.test_outage import database_error

    runtime = bootstrap.configure(settings.replace(heartbeat_seconds=3600))
    (run_id,) = started_runs(runtime, 1)
    runs = LiveRuns()
    runs.add(run_id)
    heartbeat = ProcessHeartbeat(runs)
    heartbeat.ensure_running(runtime)
    bootstrap.reset()  # closes it
    outages.down(DATABASE, database_error())  # the next test's outage
    heartbeat._wake.set()
    heartbeat._thread.join(timeout=30)
    assert not heartbeat._thread.is_alive() and outages.is_down(DATABASE)
    assert heartbeat_of(bootstrap.configure(settings), run_id) == LONG_AGO  # no beat after closing
