"""jobsync's side of bench/dispatch.py: the trivial job's row, installed jobs, enqueues, workers."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import select, text

from bench.common import Processes
from service.models import GitRepository, Job, JobResult, Status, utcnow
from service.runs.requests import enqueue_job

TRIVIAL_MODULE = "bench.trivial_jobs"
TRIVIAL_CLASS = "Trivial"
ENQUEUE_BATCH = 100
TRIVIAL_PATH = f"system/{TRIVIAL_MODULE}/{TRIVIAL_CLASS}"
FINAL_STATUSES = tuple(Status.FINAL)
_FINAL_LIST = ", ".join(f"'{status}'" for status in FINAL_STATUSES)
# Only the benchmark's runs: workers also queue the service's own system jobs (housekeeping).
FINISHED_QUERY = text(f"SELECT count(*) FROM job_results WHERE class_path = '{TRIVIAL_PATH}' "
                      f"AND status IN ({_FINAL_LIST})")


def create_trivial_job(db) -> uuid.UUID:
    """Install the benchmark's trivial job as a runnable ``system`` job; return its id."""
    with db.session() as session:
        job = Job(source="system", module_name=TRIVIAL_MODULE, job_class_name=TRIVIAL_CLASS,
                  class_path=TRIVIAL_PATH, name=TRIVIAL_CLASS,
                  grouping="bench", enabled=True, installed=True, has_sensitive_variables=False,
                  variables=[])
        session.add(job)
        session.flush()
        return job.id


def install_jobs(db, count: int, repositories: int) -> None:
    """Insert ``count`` installed Job rows spread over ``repositories`` repositories."""
    with db.session() as session:
        repos = []
        for index in range(repositories):
            repo = GitRepository(name=f"Bench {index}", slug=f"bench_repo_{index}",
                                 remote_url=f"https://git.example.invalid/bench/{index}.git",
                                 current_head="0" * 40)
            session.add(repo)
            repos.append(repo)
        session.flush()
        for index in range(count):
            repo = repos[index % repositories]
            module = f"{repo.slug}.jobs.module_{index // 10:03d}"
            class_name = f"Job{index:04d}"
            session.add(Job(source="git", repository_id=repo.id, module_name=module,
                            job_class_name=class_name, class_path=f"{repo.slug}/{module}/{class_name}",
                            name=class_name, grouping=module, enabled=True, installed=True,
                            has_sensitive_variables=False, commit="0" * 40, variables=[
                                {"name": "who", "type": "StringVar", "required": False, "default": "x"}]))


def job_count(db) -> int:
    with db.engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM jobs WHERE installed"))


def enqueue_many(runtime, job_id: uuid.UUID, count: int) -> None:
    """Request ``count`` runs the way the API does, ``ENQUEUE_BATCH`` per transaction."""
    queues = runtime.settings.all_queues
    remaining = count
    while remaining:
        batch = min(ENQUEUE_BATCH, remaining)
        with runtime.db.session() as session:
            job = session.get(Job, job_id)
            for _ in range(batch):
                enqueue_job(session, job, {}, known_queues=queues)
        remaining -= batch


def enqueue_one(runtime, job_id: uuid.UUID) -> tuple[uuid.UUID, datetime]:
    """Request one run; return its id and the moment the request began."""
    with runtime.db.session() as session:
        job = session.get(Job, job_id)
        requested = utcnow()
        result_id = enqueue_job(session, job, {}, known_queues=runtime.settings.all_queues).id
    return result_id, requested


def finished_count(connection) -> int:
    return connection.scalar(FINISHED_QUERY)


def failures(db) -> list[str]:
    with db.session() as session:
        rows = session.execute(
            select(JobResult.status, JobResult.error)
            .where(JobResult.class_path == TRIVIAL_PATH, JobResult.status != Status.SUCCESS).limit(3)).all()
    return [f"{status}: {error}" for status, error in rows]


@contextmanager
def run_watcher(db) -> Iterator[Callable[[uuid.UUID], tuple | None]]:
    """Yield a cheap look-up of a run's (status, started, completed), polled on one connection."""
    query = select(JobResult.status, JobResult.started, JobResult.completed)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield lambda result_id: connection.execute(query.where(JobResult.id == result_id)).first()


def note_send_times(broker) -> list[datetime]:
    """Record when each broker message leaves this process (after its row's commit)."""
    sent: list[datetime] = []
    original = broker.enqueue

    def enqueue(message, *, delay=None):
        sent.append(utcnow())
        return original(message, delay=delay)

    broker.enqueue = enqueue
    return sent


def forget_send_times(broker) -> None:
    del broker.enqueue  # the instance attribute set above; the class's method shows through again


def forget_runs(db, redis_client) -> None:
    """Empty the run tables and the broker between measurements."""
    with db.engine.begin() as connection:
        if db.is_sqlite:
            connection.execute(text("DELETE FROM job_log_entries"))
            connection.execute(text("DELETE FROM job_results"))
        else:
            connection.execute(text("TRUNCATE job_results CASCADE"))
    redis_client.flushdb()


def start_workers(processes: Processes, settings, *, count: int, threads: int, isolation: str) -> None:
    """Start ``count`` ``jobsync worker default`` processes with this run's settings."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("JOBSYNC_")}
    env.update(JOBSYNC_DATABASE_URL=settings.database_url, JOBSYNC_REDIS_URL=settings.redis_url,
               JOBSYNC_DATA_DIR=settings.data_dir, JOBSYNC_ISOLATION=isolation,
               JOBSYNC_METRICS_ENABLED=str(settings.metrics_enabled).lower())
    for _ in range(count):
        processes.start(f"jobsync-{isolation}",
                        [sys.executable, "-m", "service.cli", "worker", "default", "--threads", str(threads)],
                        env=env)
