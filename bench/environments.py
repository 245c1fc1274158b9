"""Dependency environments benchmark: build, unchanged resync, run start latency, disk sharing.

Everything comes from local wheels written by the benchmark (no index, no network) and runs in
this process on the embedded default (SQLite file, in-process broker), as one worker would:

- the first build of a 5-package set (resolve + install with uv into an empty data dir);
- what an unchanged declaration adds to a resync (``prepare_for_checkout`` on a new commit with
  the same requirements.txt), and the whole resync with and without a declaration;
- a run's enqueue-to-start (job code's first line) with a cached environment against none,
  p50 and p99, for back-to-back runs of one job (child reused) and alternating jobs (a fresh child
  every run, so the environment is put on sys.path every time). The two repositories' job code is
  the same and imports none of the packages: the figure is what the environment itself costs (a
  job's own imports cost the same wherever they come from). Runs with and without an environment
  interleave, each kind on its own worker thread (so its own child), to share the machine's noise;
- disk used by 10 commits that share one set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench import common  # noqa: E402
from tests.helpers.git import commit, make_remote, push, write_files  # noqa: E402
from tests.helpers.wheels import make_wheel  # noqa: E402

PACKAGES = ("alpha", "bravo", "charlie", "delta", "echo")
TARGETS = {"build": 10.0, "resync_added_ms": 20.0, "start_added_p50_ms": 5.0}
JOB = """\
import time

from service.jobs import Job, register_jobs


class First(Job):
    class Meta:
        has_sensitive_variables = False  # else no child is ever reused

    def run(self):
        return time.time()


class Second(Job):
    class Meta:
        has_sensitive_variables = False

    def run(self):
        return time.time()


register_jobs(First, Second)
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200, help="runs per latency scenario [%(default)s]")
    parser.add_argument("--resyncs", type=int, default=10, help="resyncs per resync figure [%(default)s]")
    return parser.parse_args()


def wheelhouse(folder: Path) -> Path:
    """Five packages, the first depending on the other four (so the resolver has work to do)."""
    for name in PACKAGES[1:]:
        make_wheel(folder, name, "1.0")
    make_wheel(folder, PACKAGES[0], "1.0", requires=tuple(f"{name}>=1" for name in PACKAGES[1:]))
    return folder


def configure(tmp: Path, wheels: Path):
    from service import bootstrap
    from service.config import load_settings

    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    common.fresh_database(url)
    settings = load_settings(
        {"database_url": url, "data_dir": str(tmp / "data"), "find_links": [str(wheels)]}, environ={}
    )
    return bootstrap.configure(settings)


def add_repository(runtime, tmp: Path, slug: str, declared: bool):
    from service.sources.repositories import add_repository as add

    files = {"jobs/__init__.py": "from . import timing\n", "jobs/timing.py": JOB}
    if declared:
        files["requirements.txt"] = "alpha\n"
    work, bare = make_remote(tmp / slug, files)
    with runtime.db.session() as session:
        repository = add(session, runtime.settings, name=slug, slug=slug, remote_url=str(bare))
    return work, repository.id


def first_build(tmp: Path, wheels: Path) -> float:
    from repos.declarations import Declaration
    from repos.environments import PackageSource, prepare

    started = time.perf_counter()
    environment = prepare(tmp / "first", Declaration("requirements.txt", ("alpha",)),
                          PackageSource(find_links=(str(wheels),)))
    seconds = time.perf_counter() - started
    assert len(environment.packages) == 5, environment.packages
    return seconds


def resync_figures(runtime, work: Path, repository_id, count: int) -> list[float]:
    """Time ``sync_repository`` for ``count`` new commits that leave the declaration alone."""
    from service.sources.sync import sync_repository

    seconds = []
    for index in range(count):
        write_files(work, {"README.md": f"change {index}\n"})
        commit(work)
        push(work, "main")
        started = time.perf_counter()
        sync_repository(runtime, repository_id)
        seconds.append(time.perf_counter() - started)
    return seconds


def prepare_figures(runtime, slug: str, count: int) -> list[float]:
    """What the environment step alone costs a sync whose declaration did not change."""
    from service.sources.environments import prepare_for_checkout

    checkout = next((runtime.settings.data_path / "repos" / slug).glob("[0-9a-f]" * 40))
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        prepare_for_checkout(runtime, checkout)
        seconds.append(time.perf_counter() - started)
    return seconds


def enable_jobs(runtime, slug: str) -> list:
    from service.models import Job

    with runtime.db.session() as session:
        jobs = session.scalars(select(Job).where(Job.class_path.like(f"{slug}/%"))).all()
        for job in jobs:
            job.enabled = True
        return [job.id for job in sorted(jobs, key=lambda job: job.class_path)]


