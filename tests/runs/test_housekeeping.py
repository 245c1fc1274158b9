"""Housekeeping deletes finished runs, their logs and files, older than the retention."""

from datetime import timedelta

from sqlalchemy import func, select

from service.models import (
    JobLogEntry,
    JobOutputFile,
    JobResult,
    ObjectChangeEvent,
    ScheduledSlot,
    Status,
    WebhookDelivery,
    utcnow,
)
from service.runs.housekeeping import Housekeeping, purge_old_events, purge_old_results
from service.scheduling.loop import Scheduler
from service.worker import engine
from tests.helpers.factories import make_job, make_result
from tests.helpers.scheduling import new_schedule


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_housekeeping_deletes_old_results_with_their_logs_and_files(runtime):
    now = utcnow()
    old = now - timedelta(days=91)
    with runtime.db.session() as session:
        job = make_job(session)
        expired = make_result(session, job, status=Status.SUCCESS, created=old, completed=old)
        session.add_all(
            [
                JobLogEntry(job_result_id=expired.id, message="old news"),
                JobOutputFile(job_result_id=expired.id, name="report.txt", content=b"x", size=1),
            ]
        )
        recent = make_result(session, job, status=Status.FAILURE, created=now, completed=now)
        stuck = make_result(session, job, status=Status.PENDING, created=old)
    counts = purge_old_results(runtime.db, 90, now=now)
    assert counts["results"] == counts["logs"] == counts["files"] == 1
    with runtime.db.session() as session:
        remaining = set(session.scalars(select(JobResult.id)))
        assert remaining == {recent.id, stuck.id}
        assert count(session, JobLogEntry) == count(session, JobOutputFile) == 0


def test_housekeeping_forgets_schedule_slots_older_than_the_retention(runtime, clock):
    new_schedule(runtime, clock)
    Scheduler(runtime, clock=clock).tick()
    purge_old_results(runtime.db, 90, now=clock.now + timedelta(days=89))
    with runtime.db.session() as session:
        assert count(session, ScheduledSlot) == 1
    purge_old_results(runtime.db, 90, now=clock.now + timedelta(days=91))
    with runtime.db.session() as session:
        assert count(session, ScheduledSlot) == 0


def test_the_housekeeping_system_job_runs_on_the_configured_retention(runtime):
    old = utcnow() - timedelta(days=runtime.settings.results_retention_days + 1)
    with runtime.db.session() as session:
        make_result(session, make_job(session), status=Status.SUCCESS, created=old, completed=old)
    run = Housekeeping.enqueue()
    engine.run_job_result(runtime, str(run.id))
    with runtime.db.session() as session:
        (done,) = session.scalars(select(JobResult))
    assert done.id == run.id and done.status == Status.SUCCESS and done.result["results"] == 1


def test_a_long_purge_goes_in_short_steps_and_leaves_nothing_behind(runtime, monkeypatch):
    from service.runs import housekeeping

    monkeypatch.setattr(housekeeping, "DELETE_BATCH", 2)
    monkeypatch.setattr(housekeeping, "LOG_DELETE_BATCH", 3)
    now = utcnow()
    old = now - timedelta(days=100)
    with runtime.db.session() as session:
        job = make_job(session)
        for number in range(5):
            expired = make_result(session, job, status=Status.SUCCESS, created=old, completed=old)
            session.add_all([JobLogEntry(job_result_id=expired.id, message=f"{number}.{line}")
                             for line in range(7)])
        kept = make_result(session, job, status=Status.SUCCESS, created=old, completed=now)  # ended lately
        session.add(JobLogEntry(job_result_id=kept.id, message="still wanted"))
    counts = purge_old_results(runtime.db, 90, now=now)
    assert (counts["results"], counts["logs"]) == (5, 35)
    with runtime.db.session() as session:
        assert set(session.scalars(select(JobResult.id))) == {kept.id}
        assert list(session.scalars(select(JobLogEntry.message))) == ["still wanted"]


