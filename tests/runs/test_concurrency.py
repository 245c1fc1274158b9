"""Concurrency keys: held in the database while a run is STARTED, released on every ending, waited for
in order without a worker thread, skipped or taken over by policy; the singleton is the special case."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from service.errors import Conflict
from service.models import ConcurrencySlot, Job, JobResult, Status, utcnow
from service.runs import concurrency
from service.runs.requests import enqueue_job, request_cancel
from service.scheduling.recovery import fail_lost_runs, send_waiting_runs
from service.worker.claim import claim_and_load
from service.worker.job_process import ChildOutcome
from service.worker.outcome import finish
from service.worker.recorder import RunRecorder
from tests.helpers.factories import make_job
from tests.helpers.scheduling import sent_ids

QUEUES = ("high", "default", "low")
DEVICE = [{"name": "device", "type": "StringVar", "required": True, "default": None, "label": "Device",
           "description": "", "min_length": None, "max_length": None, "regex": None}]


def keyed_job(runtime, **fields) -> uuid.UUID:
    values = {"concurrency_key": "device:{device}", "variables": DEVICE, **fields}
    with runtime.db.session() as session:
        return make_job(session, **values).id


def request(runtime, job_id, device="r1", **options) -> uuid.UUID:
    with runtime.db.session() as session:
        job = session.get(Job, job_id)
        return enqueue_job(session, job, {"device": device}, known_queues=QUEUES, **options).id


def end(runtime, run_id, status=Status.SUCCESS) -> None:
    finish(runtime.db, run_id, ChildOutcome(status), RunRecorder(runtime.db, run_id), periodic=False)


def reload(runtime, run_id) -> JobResult:
    with runtime.db.session() as session:
        return session.get(JobResult, run_id)


def holders(runtime, key="device:r1") -> list[uuid.UUID]:
    with runtime.db.session() as session:
        return list(session.scalars(select(ConcurrencySlot.job_result_id).where(ConcurrencySlot.key == key)))


def test_a_run_holds_its_filled_in_key_while_started_and_releases_it_when_it_ends(runtime):
    first = request(runtime, keyed_job(runtime))
    assert reload(runtime, first).concurrency_key == "device:r1"
    assert claim_and_load(runtime.db, first).concurrency_key == "device:r1"
    assert holders(runtime) == [first]
    end(runtime, first)
    assert holders(runtime) == [] and reload(runtime, first).status == Status.SUCCESS


def test_a_second_run_of_a_busy_key_waits_pending_without_a_thread_and_starts_when_it_frees(runtime):
    job = keyed_job(runtime)
    first, second = request(runtime, job), request(runtime, job)
    sent_ids(runtime)
    assert claim_and_load(runtime.db, first) is not None
    assert claim_and_load(runtime.db, second) is None  # the worker thread returns at once
    waiting = reload(runtime, second)
    assert waiting.status == Status.PENDING and waiting.blocked_by == first
    assert waiting.status_label == f"PENDING (waiting for device:r1 held by {first})"
    assert send_waiting_runs(runtime, utcnow() + timedelta(hours=1)) == 0  # woken, never resent blindly
    end(runtime, first)
    assert sent_ids(runtime) == [second]  # the release woke it
    assert claim_and_load(runtime.db, second) is not None
    assert reload(runtime, second).waiting_for is None and holders(runtime) == [second]


def test_runs_with_different_keys_run_together_and_jobs_sharing_a_key_serialise(runtime):
    job, other_job = keyed_job(runtime), keyed_job(runtime, concurrency_key="device:{device}")
    r1, r2 = request(runtime, job, "r1"), request(runtime, job, "r2")
    also_r1 = request(runtime, other_job, "r1")
    assert claim_and_load(runtime.db, r1) and claim_and_load(runtime.db, r2)
    assert claim_and_load(runtime.db, also_r1) is None
    assert reload(runtime, also_r1).blocked_by == r1


def test_waiting_runs_start_in_the_order_they_came(runtime):
    job = keyed_job(runtime)
    holder, older, newer = (request(runtime, job) for _ in range(3))
    claim_and_load(runtime.db, holder)
    assert claim_and_load(runtime.db, older) is None and claim_and_load(runtime.db, newer) is None
    sent_ids(runtime)
    end(runtime, holder)
    assert sent_ids(runtime) == [older]
    assert claim_and_load(runtime.db, newer) is None  # a newer run may not jump the queue
    assert claim_and_load(runtime.db, older) is not None


def test_a_limit_of_two_lets_two_hold_the_key_and_the_third_wait(runtime):
    job = keyed_job(runtime, concurrency_limit=2)
    runs = [request(runtime, job) for _ in range(3)]
    assert [claim_and_load(runtime.db, run) is not None for run in runs] == [True, True, False]
    assert sorted(holders(runtime)) == sorted(runs[:2])


def test_policy_skip_ends_the_second_run_revoked_naming_the_key_and_its_holder(runtime):
    job = keyed_job(runtime, concurrency_policy="skip")
    first, second = request(runtime, job), request(runtime, job)
    claim_and_load(runtime.db, first)
    assert claim_and_load(runtime.db, second) is None
    skipped = reload(runtime, second)
    assert skipped.status == Status.REVOKED
    assert skipped.error == f"Skipped: concurrency key device:r1 is held by run {first}."


def test_policy_cancel_running_asks_the_holder_to_stop_and_then_runs(runtime):
    job = keyed_job(runtime, concurrency_policy="cancel_running")
    first, second = request(runtime, job), request(runtime, job)
    claim_and_load(runtime.db, first)
    assert claim_and_load(runtime.db, second) is None
    assert reload(runtime, first).cancel_requested and reload(runtime, second).blocked_by == first
    sent_ids(runtime)
    end(runtime, first, Status.REVOKED)  # the holder's worker saw the request and stopped
    assert sent_ids(runtime) == [second] and claim_and_load(runtime.db, second) is not None


def test_a_lost_worker_releases_the_key_and_wakes_the_waiter(runtime):
    job = keyed_job(runtime)
    first, second = request(runtime, job), request(runtime, job)
    claim_and_load(runtime.db, first)
    claim_and_load(runtime.db, second)
    sent_ids(runtime)
    later = utcnow() + timedelta(seconds=runtime.settings.worker_lost_seconds + 1)
    assert fail_lost_runs(runtime, later) == 1
    assert reload(runtime, first).status == Status.FAILURE and holders(runtime) == []
    assert sent_ids(runtime) == [second]


def test_a_waiting_run_can_be_cancelled_and_holds_nothing(runtime):
    job = keyed_job(runtime)
    first, second = request(runtime, job), request(runtime, job)
    claim_and_load(runtime.db, first)
    claim_and_load(runtime.db, second)
    with runtime.db.session() as session:
        assert request_cancel(session, second).status == Status.REVOKED
    sent_ids(runtime)
    end(runtime, first)
    assert sent_ids(runtime) == [] and holders(runtime) == []


def test_the_scheduler_frees_a_slot_left_by_an_ended_run_and_wakes_a_stranded_waiter(runtime):
    job = keyed_job(runtime)
    first, second = request(runtime, job), request(runtime, job)
    claim_and_load(runtime.db, first)
    claim_and_load(runtime.db, second)
    with runtime.db.session() as session:  # an ending that bypassed release (say, an outage mid-finish)
        session.execute(update(JobResult).where(JobResult.id == first).values(status=Status.FAILURE))
    sent_ids(runtime)
    assert concurrency.wake_waiting_runs(runtime, utcnow()) == 2  # one slot freed, one waiter woken
    assert holders(runtime) == [] and sent_ids(runtime) == [second]


def test_a_waiter_whose_wake_up_was_lost_is_woken_again_after_the_resend_delay(runtime):
    job = keyed_job(runtime)
    first, second = request(runtime, job), request(runtime, job)
    claim_and_load(runtime.db, first)
    claim_and_load(runtime.db, second)
    end(runtime, first)
    sent_ids(runtime)  # the wake-up message is lost
    now = utcnow()
    assert concurrency.wake_waiting_runs(runtime, now) == 0  # too soon: it may still be on its way
    later = now + timedelta(seconds=runtime.settings.resend_pending_after_seconds + 1)
    assert concurrency.wake_waiting_runs(runtime, later) == 1 and sent_ids(runtime) == [second]


def test_a_singleton_is_key_class_path_limit_one_policy_skip_and_still_refuses_a_second_request(runtime):
    job_id = keyed_job(runtime, is_singleton=True, concurrency_key=None)
    first = request(runtime, job_id)
    with pytest.raises(Conflict):
        request(runtime, job_id)
    racer = request(runtime, job_id, ignore_singleton_lock=True)
    with runtime.db.session() as session:  # a request that passed the check in a race with the first
        class_path = session.get(Job, job_id).class_path
        session.execute(update(JobResult).where(JobResult.id == racer).values(
            concurrency_key=class_path, concurrency_limit=1, concurrency_policy="skip"))
    row = reload(runtime, first)
    assert (row.concurrency_key, row.concurrency_limit, row.concurrency_policy) == (class_path, 1, "skip")
    claim_and_load(runtime.db, first)
    assert claim_and_load(runtime.db, racer) is None and reload(runtime, racer).status == Status.REVOKED


def test_the_admin_override_runs_without_the_key(runtime):
    job = keyed_job(runtime)
    first = request(runtime, job)
    claim_and_load(runtime.db, first)
    forced = request(runtime, job, ignore_singleton_lock=True)
    assert reload(runtime, forced).concurrency_key is None
    assert claim_and_load(runtime.db, forced) is not None


def test_a_run_without_a_key_never_touches_the_slots(runtime):
    with runtime.db.session() as session:
        plain = make_job(session).id
    with runtime.db.session() as session:
        run = enqueue_job(session, session.get(Job, plain), known_queues=QUEUES).id
    assert claim_and_load(runtime.db, run) is not None
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ConcurrencySlot)) == 0
