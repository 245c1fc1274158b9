"""Sync-all benchmark: R repositories of J job classes each, synced by real workers (issue 20).

Registers R repositories (local bare git remotes of J/10 modules each, as ``bench/sync.py``
builds them), starts ``jobsync worker default`` processes on PostgreSQL and Redis, then times
``request_sync_all`` end to end: from the request until every repository's sync has ended.
Twice: the first sync-all (every job added) and a second with nothing changed. Where the time
went is shown from the sync runs' own rows: queue wait, run time, and the workers' CPU.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench import common  # noqa: E402
from bench.sync import repository_files  # noqa: E402
from tests.helpers.git import make_remote  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/jobsync_bench_sync_all"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
#: (repositories, jobs each) -> seconds the first sync-all must not exceed (issue 20).
TARGETS = {(100, 100): 30.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="PostgreSQL database (created if missing, emptied) [%(default)s]")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL,
                        help="Redis database, FLUSHed [%(default)s]")
    parser.add_argument("--repositories", type=int, default=100, help="repositories [%(default)s]")
    parser.add_argument("--jobs", type=int, default=100, help="job classes per repository [%(default)s]")
    parser.add_argument("--workers", type=int, default=2, help="worker processes [%(default)s]")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker [%(default)s]")
    parser.add_argument("--timeout", type=float, default=900,
                        help="give up after this many seconds [%(default)s]")
    return parser.parse_args()


def make_repositories(runtime, scratch: Path, count: int, jobs: int) -> list:
    from service.sources.repositories import add_repository

    files = repository_files(jobs)
    remotes = [make_remote(scratch / f"remote_{index:03d}", files)[1] for index in range(count)]
    with runtime.db.session() as session:
        return [
            add_repository(session, runtime.settings, name=f"Bench {index:03d}", slug=f"bench_r{index:03d}",
                           remote_url=str(remote)).id
            for index, remote in enumerate(remotes)
        ]


def start_workers(processes: common.Processes, settings, args) -> None:
    import os

    env = {name: value for name, value in os.environ.items() if not name.startswith("JOBSYNC_")}
    env.update(JOBSYNC_DATABASE_URL=settings.database_url, JOBSYNC_REDIS_URL=settings.redis_url,
               JOBSYNC_DATA_DIR=settings.data_dir, JOBSYNC_ALLOW_LOCAL_REPOSITORIES="true")
    for _ in range(args.workers):
        processes.start("jobsync-worker", [sys.executable, "-m", "service.cli", "worker", "default",
                                           "--threads", str(args.threads)], env=env)


def sync_all(runtime, processes: common.Processes, count: int, timeout: float) -> dict:
    """Request a sync of every repository and wait until each has ended; return the figures."""
    from service.models import JobResult, Status
    from service.sources.sync import SYNC_RUNNER
    from service.sources.sync_all import request_sync_all

    cpu_before = processes.cpu_seconds()
    began = time.perf_counter()
    with runtime.db.session() as session:
        ids = [result.id for result in request_sync_all(session)]
    final = tuple(Status.FINAL)

    def ended() -> bool:
        processes.check_alive()
        with runtime.db.session() as session:
            done = session.scalar(select(func.count()).select_from(JobResult).where(
                JobResult.id.in_(ids), JobResult.status.in_(final)))
        return done == len(ids)

    common.wait_until(ended, timeout=timeout, interval=0.05, what=f"{count} syncs to end")
    seconds = time.perf_counter() - began
    cpu = processes.cpu_seconds() - cpu_before
    with runtime.db.session() as session:
        rows = session.execute(select(JobResult.status, JobResult.created, JobResult.started,
                                      JobResult.completed).where(JobResult.id.in_(ids),
                                                                 JobResult.runner == SYNC_RUNNER)).all()
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row.status] = statuses.get(row.status, 0) + 1
    run = [(row.completed - row.started).total_seconds() for row in rows]
    wait = [(row.started - row.created).total_seconds() for row in rows]
    return {"seconds": seconds, "cpu": cpu, "statuses": statuses, "run": run, "wait": wait}


def job_counts(runtime) -> tuple[int, int]:
    from service.models import GitRepository, Job

    with runtime.db.session() as session:
        installed = session.scalar(select(func.count()).select_from(Job).where(
            Job.source == "git", Job.installed.is_(True)))
        synced = session.scalar(select(func.count()).select_from(GitRepository).where(
            GitRepository.current_head.is_not(None)))
    return installed, synced


def print_pass(name: str, figures: dict, runtime, count: int) -> None:
    run, wait = figures["run"], figures["wait"]
    installed, synced = job_counts(runtime)
    statuses = ", ".join(f"{status} {number}" for status, number in sorted(figures["statuses"].items()))
    print(f"  {name:22} {figures['seconds']:7.2f} s   {count / figures['seconds']:5.1f} syncs/s   "
          f"run p50 {common.median(run):5.2f} s  max {max(run):5.2f} s   "
          f"wait max {max(wait):6.2f} s   worker CPU {figures['cpu']:6.1f} s "
          f"({figures['cpu'] / count:4.2f} s/sync)   {statuses}   "
          f"repos synced {synced}, jobs installed {installed}   load {common.load_average()}", flush=True)


def main() -> None:
    args = parse_args()
    began = time.perf_counter()
    from service import bootstrap
    from service.config import load_settings
    from service.infra.presence import live_workers

    with tempfile.TemporaryDirectory(prefix="jobsync-sync-all-bench-") as scratch_name:
        scratch = Path(scratch_name)
        common.fresh_database(args.database_url)
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
        common.print_header("jobsync sync-all benchmark", {
            "database": common.redact(args.database_url),
            "redis": common.redact(args.redis_url),
            "servers": ", ".join(common.server_versions(args.database_url, args.redis_url)),
            "workers": f"{args.workers} x {args.threads} threads",
            "load": common.load_average(),
        })
        settings = load_settings({"database_url": args.database_url, "redis_url": args.redis_url,
                                  "data_dir": str(scratch / "data"), "allow_local_repositories": True},
                                 environ={})
        runtime = bootstrap.configure(settings)
        started = time.perf_counter()
        make_repositories(runtime, scratch, args.repositories, args.jobs)
        print(f"  {args.repositories} repositories of {args.jobs} jobs made in "
              f"{time.perf_counter() - started:.1f} s (not measured)", flush=True)
        log_dir = scratch / "logs"
        log_dir.mkdir()
        figures = {}
        with common.Processes(log_dir) as processes:
            start_workers(processes, settings, args)
            common.wait_until(lambda: len(live_workers(runtime)) >= args.workers, timeout=120,
                              interval=0.1, what="the workers to start")
            for name in ("first sync-all", "no-change sync-all"):
                figures[name] = sync_all(runtime, processes, args.repositories, args.timeout)
                print_pass(name, figures[name], runtime, args.repositories)
        bootstrap.reset()
    print("\n== Targets")
    limit = TARGETS.get((args.repositories, args.jobs))
    seconds = figures["first sync-all"]["seconds"]
    if limit is None:
        print(f"  no target for {args.repositories} x {args.jobs} (issue 20: 100 x 100 <= 30 s)")
    else:
        print(f"  sync-all {args.repositories} x {args.jobs}  <= {limit:g} s   {seconds:6.2f} s   "
              f"{common.verdict(seconds <= limit)}")
    print(f"\nload after: {common.load_average()}")
    print(f"total time {time.perf_counter() - began:.0f} s; reproduce with: {common.command_line()}")


if __name__ == "__main__":
    main()
