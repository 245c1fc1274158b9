"""Concurrency keys under races: many threads in several processes never exceed a key's limit."""

from __future__ import annotations

import concurrent.futures
import multiprocessing

import pytest
from sqlalchemy import select

from service.models import ConcurrencySlot, Job, JobResult, Status
from service.runs.requests import enqueue_job
from tests.helpers.factories import make_job
from tests.helpers.hammer import hammer

PROCESSES, THREADS, RUNS = 3, 4, 24
DEVICE = [{"name": "device", "type": "StringVar", "required": True, "default": None}]


@pytest.mark.postgresql_only  # SQLite serialises every writer: the race only exists on PostgreSQL
@pytest.mark.parametrize("limit", [1, 3])
def test_threads_in_several_processes_never_exceed_the_limit_and_every_run_runs_once(
    runtime, database_url, tmp_path, limit
):
    with runtime.db.session() as session:
        job = make_job(session, concurrency_key="device:{device}", concurrency_limit=limit, variables=DEVICE)
        for _ in range(RUNS):
            enqueue_job(session, session.get(Job, job.id), {"device": "r1"}, known_queues=("default",))
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        futures = [
            pool.submit(hammer, database_url, str(tmp_path / f"p{n}"), "device:r1", limit, THREADS, 120.0)
            for n in range(PROCESSES)
        ]
        reports = [future.result() for future in futures]
    assert max(report["most"] for report in reports) <= limit
    assert sum(report["ran"] for report in reports) == RUNS  # each run ran exactly once
    with runtime.db.session() as session:
        assert set(session.scalars(select(JobResult.status))) == {Status.SUCCESS}
        assert session.scalars(select(ConcurrencySlot)).all() == []
    if limit > 1:  # the limit was actually reached, so the test had teeth
        assert max(report["most"] for report in reports) == limit
