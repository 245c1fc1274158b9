"""Sync benchmark: repositories of N job classes (N/10 modules) in a local git remote.

For each N: first sync, no-change resync, resync after removing half the classes, resync after
touching one module; seconds, where they went (fetch, checkout, discovery, database), the CPU
seconds of this process and the children it waited for (discovery, git), and the Job row counts.
Runs ``service.sources.sync.sync_repository`` in this process, as a worker would.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench import common  # noqa: E402
from tests.helpers.git import commit, make_remote, push, write_files  # noqa: E402

CLASSES_PER_MODULE = 10
#: (N, step) -> seconds it must not exceed.
TARGETS = {(1000, "first sync"): 3.0, (1000, "no-change resync"): 0.2, (1000, "remove half"): 2.0,
           (10000, "first sync"): 15.0, (10000, "no-change resync"): 0.3, (10000, "remove half"): 10.0}
#: Nautobot 3.2.7's own sync job on the same kind of repositories (issue 4): (N, step) -> seconds.
NAUTOBOT = {(100, "first sync"): 9.7, (100, "no-change resync"): 4.9, (500, "first sync"): 35.0,
            (500, "no-change resync"): 18.0, (500, "remove half"): 17.0}
NAUTOBOT_SPEEDUP_TARGET = 10.0
PHASES = ("fetch", "checkout", "discover", "database", "gc")


@dataclass
class Step:
    size: int
    name: str
    seconds: float
    cpu: float
    phases: dict[str, float]
    installed: int
    rows: int
    diff: str


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=common.DEFAULT_DATABASE_URL,
                        help="PostgreSQL database (created if missing, emptied) [%(default)s]")
    parser.add_argument("--sqlite", action="store_true", help="use a SQLite file instead of PostgreSQL")
    parser.add_argument("--sizes", default="10,100,500,1000",
                        help="job classes per repository; 500 matches Nautobot's reference [%(default)s]")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile summary of every step of the largest size")
    return parser.parse_args()


# --- the generated repositories -----------------------------------------------------------

def module_source(module: int, classes: range, *, revision: int = 0) -> str:
    """A jobs module defining and registering ``classes``; ``revision`` changes one description."""
    lines = ["from service.jobs import IntegerVar, Job, StringVar, register_jobs", "",
             f'name = "Bench module {module:03d}"', ""]
    for number in classes:
        description = f"Benchmark job {number} of module {module}."
        if revision and number == classes.start:
            description += f" Revision {revision}."
        lines += [
            "",
            f"class Job{number:04d}(Job):",
            '    who = StringVar(description="Who to greet", max_length=50)',
            "    times = IntegerVar(default=1, min_value=1, max_value=10)",
            "",
            "    class Meta:",
            f'        name = "Job {number:04d}"',
            f'        description = "{description}"',
            "",
            "    def run(self, *, who, times):",
            '        return f"{who} x {times}"',
            "",
        ]
    lines.append(f"register_jobs({', '.join(f'Job{n:04d}' for n in classes)})")
    return "\n".join(lines) + "\n"


def repository_files(size: int, *, keep_per_module: int = CLASSES_PER_MODULE) -> dict[str, str]:
    modules = size // CLASSES_PER_MODULE
    imports = "".join(f"from . import module_{m:03d}  # noqa: F401\n" for m in range(modules))
    files = {"jobs/__init__.py": imports}
    for module in range(modules):
        first = module * CLASSES_PER_MODULE
        files[f"jobs/module_{module:03d}.py"] = module_source(module, range(first, first + keep_per_module))
    return files


# --- timing -------------------------------------------------------------------------------

class PhaseTimer:
    """Wraps the functions a sync calls so each step reports where its time went."""

    def __init__(self):
        self.totals: Counter[str] = Counter()

    def install(self) -> None:
        import repos.git
        import service.sources.sync

        self._wrap(repos.git, "fetch", "fetch")
        if not self._wrap(service.sources.sync, "materialise_version", "checkout"):
            self._wrap(repos.git, "ensure_checkout", "checkout")
        self._wrap(service.sources.sync, "discover", "discover")
        self._wrap(service.sources.sync, "_apply", "database")
        self._wrap(service.sources.sync, "prune_repository", "gc")

    def _wrap(self, module, attribute: str, phase: str) -> bool:
        """Time calls of ``module.attribute``; False if the service no longer has it."""
        original = getattr(module, attribute, None)
        if original is None:
            return False

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.totals[phase] += time.perf_counter() - started

        setattr(module, attribute, timed)
        return True

    @contextmanager
    def measure(self):
        self.totals.clear()
        yield self.totals


def job_counts(db, repository_id) -> tuple[int, int]:
    from service.models import Job

    with db.session() as session:
        rows = session.scalar(select(func.count()).select_from(Job).where(Job.repository_id == repository_id))
        installed = session.scalar(select(func.count()).select_from(Job).where(
            Job.repository_id == repository_id, Job.installed.is_(True)))
    return installed, rows


def describe(summary: dict) -> str:
    if not summary.get("changed"):
        return "unchanged"
    counts = [f"{kind} {len(summary[kind])}" for kind in ("added", "updated", "removed", "reinstalled")
              if summary.get(kind)]
    if summary.get("module_errors"):
        counts.append(f"module errors {len(summary['module_errors'])}")
    return ", ".join(counts) or "no job changes"


# --- the benchmark ------------------------------------------------------------------------

def run_size(runtime, scratch: Path, size: int, timer: PhaseTimer, profile: bool) -> list[Step]:
    from service.sources.repositories import add_repository
    from service.sources.sync import sync_repository

    work, remote = make_remote(scratch / f"n{size}", repository_files(size))
    with runtime.db.session() as session:
        repository_id = add_repository(session, runtime.settings, name=f"Bench {size}", slug=f"bench_n{size}",
                                       remote_url=str(remote)).id
    steps = []

    def sync(name: str) -> None:
        profiler = cProfile.Profile() if profile else None
        with timer.measure() as phases:
            cpu = cpu_seconds()
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            summary = sync_repository(runtime, repository_id)
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - started
            cpu = cpu_seconds() - cpu
        installed, rows = job_counts(runtime.db, repository_id)
        steps.append(Step(size, name, seconds, cpu, dict(phases), installed, rows, describe(summary)))
        print_step(steps[-1])
        if profiler:
            print_profile(profiler, f"N={size} {name}")

    sync("first sync")
    sync("no-change resync")
    modules = size // CLASSES_PER_MODULE
    write_files(work, repository_files(size, keep_per_module=CLASSES_PER_MODULE // 2))
    push_change(work, "remove half the classes")
    sync("remove half")
    first = modules // 2 * CLASSES_PER_MODULE
    write_files(work, {f"jobs/module_{modules // 2:03d}.py": module_source(
        modules // 2, range(first, first + CLASSES_PER_MODULE // 2), revision=1)})
    push_change(work, "touch one module")
    sync("touch one module")
    return steps


def cpu_seconds() -> float:
    """CPU of this process and the children it waited for (discovery, git): steadier under load."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def push_change(work: Path, message: str) -> None:
    commit(work, message)
    push(work, "main")


