"""Group claims on PostgreSQL: the claims a worker process's threads make while one is under way are
one statement, each row names the thread that claimed it, and a run sent twice is claimed once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from service.models import ConcurrencySlot, JobResult, Status
from service.worker.claim import claim_and_load, claims_for, worker_id
from tests.helpers.factories import make_job, make_result
from tests.helpers.finishing import hold_row
from tests.helpers.servers import wait_until

pytestmark = pytest.mark.postgresql_only  # SQLite claims each run in its own transaction

FOLLOWERS = 5
WRITERS = text("SELECT DISTINCT xmin::text FROM job_results WHERE id = ANY(:ids)")  # transaction ids


def pending_runs(db, count: int) -> list:
    with db.session() as session:
        job = make_job(session)
        return [make_result(session, job).id for _ in range(count)]


def claiming(db, run_id, claims: list) -> threading.Thread:
    """Claim ``run_id`` in a new thread; append (the thread's worker id, the claimed row or None)."""

    def run() -> None:
        claims.append((run_id, worker_id(), claim_and_load(db, run_id)))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def claim_behind_a_busy_claim(db, leader, followers) -> list:
    """Claim ``leader`` while its row is locked, then ``followers`` while that claim waits."""
    committer, claims = claims_for(db), []
    with db.engine.connect() as connection:
        hold_row(connection, leader)
        threads = [claiming(db, leader, claims)]
        wait_until(lambda: committer.busy, message="the leader to be claiming")
        threads += [claiming(db, run_id, claims) for run_id in followers]
        wait_until(lambda: committer.waiting == len(followers), message="the followers to queue")
        connection.rollback()
    for thread in threads:
        thread.join(timeout=60)
    return claims


def test_an_idle_worker_claims_a_run_alone_at_once(runtime):
    (run_id,) = pending_runs(runtime.db, 1)
    run = claim_and_load(runtime.db, run_id)
    assert run.id == run_id and run.class_path
    assert (claims_for(runtime.db).batches, claims_for(runtime.db).writes) == (1, 1)


def test_claims_made_while_a_claim_is_under_way_are_one_statement_naming_each_thread(runtime):
    leader, *followers = pending_runs(runtime.db, 1 + FOLLOWERS)
    claims = claim_behind_a_busy_claim(runtime.db, leader, followers)
    committer = claims_for(runtime.db)
    assert (committer.batches, committer.writes) == (2, 1 + FOLLOWERS)  # the leader's, then one for all
    assert {run_id for run_id, _, row in claims if row is not None} == {leader, *followers}
    assert all(row.id == run_id and row.class_path for run_id, _, row in claims)
    with runtime.db.engine.connect() as connection:
        assert len(connection.scalars(WRITERS, {"ids": followers}).all()) == 1
        stored = dict(connection.execute(
            select(JobResult.id, JobResult.worker_id).where(JobResult.id.in_([leader, *followers]))).all())
        statuses = set(connection.scalars(select(JobResult.status).where(JobResult.id.in_(followers))))
    assert statuses == {Status.STARTED}
    assert stored == {run_id: worker for run_id, worker, _ in claims}  # each row names its own thread
    assert len(set(stored.values())) == 1 + FOLLOWERS


def test_a_run_sent_twice_to_one_batch_is_claimed_once_by_the_thread_its_row_names(runtime):
    leader, twice = pending_runs(runtime.db, 2)
    claims = claim_behind_a_busy_claim(runtime.db, leader, [twice, twice])
    ours = [(worker, row) for run_id, worker, row in claims if run_id == twice]
    claimed = [(worker, row) for worker, row in ours if row is not None]
    assert len(ours) == 2 and len(claimed) == 1
    with runtime.db.engine.connect() as connection:
        row = connection.execute(
            select(JobResult.worker_id, JobResult.attempts).where(JobResult.id == twice)).one()
    assert row == (claimed[0][0], 1)


def test_a_keyed_run_in_a_batch_is_claimed_with_a_slot_of_its_key(runtime):
    leader, free = pending_runs(runtime.db, 2)
    with runtime.db.session() as session:
        keyed = make_result(session, make_job(session), concurrency_key="device:1", concurrency_limit=1).id
    claims = claim_behind_a_busy_claim(runtime.db, leader, [free, keyed])
    assert {run_id for run_id, _, row in claims if row is not None} == {leader, free, keyed}
    with runtime.db.engine.connect() as connection:
        assert connection.scalar(select(JobResult.status).where(JobResult.id == keyed)) == Status.STARTED


def keyed_pending(db, keys: list[str]) -> list:
    with db.session() as session:
        job = make_job(session)
        return [make_result(session, job, concurrency_key=key, concurrency_limit=1).id for key in keys]


def test_keyed_runs_of_distinct_keys_are_claimed_together_in_one_statement_with_their_slots(runtime):
    (leader,) = pending_runs(runtime.db, 1)
    keyed = keyed_pending(runtime.db, [f"device:{n}" for n in range(FOLLOWERS)])
    claims = claim_behind_a_busy_claim(runtime.db, leader, keyed)
    assert {run_id for run_id, _, row in claims if row is not None} == {leader, *keyed}
    assert (claims_for(runtime.db).batches, claims_for(runtime.db).writes) == (2, 1 + FOLLOWERS)
    with runtime.db.engine.connect() as connection:
        assert len(connection.scalars(WRITERS, {"ids": keyed}).all()) == 1  # one statement took them all
        slots = connection.execute(select(ConcurrencySlot.job_result_id, ConcurrencySlot.slot)).all()
    assert sorted(slots) == sorted((run_id, 0) for run_id in keyed)


def test_two_runs_of_one_key_in_a_batch_one_holds_it_and_the_other_waits(runtime, caplog):
    (leader,) = pending_runs(runtime.db, 1)
    first, second = keyed_pending(runtime.db, ["device:1", "device:1"])
    claims = claim_behind_a_busy_claim(runtime.db, leader, [first, second])
    assert "writes failed" not in caplog.text  # the slot both wanted was a conflict, not an error
    claimed = {run_id for run_id, _, row in claims if row is not None} - {leader}
    assert len(claimed) == 1
    with runtime.db.engine.connect() as connection:
        holders = connection.scalars(select(ConcurrencySlot.job_result_id)).all()
        other = connection.execute(select(JobResult.status, JobResult.blocked_by)
                                   .where(JobResult.id.in_({first, second} - claimed))).one()
    assert holders == list(claimed) and other == (Status.PENDING, holders[0])


LOCK_WAITS = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND wait_event_type = 'Lock'")


def test_a_batch_locks_its_runs_before_it_takes_a_slot_so_a_claim_holding_one_never_deadlocks(runtime):
    """A claim on the slow path holds its run's row, then takes a slot. A batch holding that run too
    must wait for the row before taking any slot: had it taken one for another run first, each
    would wait for the other (the race test met that deadlock)."""
    from service.runs.concurrency import KeyedRun, acquire
    from service.worker import claim as claiming

    low, high = sorted(keyed_pending(runtime.db, ["device:1", "device:1"]))  # the batch locks low first
    answers, errors = [], []

    def batch() -> None:
        try:
            answers.extend(claiming._claim_many(runtime.db, [
                claiming._claim_parameters(run_id, None) for run_id in (low, high)]))
        except Exception as exc:
            errors.append(exc)

    with runtime.db.engine.connect() as connection, connection.begin():
        row = connection.execute(claiming._CLAIM_KEYED, claiming._claim_parameters(high, None)).one()
        thread = threading.Thread(target=batch)
        thread.start()
        with runtime.db.engine.connect() as watcher:
            wait_until(lambda: watcher.scalar(LOCK_WAITS) == 1, message="the batch to wait for the row")
        held = acquire(connection, KeyedRun(row.id, row.concurrency_key, row.concurrency_limit,
                                            row.concurrency_policy, row.created, row.queue))
    thread.join(timeout=60)
    assert held is None and errors == []  # the slow claim took the slot; nobody was chosen to die
    assert answers == [claiming._TRY_ALONE, claiming._TRY_ALONE]  # the slot was taken, high was claimed
    with runtime.db.engine.connect() as connection:
        assert connection.scalars(select(ConcurrencySlot.job_result_id)).all() == [high]
