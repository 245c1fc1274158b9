"""A run with a concurrency key costs what a run without one does on PostgreSQL: its claim takes the
slot in the claim's one statement, and its ending frees it in the batched ending's one statement,
waking waiters only when there are some. Order, limits and batching stay what they were."""

from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import event, insert, select, text

from service.models import ConcurrencySlot, JobResult, Status, utcnow
from service.worker.claim import claim_and_load
from service.worker.outcome import committer_for, finish
from tests.helpers.finishing import finishing, hold_row, started_runs
from tests.helpers.scheduling import sent_ids
from tests.helpers.servers import wait_until
from tests.runs.test_concurrency import end, holders, keyed_job, reload, request

BURST = 2000
LOCK_WAITS = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                  " AND datname = current_database()")


@contextmanager
def statements(db):
    """Collect the SQL statements sent to the database meanwhile."""
    sent: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def lock_waits(db) -> int:
    """Sessions of the test database waiting for a lock (read afresh: a transaction caches them)."""
    with db.engine.connect() as connection:
        return connection.scalar(LOCK_WAITS)


def slots_of(runtime, run_id) -> list[int]:
    with runtime.db.session() as session:
        return list(session.scalars(
            select(ConcurrencySlot.slot).where(ConcurrencySlot.job_result_id == run_id)))


@pytest.mark.postgresql_only  # SQLite claims in a transaction of several statements
def test_a_keyed_run_with_a_free_slot_is_claimed_in_one_statement_and_ended_in_one(runtime):
    run = request(runtime, keyed_job(runtime))
    with statements(runtime.db) as claiming:
        assert claim_and_load(runtime.db, run).concurrency_key == "device:r1"
    assert len(claiming) == 1 and holders(runtime) == [run]
    with statements(runtime.db) as ending:
        end(runtime, run)
    assert len(ending) == 1  # nobody waits for the key: no wake-up is looked for
    assert holders(runtime) == [] and reload(runtime, run).status == Status.SUCCESS


def test_a_new_run_finding_a_slot_free_does_not_jump_ahead_of_an_older_waiter(runtime):
    job = keyed_job(runtime)
    holder, older = request(runtime, job), request(runtime, job)
    claim_and_load(runtime.db, holder)
    assert claim_and_load(runtime.db, older) is None  # waits
    end(runtime, holder)  # the slot is free; the older waiter is woken but has not claimed yet
    newer = request(runtime, job)  # never waited: only its claim's check keeps it behind
    assert claim_and_load(runtime.db, newer) is None
    assert reload(runtime, newer).blocked_by is not None and holders(runtime) == []
    assert claim_and_load(runtime.db, older) is not None and holders(runtime) == [older]


def test_the_ending_wakes_the_oldest_waiter_once_its_slot_is_free(runtime):
    job = keyed_job(runtime, concurrency_limit=2)
    first, second, third, fourth = (request(runtime, job) for _ in range(4))
    assert [claim_and_load(runtime.db, run) is not None for run in (first, second, third, fourth)] == [
        True, True, False, False]
    sent_ids(runtime)
    end(runtime, second)
    assert sent_ids(runtime) == [third] and holders(runtime) == [first]
    assert claim_and_load(runtime.db, third) is not None and sorted(slots_of(runtime, third)) == [1]


@pytest.mark.postgresql_only  # the race needs concurrent writers
def test_two_claims_of_one_run_racing_a_release_leave_it_one_slot(runtime):
    """Without the run's row lock, the second claimer would take the slot freed meanwhile too."""
    job = keyed_job(runtime, concurrency_limit=2)
    other, run = request(runtime, job), request(runtime, job)
    claim_and_load(runtime.db, other)  # holds slot 0
    claimed = []

    def claim() -> None:  # at a given moment: alone, not queued behind the other in a group claim
        claimed.append(claim_and_load(runtime.db, run, now=utcnow()))

    with runtime.db.engine.connect() as blocker:
        hold_row(blocker, run)
        threads = [threading.Thread(target=claim)]
        threads[0].start()
        wait_until(lambda: lock_waits(runtime.db) == 1, message="the first claim to wait")
        end(runtime, other)  # slot 0 is free for a claim that starts now
        threads.append(threading.Thread(target=claim))
        threads[1].start()
        wait_until(lambda: lock_waits(runtime.db) == 2, message="the second claim to wait")
        blocker.commit()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(row is not None for row in claimed) == [False, True]
    assert len(slots_of(runtime, run)) == 1 and holders(runtime) == [run]


