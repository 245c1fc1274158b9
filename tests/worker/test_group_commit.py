"""Group commit: runs a worker process finishes together share one transaction, each message is
acked only after the transaction holding its outcome committed, and one bad run fails alone."""

from __future__ import annotations

import dramatiq
import pytest
from sqlalchemy import select, text

from service.models import JobLogEntry, JobResult, Status
from service.worker.job_process import ChildOutcome
from service.worker.outcome import committer_for, finish
from service.worker.recorder import RunRecorder
from tests.helpers.factories import make_job
from tests.helpers.finishing import finishing, hold_row, started_runs
from tests.helpers.servers import wait_until

FOLLOWERS = 5
WRITERS = text("SELECT DISTINCT xmin::text FROM job_results WHERE id = ANY(:ids)")  # transaction ids


def plain_finish(db):
    def record(run_id, outcome, recorder):
        finish(db, run_id, outcome, recorder, periodic=False, keyed=False)
    return record


def finish_behind_a_busy_transaction(db, leader, followers, results: dict) -> dict:
    """Finish ``leader`` while its row is locked, then ``followers`` while it waits; return the errors."""
    committer, errors = committer_for(db), {}
    with db.engine.connect() as connection:
        hold_row(connection, leader)
        threads = [finishing(db, leader, {"n": 0}, errors, plain_finish(db))]
        wait_until(lambda: committer.busy, message="the leader to be committing")
        threads += [finishing(db, run_id, results.get(run_id, {"n": 1}), errors, plain_finish(db))
                    for run_id in followers]
        wait_until(lambda: committer.waiting == len(followers), message="the followers to queue")
        statuses = connection.scalars(select(JobResult.status).where(JobResult.id.in_(followers))).all()
        assert set(statuses) == {Status.STARTED}  # none returned: none was committed yet
        connection.rollback()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def statuses(runtime, run_ids) -> dict:
    with runtime.db.session() as session:
        query = select(JobResult.id, JobResult.status).where(JobResult.id.in_(run_ids))
        return dict(session.execute(query).all())


def logged(runtime, run_ids) -> set:
    with runtime.db.session() as session:
        query = select(JobLogEntry.job_result_id).where(JobLogEntry.job_result_id.in_(run_ids))
        return set(session.scalars(query))


def test_an_idle_worker_commits_a_finished_run_alone_at_once(runtime):
    (run_id,) = started_runs(runtime.db, 1)
    finish(runtime.db, run_id, ChildOutcome(Status.SUCCESS, 1), RunRecorder(runtime.db, run_id),
           periodic=False, keyed=False)
    committer = committer_for(runtime.db)
    assert (committer.batches, committer.writes) == (1, 1)
    assert statuses(runtime, [run_id]) == {run_id: Status.SUCCESS}


def test_runs_finished_while_a_transaction_is_under_way_commit_together_in_the_next_one(runtime):
    leader, *followers = started_runs(runtime.db, 1 + FOLLOWERS)
    assert finish_behind_a_busy_transaction(runtime.db, leader, followers, {}) == {}
    committer = committer_for(runtime.db)
    assert (committer.batches, committer.writes) == (2, 1 + FOLLOWERS)  # the leader's, then one for all
    assert set(statuses(runtime, [leader, *followers]).values()) == {Status.SUCCESS}
    assert logged(runtime, [leader, *followers]) == {leader, *followers}
    if not runtime.db.is_sqlite:  # rows written by one transaction carry its id
        with runtime.db.engine.connect() as connection:
            writers = connection.scalars(WRITERS, {"ids": followers}).all()
        assert len(writers) == 1


def test_a_run_whose_outcome_cannot_be_written_fails_alone_and_the_others_keep_theirs(runtime):
    leader, *followers = started_runs(runtime.db, 1 + FOLLOWERS)
    bad = followers[2]
    errors = finish_behind_a_busy_transaction(runtime.db, leader, followers, {bad: {"n": object()}})
    assert list(errors) == [bad]  # only its own thread hears of it
    assert statuses(runtime, [leader, *followers]) == {
        **{run_id: Status.SUCCESS for run_id in [leader, *followers]}, bad: Status.STARTED}
    assert logged(runtime, [leader, *followers]) == {leader, *followers} - {bad}


class AckWitness(dramatiq.Middleware):
    """Notes each run's status in the database at the moment its message is acked."""

    def __init__(self, db):
        self.db = db
        self.seen: dict[str, str] = {}

    def after_ack(self, broker, message):
        with self.db.engine.connect() as connection:
            self.seen[message.args[0]] = connection.scalar(
                select(JobResult.status).where(JobResult.id == message.args[0]))


@pytest.mark.postgresql_only  # a table lock that lets claims through exists only on PostgreSQL
def test_each_message_is_acked_only_after_the_transaction_holding_its_outcome_committed(redis_runtime):
    from service.runs.requests import enqueue_job

    redis_runtime.settings = redis_runtime.settings.replace(isolation="thread")
    witness = AckWitness(redis_runtime.db)
    redis_runtime.broker.add_middleware(witness)
    committer, client = committer_for(redis_runtime.db), redis_runtime.broker.client
    with redis_runtime.db.session() as session:
        job = make_job(session)
        run_ids = [enqueue_job(session, job, known_queues=("default",)).id for _ in range(1 + FOLLOWERS)]
    worker = dramatiq.Worker(redis_runtime.broker, queues={"default"}, worker_threads=1 + FOLLOWERS,
                             worker_timeout=100)
    with redis_runtime.db.engine.connect() as connection:
        connection.execute(text("LOCK TABLE job_log_entries IN EXCLUSIVE MODE"))  # log rows wait
        worker.start()
        try:
            wait_until(lambda: committer.waiting == FOLLOWERS, timeout=30, message="every run finishing")
            assert client.hlen("jobsync:default.msgs") == 1 + FOLLOWERS  # nothing acked yet
            connection.rollback()
            wait_until(lambda: len(witness.seen) == 1 + FOLLOWERS, timeout=30, message="every ack")
        finally:
            worker.stop()
    assert witness.seen == {str(run_id): Status.SUCCESS for run_id in run_ids}
    assert (committer.batches, committer.writes) == (2, 1 + FOLLOWERS)
