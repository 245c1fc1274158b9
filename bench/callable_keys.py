"""Computed-key overhead: the trivial job keyed by a template, then by a function, in one run.

Each run holds a distinct key (``bench:<object id>``), so nothing waits and the figure is the price
of the key itself. A template is filled in where the run is requested and taken with the claim; a
function's key is computed by the worker after a plain claim, where the job's code runs (this
thread under isolation=thread; the job's child under isolation=process), then attached and taken
in a second transaction. (1) drain rate of a queue filled before the workers start, per isolation;
(2) idle request -> SUCCESS latency of sequential runs (``started`` is the claim, before the key
is computed, so request -> start would hide the function's cost).
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

from sqlalchemy import update  # noqa: E402

from bench import common, dispatch  # noqa: E402
from bench import concurrency as keyed  # noqa: E402
from bench import jobsync_runs as js  # noqa: E402

VARIANTS = {  # the job row's key columns and class for each variant
    "template key": {"concurrency_key": keyed.KEY, "concurrency_key_callable": False,
                     "job_class_name": js.TRIVIAL_CLASS},
    "function key": {"concurrency_key": None, "concurrency_key_callable": True,
                     "job_class_name": "TrivialComputedKey"},
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=common.DEFAULT_DATABASE_URL.replace(
        "jobsync_bench", "jobsync_bench_callable_keys"), help="emptied and migrated [%(default)s]")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9", help="FLUSHDB'd [%(default)s]")
    parser.add_argument("--processes", type=int, default=2, help="worker processes [%(default)s]")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker [%(default)s]")
    parser.add_argument("--messages", type=int, default=2000, help="runs per drain [%(default)s]")
    parser.add_argument("--process-messages", type=int, default=600,
                        help="runs per drain under isolation=process [%(default)s]")
    parser.add_argument("--repeats", type=int, default=3, help="drains per variant [%(default)s]")
    parser.add_argument("--latency-jobs", type=int, default=100, help="sequential runs [%(default)s]")
    parser.add_argument("--idle-gap", type=float, default=0.1, help="mean idle gap, s [%(default)s]")
    parser.add_argument("--long-idle-jobs", type=int, default=0, help="[%(default)s]")
    parser.add_argument("--long-idle-gap", type=float, default=1.5, help="[%(default)s]")
    parser.add_argument("--seed", type=int, default=1, help="seed of the idle gaps [%(default)s]")
    return parser.parse_args()


def use(runtime, job_id, variant: str) -> None:
    with runtime.db.session() as session:
        session.execute(update(js.Job).where(js.Job.id == job_id).values(**VARIANTS[variant]))


def drain(args, runtime, job_id, log_dir: Path, isolation: str, label: str) -> dispatch.Drain:
    messages = args.messages if isolation == "thread" else args.process_messages
    js.forget_runs(runtime.db, runtime.broker.client)
    keyed.enqueue_distinct(runtime, job_id, messages)
    with runtime.db.engine.connect() as connection, common.Processes(log_dir) as processes:
        js.start_workers(processes, runtime.settings, count=args.processes, threads=args.threads,
                         isolation=isolation)

        def finished() -> int:
            value = js.finished_count(connection)
            connection.rollback()
            return value

        seconds, cpu = dispatch.measure_drain(finished, messages, processes, interval=0.01)
    problems = js.failures(runtime.db)
    if problems:
        raise RuntimeError(f"runs did not all succeed, e.g. {problems}; see {log_dir}")
    return dispatch.Drain(f"{label}, {isolation}, {args.processes} proc x {args.threads} thr",
                          messages, seconds, cpu)


def main() -> None:
    args = parse_args()
    began = time.perf_counter()
    common.fresh_database(args.database_url)
    common.print_header("jobsync computed concurrency-key overhead", {
        "database": common.redact(args.database_url), "redis": common.redact(args.redis_url),
        "servers": ", ".join(common.server_versions(args.database_url, args.redis_url)),
        "load": common.load_average(),
    })
    from service import bootstrap
    from service.config import load_settings

    drains, latencies = {}, {}
    with tempfile.TemporaryDirectory(prefix="jobsync-bench-") as scratch:
        log_dir = Path(scratch)
        settings = load_settings({"database_url": args.database_url, "redis_url": args.redis_url,
                                  "data_dir": str(log_dir / "data")}, environ={})
        runtime = bootstrap.configure(settings)
        job_id = js.create_trivial_job(runtime.db)
        print("(1) drain, distinct keys, PENDING row -> SUCCESS row", flush=True)
        for isolation in ("thread", "process"):
            for variant in VARIANTS:
                use(runtime, job_id, variant)
                drains[isolation, variant] = dispatch.median_drain(args, lambda i=isolation, v=variant: drain(
                    args, runtime, job_id, log_dir, i, f"jobsync, {v}"))
                dispatch.print_drain(drains[isolation, variant])
        dispatch.print_latency_heading(args)
        for variant in VARIANTS:
            use(runtime, job_id, variant)
            label = f"jobsync, {variant}"
            latencies[variant] = dispatch.jobsync_latency(args, runtime, job_id, log_dir, label)
            dispatch.print_latency(latencies[variant], args)
        bootstrap.reset()
    print("\n== A function's key against a template's (same run)")
    for isolation in ("thread", "process"):
        ratio = drains[isolation, "function key"].rate / drains[isolation, "template key"].rate
        print(f"  drain rate, isolation={isolation:8} function/template {ratio:6.2f}")
    added = common.median(latencies["function key"].success_ms) - common.median(
        latencies["template key"].success_ms)
    print(f"  request->SUCCESS p50 added (isolation=process)  {added:6.2f} ms")
    print(f"\nload after: {common.load_average()}")
    print(f"total time {time.perf_counter() - began:.0f} s; reproduce with: {common.command_line()}")


if __name__ == "__main__":
    main()