def keyed_started_runs(runtime, count: int) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """``count`` STARTED runs each holding a key of its own, and one waiter for each key."""
    job = keyed_job(runtime)
    holding = [request(runtime, job, f"d{n}") for n in range(count)]
    waiting = [request(runtime, job, f"d{n}") for n in range(count)]
    for run in holding:
        assert claim_and_load(runtime.db, run) is not None
    for run in waiting:
        assert claim_and_load(runtime.db, run) is None
    return holding, waiting


def test_a_batch_mixing_keyed_and_unkeyed_endings_frees_the_slots_and_wakes_the_waiters(runtime):
    leader, *plain = started_runs(runtime.db, 3)
    keyed, waiting = keyed_started_runs(runtime, 2)
    lone_key = request(runtime, keyed_job(runtime), "alone")  # a key nobody waits for
    claim_and_load(runtime.db, lone_key)
    followers = [*plain, *keyed, lone_key]
    sent_ids(runtime)
    committer, errors = committer_for(runtime.db), {}

    def record(run_id, outcome, recorder):
        finish(runtime.db, run_id, outcome, recorder, periodic=False, keyed=run_id not in plain)

    with runtime.db.engine.connect() as connection:
        hold_row(connection, leader)  # the leader's transaction waits: the others queue behind it
        threads = [finishing(runtime.db, leader, 0, errors, record)]
        wait_until(lambda: committer.busy, message="the leader to be committing")
        threads += [finishing(runtime.db, run_id, 1, errors, record) for run_id in followers]
        wait_until(lambda: committer.waiting == len(followers), message="the followers to queue")
        connection.rollback()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == {} and (committer.batches, committer.writes) == (2, 1 + len(followers))
    with runtime.db.session() as session:
        ended = session.scalars(select(JobResult.status).where(JobResult.id.in_([leader, *followers])))
        assert set(ended) == {Status.SUCCESS}
        assert session.scalars(select(ConcurrencySlot)).all() == []
    assert sorted(sent_ids(runtime)) == sorted(waiting)
    for run in waiting:
        assert claim_and_load(runtime.db, run) is not None


def plan(connection, statement, parameters) -> str:
    if hasattr(statement, "text"):  # textual SQL
        explained = connection.execute(text(f"EXPLAIN {statement.text}"), parameters)
    else:
        compiled = statement.compile(dialect=connection.dialect)
        explained = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.construct_params(parameters))
    return "\n".join(explained.scalars().all())


@pytest.mark.postgresql_only  # the plans in question are PostgreSQL's
@pytest.mark.parametrize("statistics", ["from before the burst", "fresh"])
def test_behind_a_burst_of_new_runs_the_keyed_claim_and_ending_read_only_their_rows(runtime, statistics):
    """Whether autovacuum has analysed the burst yet or not, the claim must find its run by primary key and
    the ending ask for waiters through the waiting runs' index, never walking the PENDING runs."""
    from service.worker import claim as claiming
    from service.worker import outcome

    job = keyed_job(runtime)
    with runtime.db.session() as session:
        session.execute(insert(JobResult), [
            {"id": uuid.uuid4(), "job_id": job, "name": "burst", "class_path": "x.Burst", "input_data": {},
             "queue": "default", "commit": "", "status": Status.PENDING, "concurrency_key": f"device:b{n}",
             "concurrency_limit": 1, "concurrency_policy": "queue"} for n in range(BURST)])
    if statistics == "fresh":
        with runtime.db.engine.begin() as connection:
            connection.execute(text("ANALYZE job_results"))
    run = request(runtime, job)
    with runtime.db.engine.connect() as connection:
        claim_plan = plan(connection, claiming._CLAIM_RETURNING_RUN, claiming._claim_parameters(run, None))
        ending_plan = plan(connection, outcome._STORE_PLAIN_ENDINGS, {
            "log_ids": [], "log_runs": [], "levels": [], "groupings": [], "messages": [], "objects": [],
            "created": [], "ids": [run], "statuses": ["SUCCESS"], "completed": [None], "results": ["null"],
            "errors": [None], "tracebacks": [None], "counts": ["{}"]})
    assert "ix_job_results_status_created" not in claim_plan and "pk_job_results" in claim_plan
    # The planner may join the freed keys to the waiting runs by lookup or by merge; either way it
    # reads the waiting runs' index, not the status index and not the table.
    through_index = "ix_job_results_waiting on job_results waiter"
    assert through_index in ending_plan
    assert "on job_results waiter" not in ending_plan.replace(through_index, "")
