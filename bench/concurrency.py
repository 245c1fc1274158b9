"""Concurrency-key overhead: jobsync's trivial job with and without a key, drain rate and idle latency.

The same job, measured twice in one run: first without a key, then with
``concurrency_key = "bench:{object_id}"``, each run holding a distinct key (so nothing waits and the
figure is the price of taking and giving back a slot). (1) drain rate of a queue filled before the
workers start (isolation=thread, the fastest path, so the key's share shows most); (2) idle
enqueue-to-start latency of sequential runs. Targets (issue 18): <= 1 ms p50 added, <= 10% drain loss.
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
from bench import jobsync_runs as js  # noqa: E402

KEY = "bench:{object_id}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=common.DEFAULT_DATABASE_URL.replace(
        "jobsync_bench", "jobsync_bench_concurrency"), help="emptied and migrated [%(default)s]")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12", help="FLUSHDB'd [%(default)s]")
    parser.add_argument("--processes", type=int, default=2, help="worker processes [%(default)s]")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker [%(default)s]")
    parser.add_argument("--messages", type=int, default=2000, help="runs per drain [%(default)s]")
    parser.add_argument("--repeats", type=int, default=3, help="drains per variant [%(default)s]")
    parser.add_argument("--latency-jobs", type=int, default=100, help="sequential runs [%(default)s]")
    parser.add_argument("--latency-rounds", type=int, default=4,
                        help="the variants' latency runs alternate in this many rounds, so a change "
                             "in the machine's load lands on both [%(default)s]")
    parser.add_argument("--idle-gap", type=float, default=0.1, help="mean idle gap, s [%(default)s]")
    parser.add_argument("--long-idle-jobs", type=int, default=0, help="[%(default)s]")
    parser.add_argument("--long-idle-gap", type=float, default=1.5, help="[%(default)s]")
    parser.add_argument("--seed", type=int, default=1, help="seed of the idle gaps [%(default)s]")
    return parser.parse_args()


def set_key(runtime, job_id, key: str | None) -> None:
    with runtime.db.session() as session:
        session.execute(update(js.Job).where(js.Job.id == job_id).values(concurrency_key=key))


def enqueue_distinct(runtime, job_id, count: int) -> None:
    """Request ``count`` runs, each with its own object id (so, when keyed, its own key)."""
    queues = runtime.settings.all_queues
    for start in range(0, count, js.ENQUEUE_BATCH):
        with runtime.db.session() as session:
            job = session.get(js.Job, job_id)
            for index in range(start, min(start + js.ENQUEUE_BATCH, count)):
                js.enqueue_job(session, job, {}, known_queues=queues, object_id=str(index))


def drain(args, runtime, job_id, log_dir: Path, label: str) -> dispatch.Drain:
    js.forget_runs(runtime.db, runtime.broker.client)
    enqueue_distinct(runtime, job_id, args.messages)
    with runtime.db.engine.connect() as connection, common.Processes(log_dir) as processes:
        js.start_workers(processes, runtime.settings, count=args.processes, threads=args.threads,
                         isolation="thread")

        def finished() -> int:
            value = js.finished_count(connection)
            connection.rollback()
            return value

        seconds, cpu = dispatch.measure_drain(finished, args.messages, processes, interval=0.01)
    problems = js.failures(runtime.db)
    if problems:
        raise RuntimeError(f"runs did not all succeed, e.g. {problems}; see {log_dir}")
    return dispatch.Drain(f"{label}, {args.processes} process(es) x {args.threads} threads",
                          args.messages, seconds, cpu)


def alternating_latencies(args, runtime, job_id, log_dir: Path) -> dict[str, dispatch.Latency]:
    """Idle latency of both variants, in alternating rounds of ``latency_jobs / latency_rounds`` runs."""
    rounds = max(1, args.latency_rounds)
    per_round = argparse.Namespace(**{**vars(args), "latency_jobs": max(1, args.latency_jobs // rounds)})
    latencies = {name: dispatch.Latency(f"jobsync, {name}") for name in ("no key", "keyed")}
    for index in range(rounds):
        per_round.seed = args.seed + index
        for name, key in (("no key", None), ("keyed", KEY)):
            set_key(runtime, job_id, key)
            measured = dispatch.jobsync_latency(per_round, runtime, job_id, log_dir, name)
            for field in ("start_ms", "send_ms", "success_ms", "long_idle_ms"):
                getattr(latencies[name], field).extend(getattr(measured, field))
    return latencies


def main() -> None:
    args = parse_args()
    began = time.perf_counter()
    common.fresh_database(args.database_url)
    common.print_header("jobsync concurrency-key overhead", {
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
        print("(1) drain, isolation=thread, PENDING row -> SUCCESS row", flush=True)
        for name, key in (("no key", None), ("distinct keys", KEY)):
            set_key(runtime, job_id, key)
            drains[name] = dispatch.median_drain(
                args, lambda name=name: drain(args, runtime, job_id, log_dir, f"jobsync, {name}"))
            dispatch.print_drain(drains[name])
        dispatch.print_latency_heading(args)
        latencies = alternating_latencies(args, runtime, job_id, log_dir)
        for latency in latencies.values():
            dispatch.print_latency(latency, args)
        bootstrap.reset()
    loss = 1 - drains["distinct keys"].rate / drains["no key"].rate
    added = common.median(latencies["keyed"].start_ms) - common.median(latencies["no key"].start_ms)
    print("\n== Overhead of a concurrency key")
    print(f"  drain-rate loss, distinct keys  {100 * loss:6.1f} %   target <= 10 %  "
          f"{common.verdict(loss <= 0.10)}")
    print(f"  request->start p50 added        {added:6.2f} ms  target <= 1 ms  "
          f"{common.verdict(added <= 1.0)}")
    print(f"\nload after: {common.load_average()}")
    print(f"total time {time.perf_counter() - began:.0f} s; reproduce with: {common.command_line()}")


if __name__ == "__main__":
    main()
