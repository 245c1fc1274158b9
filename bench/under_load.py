"""Under load: enqueue-to-start latency while a steady stream of runs flows through the API (issue 20).

Real processes on PostgreSQL and Redis: gunicorn (--web-workers x --web-threads, gthread) serving
``POST /api/extras/jobs/<id>/run/`` with token auth, ``jobsync worker default`` processes
(--workers x --threads, --isolation) running bench/trivial_jobs.py's job, and a client in this
process sending --rate requests/s open-loop (each request at its scheduled moment, whatever the
answers before it) over --connections keep-alive connections: --warm-up seconds, then --seconds
measured.

Prints the achieved request rate and the answers' latency, enqueue-to-start p50/p99 from the
JobResult rows (``started - created``: ``created`` is stamped in the request, before the row's
commit and the message's send), the CPU per run of the web processes, the workers, PostgreSQL,
Redis and this client, how busy the machine was, the load averages and the command.
Target (issue 20): enqueue-to-start p99 <= 50 ms while 300 runs/s flow through the API.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import secrets
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench import common  # noqa: E402
from bench import jobsync_runs as js  # noqa: E402
from bench.webhooks import free_port, wait_for_server  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/jobsync_bench_under_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
TARGET_RATE, TARGET_P99_MS = 300.0, 50.0
DRAIN_SECONDS = 60.0
LATENCIES = text(
    "SELECT EXTRACT(EPOCH FROM started - created) * 1000 FROM job_results "
    "WHERE class_path = :path AND created >= :since AND created < :until"
)
NOT_STARTED = text(
    "SELECT count(*) FROM job_results WHERE class_path = :path AND started IS NULL"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="PostgreSQL database (created if missing, emptied) [%(default)s]")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL,
                        help="Redis database, FLUSHDB'd [%(default)s]")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="requests per second [%(default)s]")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds [%(default)s]")
    parser.add_argument("--warm-up", type=float, default=5.0, help="seconds sent before [%(default)s]")
    parser.add_argument("--connections", type=int, default=16,
                        help="concurrent client connections [%(default)s]")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes [%(default)s]")
    parser.add_argument("--web-threads", type=int, default=8,
                        help="threads per gunicorn worker [%(default)s]")
    parser.add_argument("--workers", type=int, default=2, help="jobsync worker processes [%(default)s]")
    parser.add_argument("--threads", type=int, default=8, help="threads per jobsync worker [%(default)s]")
    parser.add_argument("--isolation", choices=("process", "thread"), default="thread",
                        help="the workers' isolation [%(default)s]")
    return parser.parse_args()


class Stream:
    """Open-loop requests: connection ``i`` sends requests ``i``, ``i + C``, ... each at its own moment."""

    def __init__(self, port: int, path: str, headers: dict[str, str], body: bytes):
        self.port, self.path, self.headers, self.body = port, path, headers, body
        self.answers: list[tuple[float, float, int]] = []  # (moment sent, seconds, status)
        self.lock = threading.Lock()

    def run(self, rate: float, seconds: float, connections: int, began: float) -> None:
        """Send ``rate`` x ``seconds`` requests, the first at ``began`` (time.time())."""
        total = int(rate * seconds)
        threads = [threading.Thread(target=self._connection, args=(index, connections, total, rate, began))
                   for index in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _connection(self, index: int, connections: int, total: int, rate: float, began: float) -> None:
        connection = None
        answers = []
        for number in range(index, total, connections):
            moment = began + number / rate
            delay = moment - time.time()
            if delay > 0:
                time.sleep(delay)
            sent, sent_at = time.perf_counter(), time.time()
            for _ in range(2):  # a keep-alive connection the server closed meanwhile: reconnect once
                try:
                    if connection is None:
                        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                    connection.request("POST", self.path, body=self.body, headers=self.headers)
                    response = connection.getresponse()
                    response.read()
                    break
                except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                    connection = None
            answers.append((sent_at, time.perf_counter() - sent, response.status))
        with self.lock:
            self.answers.extend(answers)


class Meter:
    """CPU seconds of the web processes, the workers, PostgreSQL, Redis, this client and the machine."""

    def __init__(self, web: common.Processes, workers: common.Processes, postgres: common.PostgresCpu,
                 redis_client):
        self.web, self.workers, self.postgres, self.redis = web, workers, postgres, redis_client

    def sample(self) -> dict:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        info = self.redis.info("cpu")
        ticks = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return {
            "web": self.web.cpu_seconds(), "workers": self.workers.cpu_seconds(),
            "postgres": self.postgres.sample(), "client": usage.ru_utime + usage.ru_stime,
            "redis": info["used_cpu_sys"] + info["used_cpu_user"],
            "machine": (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK"),
            "wall": time.perf_counter(),
        }

    @staticmethod
    def describe(before: dict, after: dict, runs: int) -> list[str]:
        used = {key: after[key] - before[key]
                for key in ("web", "workers", "client", "redis", "machine", "wall")}
        postgres = common.PostgresCpu.used(before["postgres"], after["postgres"])
        per_run = {"web": used["web"], "workers": used["workers"], "PostgreSQL": postgres,
                   "Redis (whole server)": used["redis"], "client": used["client"]}
        parts = [f"{name} {seconds * 1000 / max(runs, 1):.2f} ms" for name, seconds in per_run.items()
                 if seconds is not None]
        cores = {name: seconds / used["wall"] for name, seconds in per_run.items() if seconds is not None}
        return [
            "CPU per run: " + ", ".join(parts),
            "cores used:  " + ", ".join(f"{name} {value:.2f}" for name, value in cores.items())
            + f"; machine {used['machine'] / used['wall']:.2f} of {os.cpu_count()}",
        ]


def create_rows(db) -> tuple[str, str]:
    """The trivial job and a user allowed to run it with an API token; return the job id and key."""
    from service.users import create_token, create_user

    job_id = js.create_trivial_job(db)
    with db.session() as session:
        user = create_user(session, "bench", permissions=["run_job"])
        _, key = create_token(session, user, description="bench/under_load.py")
    return str(job_id), key


def environment(args, data_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("JOBSYNC_")}
    env.update(JOBSYNC_DATABASE_URL=args.database_url, JOBSYNC_REDIS_URL=args.redis_url,
               JOBSYNC_DATA_DIR=str(data_dir), JOBSYNC_ISOLATION=args.isolation,
               JOBSYNC_LOG_LEVEL="WARNING", JOBSYNC_SECRET_KEY=secrets.token_hex(32))
    return env


def start_web(processes: common.Processes, args, env: dict[str, str], port: int) -> None:
    processes.start("gunicorn", [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(args.web_workers),
        "--worker-class", "gthread", "--threads", str(args.web_threads), "--log-level", "warning",
        "service.app:create_app()"], env=env)


def start_workers(processes: common.Processes, args, env: dict[str, str]) -> None:
    for _ in range(args.workers):
        processes.start("worker", [sys.executable, "-m", "service.cli", "worker", "default",
                                   "--threads", str(args.threads)], env=env)


def wait_for_starts(db, timeout: float) -> int:
    """Wait until every run has started (or ``timeout``); return how many have not."""
    deadline = time.monotonic() + timeout
    with db.engine.connect() as connection:
        while True:
            left = connection.scalar(NOT_STARTED, {"path": js.TRIVIAL_PATH})
            connection.rollback()
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.05)


def start_latencies(db, since: float, until: float) -> list[float]:
    with db.engine.connect() as connection:
        rows = connection.scalars(LATENCIES, {
            "path": js.TRIVIAL_PATH, "since": datetime.fromtimestamp(since, UTC),
            "until": datetime.fromtimestamp(until, UTC)}).all()
    return [float("inf") if value is None else float(value) for value in rows]  # never started: infinite


def main() -> int:
    args = parse_args()
    began = time.perf_counter()
    common.fresh_database(args.database_url)
    common.print_header("jobsync under load: enqueue-to-start while runs flow through the API", {
        "servers": ", ".join(common.server_versions(args.database_url, args.redis_url)),
        "database": common.redact(args.database_url),
        "redis": common.redact(args.redis_url),
        "web": f"gunicorn {args.web_workers} workers x {args.web_threads} threads (gthread)",
        "workers": f"{args.workers} x jobsync worker default --threads {args.threads}, "
                   f"isolation={args.isolation}",
        "stream": f"{args.rate:g} requests/s open-loop over {args.connections} keep-alive connections, "
                  f"{args.warm_up:g} s warm-up + {args.seconds:g} s measured",
        "load": common.load_average(),
    })
    client = redis.Redis.from_url(args.redis_url)
    client.flushdb()
    from service.infra.db import Database

    db = Database(args.database_url)
    job_id, key = create_rows(db)
    postgres = common.PostgresCpu(args.database_url)
    with tempfile.TemporaryDirectory(prefix="jobsync-bench-under-load-") as scratch:
        scratch = Path(scratch)
        env, port = environment(args, scratch / "data"), free_port()
        with common.Processes(scratch) as web, common.Processes(scratch) as workers:
            start_web(web, args, env, port)
            start_workers(workers, args, env)
            wait_for_server(port)
            stream = Stream(port, f"/api/extras/jobs/{job_id}/run/",
                            {"Authorization": f"Token {key}", "Content-Type": "application/json"},
                            json.dumps({"data": {}}).encode())
            meter = Meter(web, workers, postgres, client)
            samples = {}

            def sample_at(moment: float, name: str) -> None:
                time.sleep(max(0.0, moment - time.time()))
                samples[name] = meter.sample()

            total = args.warm_up + args.seconds
            stream_began = time.time() + 0.5
            measured_from, measured_until = stream_began + args.warm_up, stream_began + total
            sampler = threading.Thread(target=sample_at, args=(measured_from, "from"))
            sampler.start()
            stream.run(args.rate, total, args.connections, stream_began)
            sampler.join()
            # A server slower than the stream answers late: the window ends with the last answer.
            measured_until = time.time()
            samples["until"] = meter.sample()
            not_started = wait_for_starts(db, DRAIN_SECONDS)
            web.check_alive()
            workers.check_alive()
            load_after = common.load_average()
    answers = [(moment, seconds, status) for moment, seconds, status in stream.answers
               if moment >= measured_from]
    latencies = start_latencies(db, measured_from, measured_until)  # the runs the server created meanwhile
    postgres.close()
    db.dispose()
    achieved = len(latencies) / (measured_until - measured_from)
    created = [status for _, _, status in answers if status == 201]
    p50, p99 = common.percentile(latencies, 0.5), common.percentile(latencies, 0.99)
    request_times = [seconds * 1000 for _, seconds, _ in answers]
    window = measured_until - measured_from
    print(f"requests:   {args.rate:g}/s asked; {len(latencies)} runs created in the {window:.1f} s "
          f"measured = {achieved:.0f}/s achieved; of {len(answers)} requests sent meanwhile {len(created)} "
          f"answered 201, {len(answers) - len(created)} otherwise")
    print(f"answers:    p50 {common.percentile(request_times, 0.5):.1f} ms, "
          f"p99 {common.percentile(request_times, 0.99):.1f} ms")
    print(f"enqueue-to-start (JobResult started - created, {len(latencies)} runs): p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms" + (f"; {not_started} never started within {DRAIN_SECONDS:g} s"
                                 if not_started else ""))
    for line in Meter.describe(samples["from"], samples["until"], len(latencies)):
        print(line)
    print()
    rate_ok, p99_ok = achieved >= 0.97 * TARGET_RATE, p99 <= TARGET_P99_MS
    print(f"target runs/s through the API >= {TARGET_RATE:g}     measured {achieved:8.1f}  "
          f"{common.verdict(rate_ok)}")
    print(f"target enqueue-to-start p99 <= {TARGET_P99_MS:g} ms  measured {p99:8.1f}  "
          f"{common.verdict(p99_ok)}")
    print(f"\nload after: {load_after}")
    print(f"total time {time.perf_counter() - began:.0f} s; reproduce with: {common.command_line()}")
    return 0 if rate_ok and p99_ok else 1


if __name__ == "__main__":
    sys.exit(main())
