"""Scale-out benchmark: worker hosts that share only the database and the git remote (issue 21).

Each simulated host is a runtime on the same database with a data dir of its own; the remote is a
bare git repository on local disk holding a small jobs package (two job classes).

- fresh host: the added start latency of a run on a host that never saw the repository (create
  the mirror, fetch, extract the pinned commit), one new data dir per sample;
- warm host: the same call when the checkout is already there;
- end to end: a whole run (claim, checkout, run in a thread, record) on a fresh and a warm host;
- sync throughput: 20 repositories, each moved on by one commit, re-synced at once by 3 workers
  (threads, each with its own data dir; discovery runs in a child process as in production).
"""

from __future__ import annotations

import argparse
import dataclasses
import queue
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench import common  # noqa: E402
from tests.helpers.git import commit, make_remote, push, write_files  # noqa: E402
from tests.helpers.job_sources import SELF_REGISTERING  # noqa: E402

TARGETS = {"fresh host p50 (ms)": 200.0, "warm host p50 (ms)": 5.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=common.DEFAULT_DATABASE_URL,
                        help="PostgreSQL database (created if missing, emptied) [%(default)s]")
    parser.add_argument("--sqlite", action="store_true", help="use a SQLite file instead of PostgreSQL")
    parser.add_argument("--samples", type=int, default=20, help="fresh and warm samples [%(default)s]")
    parser.add_argument("--repositories", type=int, default=20, help="repositories re-synced [%(default)s]")
    parser.add_argument("--workers", type=int, default=3, help="sync workers [%(default)s]")
    return parser.parse_args()


def host(runtime, data_dir: Path):
    return dataclasses.replace(runtime, settings=runtime.settings.replace(data_dir=str(data_dir)))


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p50, p90 = statistics.median(ordered) * 1000, common.percentile(ordered, 0.9) * 1000
    return f"p50 {p50:8.3f} ms   p90 {p90:8.3f} ms   max {ordered[-1] * 1000:8.3f} ms   (n={len(ordered)})"


def add_synced_repository(runtime, scratch: Path, name: str):
    from service.sources.repositories import add_repository
    from service.sources.sync import sync_repository

    work, bare = make_remote(scratch / "git" / name, SELF_REGISTERING)
    with runtime.db.session() as session:
        repository = add_repository(session, runtime.settings, name=name, slug=name, remote_url=str(bare))
    sync_repository(runtime, repository.id)
    return work, repository.id


def materialisation(runtime, scratch: Path, samples: int) -> dict[str, list[float]]:
    from service.models import GitRepository
    from service.sources.materialise import ensure_run_checkout

    _, repository_id = add_synced_repository(runtime, scratch, "demo")
    with runtime.db.session() as session:
        head = session.get(GitRepository, repository_id).current_head
    fresh, warm = [], []
    for index in range(samples):
        worker = host(runtime, scratch / f"fresh-{index}")
        began = time.perf_counter()
        ensure_run_checkout(worker.db, worker.settings, repository_id, "demo", head)
        fresh.append(time.perf_counter() - began)
        began = time.perf_counter()
        ensure_run_checkout(worker.db, worker.settings, repository_id, "demo", head)
        warm.append(time.perf_counter() - began)
    return {"fresh": fresh, "warm": warm}


def end_to_end(runtime, scratch: Path, samples: int) -> dict[str, list[float]]:
    from service.models import Job
    from service.runs.requests import enqueue_job
    from service.worker.engine import run_job_result

    with runtime.db.session() as session:
        job = session.scalar(select(Job).where(Job.class_path == "demo/jobs.hello/Hello"))
        job.enabled = True
    times: dict[str, list[float]] = {"fresh": [], "warm": []}
    for index in range(samples):
        worker = host(runtime, scratch / f"e2e-{index}")
        for kind in ("fresh", "warm"):
            with runtime.db.session() as session:
                job = session.scalar(select(Job).where(Job.class_path == "demo/jobs.hello/Hello"))
                queues = runtime.settings.all_queues
                result_id = enqueue_job(session, job, {"who": "bench"}, known_queues=queues).id
            began = time.perf_counter()
            run_job_result(worker, str(result_id))
            times[kind].append(time.perf_counter() - began)
    return times