def start_latency(runtime, job_id) -> float:
    """Enqueue one run, run it at once, and take job code's first line minus the enqueue time."""
    from service.models import Job, JobResult
    from service.runs.requests import enqueue_job
    from service.worker.engine import run_job_result

    with runtime.db.session() as session:
        job = session.get(Job, job_id)
        enqueued = time.time()
        result = enqueue_job(session, job, {}, known_queues=runtime.settings.all_queues)
    run_job_result(runtime, str(result.id))
    with runtime.db.session() as session:
        return session.get(JobResult, result.id).result - enqueued


def start_latencies(runtime, runs: int, *, alternate: bool) -> tuple[list[float], list[float]]:
    """Interleave runs with and without an environment, each kind on its own worker thread."""
    jobs = {slug: enable_jobs(runtime, slug) for slug in ("declared", "plain")}
    figures: dict[str, list[float]] = {"declared": [], "plain": []}
    threads = {slug: ThreadPoolExecutor(max_workers=1) for slug in figures}
    for index in range(runs):
        for slug, executor in threads.items():
            job_id = jobs[slug][index % 2 if alternate else 0]
            figures[slug].append(executor.submit(start_latency, runtime, job_id).result())
    for executor in threads.values():
        executor.shutdown()
    return figures["declared"][5:], figures["plain"][5:]  # the first runs warm the forkserver and caches


def disk_usage(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            stat = os.lstat(os.path.join(root, name))
            total += stat.st_blocks * 512
    return total


def ms(values: list[float], fraction: float) -> float:
    return common.percentile(values, fraction) * 1000


def main() -> None:
    args = parse_args()
    common.print_header("dependency environments (local wheels, embedded SQLite, one worker)",
                        {"load avg": common.load_average(), "runs": str(args.runs)})
    with tempfile.TemporaryDirectory(prefix="jobsync-bench-envs-") as scratch:
        tmp = Path(scratch)
        wheels = wheelhouse(tmp / "wheels")
        build = first_build(tmp, wheels)
        print(f"first build of a 5-package set:        {build:8.2f} s   "
              f"(target <= {TARGETS['build']:g} s) {common.verdict(build <= TARGETS['build'])}")

        runtime = configure(tmp, wheels)
        from service.sources.sync import sync_repository

        with_work, with_id = add_repository(runtime, tmp, "declared", declared=True)
        without_work, without_id = add_repository(runtime, tmp, "plain", declared=False)
        sync_repository(runtime, with_id)
        sync_repository(runtime, without_id)

        prepare_ms = [s * 1000 for s in prepare_figures(runtime, "declared", args.resyncs * 10)]
        added, target = statistics.median(prepare_ms), TARGETS["resync_added_ms"]
        print(f"unchanged declaration, environment step: {added:8.2f} ms p50, "
              f"{common.percentile(prepare_ms, 0.99):.2f} ms p99 "
              f"(target <= {target:g} ms) {common.verdict(added <= target)}")
        declared_sync = resync_figures(runtime, with_work, with_id, args.resyncs)
        plain_sync = resync_figures(runtime, without_work, without_id, args.resyncs)
        print(f"whole resync of a new commit, p50:       {statistics.median(declared_sync) * 1000:8.1f} ms "
              f"declared, {statistics.median(plain_sync) * 1000:.1f} ms without a declaration")

        for alternate, label in ((False, "one job back to back (child reused)"),
                                 (True, "two jobs alternating (fresh child each run)")):
            cached, plain = start_latencies(runtime, args.runs, alternate=alternate)
            delta = ms(cached, 0.5) - ms(plain, 0.5)
            print(f"enqueue-to-start, {label}:")
            print(f"    cached environment  p50 {ms(cached, 0.5):7.2f} ms  p99 {ms(cached, 0.99):7.2f} ms")
            print(f"    no environment      p50 {ms(plain, 0.5):7.2f} ms  p99 {ms(plain, 0.99):7.2f} ms")
            print(f"    added by the environment: {delta:+.2f} ms p50 "
                  f"(target <= {TARGETS['start_added_p50_ms']:g} ms) "
                  f"{common.verdict(delta <= TARGETS['start_added_p50_ms'])}")

        envs = runtime.settings.data_path / "envs"
        from service.models import Job

        with runtime.db.session() as session:
            commits = 1 + args.resyncs
            keys = set(session.scalars(select(Job.environment_key).where(Job.class_path.like("declared/%"))))
        folders = [p for p in envs.iterdir() if not p.name.startswith(".")]
        cache = disk_usage(envs / ".cache") / 1024
        print(f"disk: {commits} commits of one repository share {len(folders)} environment(s): "
              f"{disk_usage(folders[0]) / 1024:.0f} KiB (uv cache {cache:.0f} KiB); jobs' keys {len(keys)}")
        runtime.close()
    print(f"\nload avg after: {common.load_average()}")


if __name__ == "__main__":
    main()