def test_a_purge_walks_past_kept_runs_and_runs_created_at_the_same_moment(runtime, monkeypatch):
    """Batches go on from the last (created, id) seen: runs kept (waiting, ended lately) are
    stepped over once, and many runs sharing one ``created`` are neither skipped nor repeated."""
    from service.runs import housekeeping

    monkeypatch.setattr(housekeeping, "DELETE_BATCH", 2)
    monkeypatch.setattr(housekeeping, "LOG_DELETE_BATCH", 2)
    now = utcnow()
    same = now - timedelta(days=120)
    with runtime.db.session() as session:
        job = make_job(session)
        kept = {make_result(session, job, status=Status.PENDING, created=same).id,
                make_result(session, job, status=Status.STARTED, created=same).id,
                make_result(session, job, status=Status.SUCCESS, created=same, completed=now).id,
                make_result(session, job, status=Status.SUCCESS, created=now, completed=now).id}
        for number in range(7):
            expired = make_result(session, job, status=Status.FAILURE, created=same, completed=same)
            session.add_all([JobLogEntry(job_result_id=expired.id, message=f"{number}.{line}")
                             for line in range(number)])
        session.add(JobLogEntry(job_result_id=sorted(kept)[0], message="kept"))
    counts = purge_old_results(runtime.db, 90, now=now)
    assert (counts["results"], counts["logs"]) == (7, sum(range(7)))
    with runtime.db.session() as session:
        assert set(session.scalars(select(JobResult.id))) == kept
        assert list(session.scalars(select(JobLogEntry.message))) == ["kept"]


def test_a_slow_database_gets_smaller_batches_and_a_quiet_one_the_largest(runtime, monkeypatch):
    """Each purge transaction is timed: over twice TARGET_SECONDS halves the next batch (down to a
    twentieth of the largest), under half of it doubles it back; nothing is left behind."""
    from itertools import count as counter

    from service.runs import housekeeping

    monkeypatch.setattr(housekeeping, "DELETE_BATCH", 40)
    monkeypatch.setattr(housekeeping, "LOG_DELETE_BATCH", 40)
    timed = housekeeping._Pace.timed

    def purge(seconds_per_reading: float) -> list[int]:
        """Purge 60 old runs of 2 lines each; return the batch size of each transaction."""
        now, old = utcnow(), utcnow() - timedelta(days=99)
        with runtime.db.session() as session:
            job = make_job(session)
            for _ in range(60):
                expired = make_result(session, job, status=Status.SUCCESS, created=old, completed=old)
                session.add_all([JobLogEntry(job_result_id=expired.id, message="x") for _ in range(2)])
        ticks, sizes = counter(), []
        monkeypatch.setattr(housekeeping, "clock", lambda: next(ticks) * seconds_per_reading)

        def recording(pace):
            sizes.append(pace.size)
            return timed(pace)

        monkeypatch.setattr(housekeeping._Pace, "timed", recording)
        counts = purge_old_results(runtime.db, 90, now=now)
        assert (counts["results"], counts["logs"]) == (60, 120)
        with runtime.db.session() as session:
            assert count(session, JobResult) == count(session, JobLogEntry) == 0
        return sizes

    assert set(purge(0.0)) == {40}  # a quiet database: every batch the largest
    slow = purge(1.0)  # every transaction "took" a second
    assert slow[:4] == [40, 20, 10, 5] and min(slow) == 2  # halved down to a twentieth


def test_the_rows_housekeeping_purges_are_counted_in_the_metrics(runtime):
    from prometheus_client import REGISTRY

    def purged(kind):
        return REGISTRY.get_sample_value("jobsync_housekeeping_purged_total", {"kind": kind}) or 0

    before = purged("results")
    old = utcnow() - timedelta(days=runtime.settings.results_retention_days + 1)
    with runtime.db.session() as session:
        job = make_job(session)
        for _ in range(2):
            make_result(session, job, status=Status.SUCCESS, created=old, completed=old)
    engine.run_job_result(runtime, str(Housekeeping.enqueue().id))
    assert purged("results") == before + 2


def test_housekeeping_deletes_deliveries_and_change_events_past_their_retention(runtime):
    now = utcnow()
    old = now - timedelta(days=31)
    with runtime.db.session() as session:
        session.add_all([
            WebhookDelivery(provider="github", outcome="rejected", reason="old", received=old),
            WebhookDelivery(provider="github", outcome="rejected", reason="new", received=now),
            ObjectChangeEvent(request_id="old", action="update", object_type="dcim.device", object_id="1",
                              matched=[], received=old),
            ObjectChangeEvent(request_id="new", action="update", object_type="dcim.device", object_id="1",
                              matched=[], received=now),
        ])
    assert purge_old_events(runtime.db, 30, now=now) == {"deliveries": 1, "change_events": 1}
    with runtime.db.session() as session:
        assert session.scalars(select(WebhookDelivery.reason)).all() == ["new"]
        assert session.scalars(select(ObjectChangeEvent.request_id)).all() == ["new"]