def print_step(step: Step) -> None:
    phases = "  ".join(f"{step.phases.get(p, 0.0):6.3f}" for p in PHASES)
    print(f"  {step.size:5d}  {step.name:17} {step.seconds:7.3f} {step.cpu:6.2f}  {phases}"
          f"   {step.installed:6d} {step.rows:6d}  {step.diff}", flush=True)


def print_profile(profiler: cProfile.Profile, title: str) -> None:
    for order, count in (("cumulative", 25), ("tottime", 15)):
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(order).print_stats(count)
        print(f"\n    cProfile, {title} ({order}, top {count}):")
        lines = stream.getvalue().strip().splitlines()[3:]
        print("\n".join("    " + line for line in lines), "\n", flush=True)


def print_targets(steps: list[Step]) -> bool:
    print("\n== Targets")
    by_key = {(step.size, step.name): step for step in steps}
    all_ok = True
    for (size, name), limit in TARGETS.items():
        step = by_key.get((size, name))
        if step is None:
            print(f"  N={size:<4} {name:17} <= {limit:4.1f} s   not measured (add {size} to --sizes)")
            continue
        ok = step.seconds <= limit
        all_ok &= ok
        print(f"  N={size:<4} {name:17} <= {limit:4.1f} s   {step.seconds:6.3f} s   {common.verdict(ok)}")
    for (size, name), nautobot in NAUTOBOT.items():
        step = by_key.get((size, name))
        if step is None:
            print(f"  N={size:<4} {name:17} Nautobot 3.2.7 {nautobot:4.1f} s   (N={size} not measured)")
            continue
        speedup = nautobot / step.seconds
        ok = speedup >= NAUTOBOT_SPEEDUP_TARGET
        all_ok &= ok
        print(f"  N={size:<4} {name:17} Nautobot 3.2.7 {nautobot:4.1f} s / {step.seconds:.3f} s ="
              f" {speedup:4.0f}x   target >= {NAUTOBOT_SPEEDUP_TARGET:g}x   {common.verdict(ok)}")
    return all_ok


def main() -> None:
    args = parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    began = time.perf_counter()
    from service import bootstrap
    from service.config import load_settings

    with tempfile.TemporaryDirectory(prefix="jobsync-sync-bench-") as scratch_name:
        scratch = Path(scratch_name)
        database_url = f"sqlite:///{scratch / 'bench.sqlite3'}" if args.sqlite else args.database_url
        common.fresh_database(database_url)
        common.print_header("jobsync sync benchmark", {
            "database": common.redact(database_url),
            "servers": ", ".join(common.server_versions(database_url)) or "SQLite",
            "load": common.load_average(),
        })
        settings = load_settings({"database_url": database_url, "redis_url": None,
                                  "data_dir": str(scratch / "data"), "allow_local_repositories": True},
                                 environ={})
        runtime = bootstrap.configure(settings)
        timer = PhaseTimer()
        timer.install()
        print("  (seconds; cpu = CPU seconds of this process and the children it waited for; phases:")
        print("   fetch, checkout, discover = child process importing the jobs package,")
        print("   database = plan + apply in one transaction, gc = checkout garbage collection)")
        print(f"  {'N':>5}  {'step':17} {'total':>7} {'cpu':>6}  " + "  ".join(f"{p:>6}" for p in PHASES)
              + f"   {'instld':>6} {'rows':>6}  diff")
        steps = []
        for size in sizes:
            steps += run_size(runtime, scratch, size, timer, args.profile and size == max(sizes))
        bootstrap.reset()
    print_targets(steps)
    print(f"\nload after: {common.load_average()}")
    print(f"total time {time.perf_counter() - began:.0f} s; reproduce with: {common.command_line()}")


if __name__ == "__main__":
    main()
