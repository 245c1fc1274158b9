"""Dispatch benchmark: drain rates and idle enqueue-to-start latency, jobsync beside its baselines.

One run, one Redis, the same number of worker processes for every engine:
  (a) raw Dramatiq no-op actor (default RedisBroker and middleware), 1 process and P processes;
  (b) RQ no-op, default forking Worker (what NetBox runs) and SimpleWorker (skipped without rq);
  (c) jobsync trivial job (one log line, a result) from PENDING row to SUCCESS row on PostgreSQL,
      in isolation=process and isolation=thread (``jobsync worker default --threads T`` processes),
      after the recording floor: raw Dramatiq doing only those rows' writes in hand-written SQL;
  (d) enqueue-to-start latency on an idle worker, sequential jobs: raw Dramatiq's default
      RedisBroker, jobsync with one installed job, then with 1000 more from several repositories.

Drain rates are measured on a queue filled before the workers start, from the first finished
message to the last, so worker start-up and the enqueue rate are not part of them (the jobsync
enqueue rate is printed on its own). Each drain runs --repeats times; the median is reported.
Every count is an option; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench import common  # noqa: E402
from bench import jobsync_runs as js  # noqa: E402
from bench.engines import RQ_QUEUE, STARTED_KEY, DramatiqActors, RecordingFloor  # noqa: E402

DEFAULT_TIMEOUT = 180.0


@dataclass
class Drain:
    label: str
    messages: int
    seconds: float
    cpu_seconds: float | None = None  # the workers' CPU over the same window
    postgres_seconds: float | None = None  # their PostgreSQL backends' CPU over the same window

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


@dataclass
class Latency:
    label: str
    start_ms: list[float] = field(default_factory=list)  # request -> started
    send_ms: list[float] = field(default_factory=list)  # broker message sent -> started
    success_ms: list[float] = field(default_factory=list)  # request -> SUCCESS row
    long_idle_ms: list[float] = field(default_factory=list)  # request -> started after a long idle


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=common.DEFAULT_DATABASE_URL,
                        help="PostgreSQL database for jobsync (created if missing, emptied) [%(default)s]")
    parser.add_argument("--redis-url", default=common.DEFAULT_REDIS_URL,
                        help="Redis database, FLUSHDB'd at start and between measurements [%(default)s]")
    parser.add_argument("--processes", type=int, default=2, help="worker processes per engine [%(default)s]")
    parser.add_argument("--threads", type=int, default=8,
                        help="threads per Dramatiq/jobsync worker process [%(default)s]")
    parser.add_argument("--messages", type=int, default=2000, help="messages per drain [%(default)s]")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each drain; the median-rate one is reported [%(default)s]")
    parser.add_argument("--fork-messages", type=int, default=400,
                        help="messages for RQ's forking worker, ~80/s [%(default)s]")
    parser.add_argument("--latency-jobs", type=int, default=200,
                        help="sequential jobs per latency measurement [%(default)s]")
    parser.add_argument("--idle-gap", type=float, default=0.1,
                        help="mean idle seconds before each latency job, drawn uniformly from 0 to twice "
                             "this [%(default)s]")
    parser.add_argument("--long-idle-jobs", type=int, default=8,
                        help="extra latency jobs each sent after --long-idle-gap of idleness [%(default)s]")
    parser.add_argument("--long-idle-gap", type=float, default=1.5, help="[%(default)s] seconds")
    parser.add_argument("--installed-jobs", type=int, default=1000,
                        help="Job rows added for the second jobsync latency measurement [%(default)s]")
    parser.add_argument("--repositories", type=int, default=5,
                        help="repositories those jobs come from [%(default)s]")
    parser.add_argument("--seed", type=int, default=1, help="seed of the idle gaps [%(default)s]")
    return parser.parse_args()


def measure_drain(finished, total: int, processes: common.Processes, *, timeout: float = DEFAULT_TIMEOUT,
                  interval: float = 0.002, postgres: common.PostgresCpu | None = None):
    """Seconds and worker CPU seconds from the first finished message to the last, scaled to ``total``;
    with ``postgres``, a third value: the database backends' CPU seconds over the same window.

    The queue is full before the workers start, so their start-up is left out of the rate.
    """
    deadline = time.monotonic() + timeout
    first_at = first_done = first_cpu = first_postgres = None
    while True:
        done = finished()
        now = time.perf_counter()
        if done and first_at is None:
            first_at, first_done, first_cpu = now, done, processes.cpu_seconds()
            first_postgres = postgres.sample() if postgres else None
        if done >= total:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done} of {total} messages finished within {timeout:g} s")
        processes.check_alive()
        time.sleep(interval)
    cpu = processes.cpu_seconds() - first_cpu
    database = common.PostgresCpu.used(first_postgres, postgres.sample()) if postgres else None
    if first_done >= total:
        raise RuntimeError("the whole queue finished between two polls: raise --messages")
    scale = total / (total - first_done)
    if postgres is None:
        return (now - first_at) * scale, cpu * scale
    return (now - first_at) * scale, cpu * scale, None if database is None else database * scale


def median_drain(args, measure, key=lambda drain: drain.rate):
    """Measure ``--repeats`` times and keep the run with the median rate: one drain of a few
    seconds on a shared 2-core machine varies by 15-20% from run to run."""
    runs = sorted((measure() for _ in range(args.repeats)), key=key)
    return runs[len(runs) // 2]


# --- (a) raw Dramatiq ---------------------------------------------------------------------

def dramatiq_drain(args, log_dir: Path, processes_count: int) -> Drain:
    client = redis.Redis.from_url(args.redis_url)
    client.flushdb()
    actors = DramatiqActors(args.redis_url)
    for _ in range(args.messages):
        actors.noop.send()
    with common.Processes(log_dir) as processes:
        for _ in range(processes_count):
            processes.start("dramatiq", engine_worker("dramatiq", args))
        seconds, cpu = measure_drain(lambda: args.messages - actors.messages_left(), args.messages,
                                     processes)
    actors.broker.close()
    return Drain(f"raw Dramatiq, {processes_count} process(es) x {args.threads} threads", args.messages,
                 seconds, cpu)


def engine_worker(engine: str, args) -> list[str]:
    return common.python_module("bench.engines", engine, "--redis-url", args.redis_url,
                                "--threads", str(args.threads))


# --- (b) RQ -------------------------------------------------------------------------------

def rq_available() -> bool:
    try:
        import rq  # noqa: F401
    except ImportError:
        return False
    return True


def rq_drain(args, log_dir: Path, *, simple: bool) -> Drain:
    from rq import Queue

    count = args.messages if simple else args.fork_messages
    client = redis.Redis.from_url(args.redis_url)
    client.flushdb()
    queue = Queue(RQ_QUEUE, connection=client)
    for start in range(0, count, 500):
        queue.enqueue_many([Queue.prepare_data("bench.engines.noop")
                            for _ in range(min(500, count - start))])

    def finished() -> int:
        # Without cleanup: RQ's default count() also sweeps the registry, loading Redis on every poll.
        failed = queue.failed_job_registry.get_job_count(cleanup=False)
        if failed:
            raise RuntimeError(f"{failed} RQ job(s) failed; see {log_dir}")
        return queue.finished_job_registry.get_job_count(cleanup=False)

    engine = "rq-simple" if simple else "rq-fork"
    with common.Processes(log_dir) as processes:
        for _ in range(args.processes):
            processes.start(engine, engine_worker(engine, args))
        seconds, cpu = measure_drain(finished, count, processes, interval=0.005)
    name = "RQ SimpleWorker" if simple else "RQ forking Worker"
    return Drain(f"{name}, {args.processes} process(es)", count, seconds, cpu)


# --- (c) jobsync drains -------------------------------------------------------------------

def jobsync_drain(args, runtime, job_id, log_dir: Path, isolation: str,
                  postgres: common.PostgresCpu | None = None) -> tuple[Drain, Drain]:
    js.forget_runs(runtime.db, runtime.broker.client)
    started = time.perf_counter()
    js.enqueue_many(runtime, job_id, args.messages)
    enqueue = Drain(f"enqueue (API path, {js.ENQUEUE_BATCH} runs per transaction)", args.messages,
                    time.perf_counter() - started)
    with runtime.db.engine.connect() as connection, common.Processes(log_dir) as processes:
        js.start_workers(processes, runtime.settings, count=args.processes, threads=args.threads,
                         isolation=isolation)

        def finished() -> int:
            value = js.finished_count(connection)
            connection.rollback()  # a fresh snapshot on every poll
            return value

        exclude_poller(connection, postgres)

        seconds, cpu, database = measure_drain(finished, args.messages, processes, interval=0.01,
                                               postgres=postgres)
    problems = js.failures(runtime.db)
    if problems:
        raise RuntimeError(f"jobsync runs did not all succeed, e.g. {problems}; see {log_dir}")
    label = f"jobsync isolation={isolation}, {args.processes} process(es) x {args.threads} threads"
    return enqueue, Drain(label, args.messages, seconds, cpu, database)


def exclude_poller(connection, postgres: common.PostgresCpu | None) -> None:
    """Leave the benchmark's polling connection out of the workers' PostgreSQL CPU."""
    if postgres is not None:
        postgres.exclude.add(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar())
        connection.rollback()


def floor_drain(args, runtime, job_id, log_dir: Path, postgres: common.PostgresCpu | None = None) -> Drain:
    """The recording floor over the same PENDING rows the jobsync drains start from."""
    from sqlalchemy import select
    from sqlalchemy.engine import make_url

    from service.models import JobResult

    js.forget_runs(runtime.db, runtime.broker.client)
    js.enqueue_many(runtime, job_id, args.messages)
    runtime.broker.client.flushdb()  # the rows stay; jobsync's own messages go
    with runtime.db.engine.connect() as connection:
        run_ids = [str(run_id) for run_id in connection.scalars(select(JobResult.id))]
    dsn = make_url(args.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    floor = RecordingFloor(args.redis_url, dsn)
    for run_id in run_ids:
        floor.record.send(run_id)
    with runtime.db.engine.connect() as connection, common.Processes(log_dir) as processes:
        for _ in range(args.processes):
            processes.start("floor", engine_worker("dramatiq-floor", args) + ["--database-dsn", dsn])

        def finished() -> int:
            value = js.finished_count(connection)
            connection.rollback()
            return value

        exclude_poller(connection, postgres)

        seconds, cpu, database = measure_drain(finished, args.messages, processes, interval=0.01,
                                               postgres=postgres)
    floor.broker.close()
    label = f"recording floor, {args.processes} process(es) x {args.threads} threads"
    return Drain(label, args.messages, seconds, cpu, database)


# --- (d) idle latency ---------------------------------------------------------------------

WARM_UP_JOBS = 3


def idle_gaps(args) -> list[float]:
    """Warm-up gaps, then the measured ones: uniform short gaps, then a few long idles."""
    rng = random.Random(args.seed)
    gaps = [rng.uniform(0, 2 * args.idle_gap) for _ in range(args.latency_jobs)]
    return [0.05] * WARM_UP_JOBS + gaps + [args.long_idle_gap] * args.long_idle_jobs


def record(latency: Latency, index: int, args, start_ms: float, send_ms: float,
           success_ms: float | None = None) -> None:
    index -= WARM_UP_JOBS
    if index < 0:
        return
    if index >= args.latency_jobs:
        latency.long_idle_ms.append(start_ms)
        return
    latency.start_ms.append(start_ms)
    latency.send_ms.append(send_ms)
    if success_ms is not None:
        latency.success_ms.append(success_ms)


def dramatiq_latency(args, log_dir: Path) -> Latency:
    client = redis.Redis.from_url(args.redis_url)
    client.flushdb()
    actors = DramatiqActors(args.redis_url)
    latency = Latency("raw Dramatiq, default RedisBroker (worker_timeout 1 s)")
    with common.Processes(log_dir) as processes:
        processes.start("dramatiq-idle", engine_worker("dramatiq", args))
        for index, gap in enumerate(idle_gaps(args)):
            time.sleep(gap)
            sent = time.time()
            actors.stamp.send(str(index))
            reply = client.blpop([STARTED_KEY], timeout=30)
            if reply is None:
                processes.check_alive()
                raise TimeoutError("raw Dramatiq did not start a message within 30 s")
            started_ms = (json.loads(reply[1])[1] - sent) * 1000
            record(latency, index, args, started_ms, started_ms)  # no row: request and send coincide
    actors.broker.close()
    return latency


def jobsync_latency(args, runtime, job_id, log_dir: Path, label: str) -> Latency:
    js.forget_runs(runtime.db, runtime.broker.client)
    latency = Latency(label)
    sent_at = js.note_send_times(runtime.broker)
    with common.Processes(log_dir) as processes, js.run_watcher(runtime.db) as run_times:
        js.start_workers(processes, runtime.settings, count=1, threads=args.threads, isolation="process")
        for index, gap in enumerate(idle_gaps(args)):
            time.sleep(gap)
            result_id, requested = js.enqueue_one(runtime, job_id)
            sent = sent_at.pop()

            def finished(result_id=result_id):
                times = run_times(result_id)
                return times if times and times[0] in js.FINAL_STATUSES else None

            status, started, completed = common.wait_until(
                finished, timeout=60, interval=0.002, what=f"run {result_id} to finish")
            if status != "SUCCESS":
                raise RuntimeError(f"latency run ended {status}: {js.failures(runtime.db)}")
            record(latency, index, args, ms_between(requested, started), ms_between(sent, started),
                   ms_between(requested, completed))
    js.forget_send_times(runtime.broker)
    return latency


def ms_between(earlier, later) -> float:
    return (later - earlier).total_seconds() * 1000


# --- report -------------------------------------------------------------------------------

def print_drain(drain: Drain) -> None:
    cpu = ""
    if drain.cpu_seconds is not None:
        cpu = f"{drain.cpu_seconds * 1000 / drain.messages:6.2f} ms worker CPU/msg"
    if drain.postgres_seconds is not None:
        cpu += f", PostgreSQL {drain.postgres_seconds * 1000 / drain.messages:5.2f} ms"
    line = f"  {drain.label:56} {drain.messages:5d} msgs {drain.seconds:6.2f} s {drain.rate:7,.0f}/s  {cpu}"
    print(line.rstrip(), flush=True)


def print_latency(latency: Latency, args) -> None:
    def p50_p99(values: list[float]) -> str:
        return f"{common.median(values):6.1f} {common.percentile(values, 0.99):6.1f}"

    line = f"  {latency.label:52} {p50_p99(latency.start_ms)}  {p50_p99(latency.send_ms)}"
    line += f"  {common.median(latency.long_idle_ms):6.1f}" if latency.long_idle_ms else f"  {'-':>6}"
    line += f"  {common.median(latency.success_ms):6.1f}" if latency.success_ms else f"  {'-':>6}"
    print(line, flush=True)


def print_latency_heading(args) -> None:
    print(f"(d) enqueue-to-start latency, ms, idle worker (1 process x {args.threads} threads): "
          f"{args.latency_jobs} sequential jobs,")
    print(f"    each after an idle gap drawn from 0-{2 * args.idle_gap:g} s; then {args.long_idle_jobs} "
          f"after {args.long_idle_gap:g} s idle. request = before writing the PENDING row;")
    print("    send = the broker message leaving (after the row's commit); start = the worker's claim.")
    print(f"  {'':52} {'request->start':>13}  {'send->start':>13}  {'long':>6}  {'->SUCC':>6}")
    print(f"  {'':52} {'p50':>6} {'p99':>6}  {'p50':>6} {'p99':>6}  {'p50':>6}  {'p50':>6}", flush=True)


def print_summary(results: dict, args) -> None:
    print("\n== Ratios and targets (same run, same Redis, same worker process count)")

    def ratio(label: str, value: float, target: str = "", ok: bool | None = None) -> None:
        line = f"  {label:58} {value:7.2f}"
        if target:
            line += f"   target {target:12} {common.verdict(ok)}"
        print(line)

    process, thread, dramatiq = results["jobsync-process"], results["jobsync-thread"], results["dramatiq-p"]
    floor = results["floor"]
    ratio(f"raw Dramatiq {args.processes} processes / 1 process", dramatiq.rate / results["dramatiq-1"].rate)
    ratio("recording floor / raw Dramatiq (ceiling if runs are kept)", floor.rate / dramatiq.rate)
    ratio("jobsync thread / recording floor (issue 20)", thread.rate / floor.rate, ">= 1.00",
          thread.rate >= floor.rate)
    ratio("jobsync process / recording floor", process.rate / floor.rate)
    ratio("jobsync thread / raw Dramatiq (issue 3's 0.50, retired)", thread.rate / dramatiq.rate)
    ratio("jobsync process / raw Dramatiq", process.rate / dramatiq.rate)
    if "rq-simple" in results:
        simple, fork = results["rq-simple"], results["rq-fork"]
        ratio("jobsync process / RQ SimpleWorker (issue 20)", process.rate / simple.rate, ">= 1.00",
              process.rate >= simple.rate)
        ratio("jobsync process / RQ forking Worker (NetBox's)", process.rate / fork.rate)
        ratio("jobsync thread / RQ SimpleWorker", thread.rate / simple.rate)
    else:
        print("  RQ comparisons: skipped (rq is not installed; see bench/README.md)")
    few, many, raw = results["latency-few"], results["latency-many"], results["latency-dramatiq"]
    raw_p50 = common.median(raw.start_ms)
    for latency in (few, many):
        p50 = common.median(latency.start_ms)
        ratio(f"idle request->start p50 ms, {latency.label.split(', ', 1)[1]}", p50, "<= 5 ms", p50 <= 5)
    for latency in (few, many):
        p50 = common.median(latency.send_ms)
        ratio(f"idle send->start p50 ms, {latency.label.split(', ', 1)[1]}", p50, "<= 5 ms", p50 <= 5)
    few_p50, many_p50 = common.median(few.start_ms), common.median(many.start_ms)
    ratio("p50 with many installed jobs / with one", many_p50 / few_p50, "<= 1.5", many_p50 <= 1.5 * few_p50)
    ratio("raw Dramatiq idle p50 / jobsync idle p50", raw_p50 / few_p50, "> 1", raw_p50 > few_p50)


def main() -> None:
    args = parse_args()
    began = time.perf_counter()
    common.fresh_database(args.database_url)
    common.print_header("jobsync dispatch benchmark", {
        "database": common.redact(args.database_url),
        "redis": common.redact(args.redis_url),
        "servers": ", ".join(common.server_versions(args.database_url, args.redis_url)),
        "workers": f"{args.processes} process(es) per engine, {args.threads} threads per "
                   "Dramatiq/jobsync process",
        "load": common.load_average(),
    })
    from service import bootstrap
    from service.config import load_settings

    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="jobsync-bench-") as scratch:
        log_dir = Path(scratch)
        print("(a) raw Dramatiq no-op actor drain", flush=True)
        results["dramatiq-1"] = median_drain(args, lambda: dramatiq_drain(args, log_dir, 1))
        print_drain(results["dramatiq-1"])
        results["dramatiq-p"] = median_drain(args, lambda: dramatiq_drain(args, log_dir, args.processes))
        print_drain(results["dramatiq-p"])

        print("(b) RQ no-op drain", flush=True)
        if rq_available():
            results["rq-fork"] = median_drain(args, lambda: rq_drain(args, log_dir, simple=False))
            print_drain(results["rq-fork"])
            results["rq-simple"] = median_drain(args, lambda: rq_drain(args, log_dir, simple=True))
            print_drain(results["rq-simple"])
        else:
            print("  skipped: rq is not installed (.venv/bin/pip install rq; see bench/README.md)")

        print("(c) jobsync trivial job (one log line, a result): PENDING row -> SUCCESS row", flush=True)
        settings = load_settings({"database_url": args.database_url, "redis_url": args.redis_url,
                                  "data_dir": str(log_dir / "data")}, environ={})
        runtime = bootstrap.configure(settings)
        job_id = js.create_trivial_job(runtime.db)
        postgres = common.PostgresCpu(args.database_url)
        results["floor"] = median_drain(args, lambda: floor_drain(args, runtime, job_id, log_dir, postgres))
        print_drain(results["floor"])
        for isolation in ("process", "thread"):
            enqueue, drain = median_drain(
                args, lambda isolation=isolation: jobsync_drain(args, runtime, job_id, log_dir, isolation,
                                                        postgres),
                key=lambda pair: pair[1].rate)
            print_drain(enqueue)
            print_drain(drain)
            results[f"jobsync-{isolation}"] = drain
        postgres.close()

        print_latency_heading(args)
        results["latency-dramatiq"] = dramatiq_latency(args, log_dir)
        print_latency(results["latency-dramatiq"], args)
        results["latency-few"] = jobsync_latency(
            args, runtime, job_id, log_dir, f"jobsync, {js.job_count(runtime.db)} installed job(s)")
        print_latency(results["latency-few"], args)
        js.install_jobs(runtime.db, args.installed_jobs, args.repositories)
        results["latency-many"] = jobsync_latency(
            args, runtime, job_id, log_dir,
            f"jobsync, {js.job_count(runtime.db)} installed jobs ({args.repositories} repos)")
        print_latency(results["latency-many"], args)
        bootstrap.reset()
    print_summary(results, args)
    print(f"\nload after: {common.load_average()}")
    print(f"total time {time.perf_counter() - began:.0f} s; reproduce with: {common.command_line()}")


if __name__ == "__main__":
    main()