def sync_throughput(runtime, scratch: Path, repositories: int, workers: int) -> tuple[float, int]:
    from service.models import GitRepository
    from service.sources.sync import sync_repository

    made = [add_synced_repository(runtime, scratch, f"repo_{index:02d}") for index in range(repositories)]
    hosts = [host(runtime, scratch / f"sync-worker-{index}") for index in range(workers)]
    for worker in hosts:  # every worker has synced before: its mirrors exist (no-change syncs)
        for _, repository_id in made:
            sync_repository(worker, repository_id)
    for work, _ in made:
        write_files(work, {"NOTES.md": "moved on\n"})
        commit(work)
        push(work, "main")
    todo: queue.Queue = queue.Queue()
    for _, repository_id in made:
        todo.put(repository_id)
    failures: list[BaseException] = []

    def drain(worker) -> None:
        while True:
            try:
                repository_id = todo.get_nowait()
            except queue.Empty:
                return
            try:
                sync_repository(worker, repository_id)
            except BaseException as exc:  # reported below
                failures.append(exc)

    threads = [threading.Thread(target=drain, args=(worker,)) for worker in hosts]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    with runtime.db.session() as session:
        query = select(GitRepository.current_head).where(GitRepository.slug.like("repo_%"))
        moved = len(set(session.scalars(query)))
    if failures:
        print(f"  {len(failures)} syncs failed, e.g. {failures[0]!r}")
    return seconds, moved


def main() -> None:
    args = parse_args()
    from service import bootstrap
    from service.config import load_settings

    with tempfile.TemporaryDirectory(prefix="jobsync-hosts-bench-") as scratch_name:
        scratch = Path(scratch_name)
        database_url = f"sqlite:///{scratch / 'bench.sqlite3'}" if args.sqlite else args.database_url
        common.fresh_database(database_url)
        common.print_header("jobsync scale-out benchmark (hosts sharing only database and remote)", {
            "database": common.redact(database_url),
            "servers": ", ".join(common.server_versions(database_url)) or "SQLite",
            "load": common.load_average(),
        })
        settings = load_settings({"database_url": database_url, "redis_url": None, "isolation": "thread",
                                  "data_dir": str(scratch / "web"), "allow_local_repositories": True},
                                 environ={})
        runtime = bootstrap.configure(settings)
        checkout = materialisation(runtime, scratch, args.samples)
        print("run start: materialising the pinned commit (mirror + fetch + extract on a fresh host)")
        print(f"  fresh host  {ms(checkout['fresh'])}")
        print(f"  warm host   {ms(checkout['warm'])}")
        runs = end_to_end(runtime, scratch, args.samples)
        print("whole run (claim, checkout, run in a thread, record), same job")
        print(f"  fresh host  {ms(runs['fresh'])}")
        print(f"  warm host   {ms(runs['warm'])}")
        added = statistics.median(runs["fresh"]) - statistics.median(runs["warm"])
        print(f"  a fresh host adds {added * 1000:.1f} ms at p50")
        seconds, moved = sync_throughput(runtime, scratch, args.repositories, args.workers)
        print(f"sync throughput: {args.repositories} repositories re-synced at once, {args.workers} workers")
        print(f"  {seconds:.2f} s, {args.repositories / seconds:.1f} syncs/s; distinct new heads: {moved}")
        bootstrap.reset()
    figures = {"fresh host p50 (ms)": statistics.median(checkout["fresh"]) * 1000,
               "warm host p50 (ms)": statistics.median(checkout["warm"]) * 1000}
    print("\ntargets (issue 21):")
    for name, target in TARGETS.items():
        verdict = common.verdict(figures[name] <= target)
        print(f"  {name:22} {figures[name]:9.3f}  target <= {target:g}  {verdict}")
    print(f"\nload after: {common.load_average()}")
    print(f"reproduce with: {common.command_line()}")


if __name__ == "__main__":
    main()
