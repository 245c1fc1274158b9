"""Hammer one concurrency key from many threads in one process: the body of the race test's workers.

Each thread claims whichever runs of the key are still PENDING, as duplicate and re-sent messages
would, and while it holds one counts the key's STARTED runs (the slots and the status commit
together, so that count is the number of holders at that instant).
"""

from __future__ import annotations

import random
import threading
import time
import uuid

from sqlalchemy import func, select

from service import bootstrap
from service.config import load_settings
from service.models import JobResult, Status
from service.worker.claim import claim_and_load
from service.worker.job_process import ChildOutcome
from service.worker.outcome import finish
from service.worker.recorder import RunRecorder

LOOKS_WHILE_HOLDING = 3


def _holders(db, key: str) -> int:
    with db.engine.connect() as connection:
        return connection.scalar(
            select(func.count()).select_from(JobResult)
            .where(JobResult.concurrency_key == key, JobResult.status == Status.STARTED)
        )


def _pending(db, key: str, first: int) -> list[uuid.UUID]:
    """The oldest PENDING runs of the key: those a release would wake, and some it would not."""
    with db.engine.connect() as connection:
        return list(connection.scalars(
            select(JobResult.id).where(JobResult.concurrency_key == key, JobResult.status == Status.PENDING)
            .order_by(JobResult.created).limit(first)
        ))


def _thread(db, key: str, limit: int, deadline: float, report: dict, lock: threading.Lock) -> None:
    most, ran = 0, 0
    while time.monotonic() < deadline:
        pending = _pending(db, key, 2 * limit + 2)
        if not pending:
            break
        run_id = random.choice(pending)
        if claim_and_load(db, run_id) is None:
            continue
        ran += 1
        for _ in range(LOOKS_WHILE_HOLDING):
            most = max(most, _holders(db, key))
        finish(db, run_id, ChildOutcome(Status.SUCCESS), RunRecorder(db, run_id), periodic=False)
    with lock:
        report["most"] = max(report["most"], most)
        report["ran"] += ran


def hammer(database_url: str, data_dir: str, key: str, limit: int, threads: int, seconds: float) -> dict:
    """Run ``threads`` claimers on ``key`` until its runs are done; return the most holders seen."""
    settings = load_settings({"database_url": database_url, "data_dir": data_dir}, environ={})
    runtime = bootstrap.configure(settings)
    deadline = time.monotonic() + seconds
    report, lock = {"most": 0, "ran": 0}, threading.Lock()
    workers = [threading.Thread(target=_thread, args=(runtime.db, key, limit, deadline, report, lock))
               for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    bootstrap.reset()
    return report
