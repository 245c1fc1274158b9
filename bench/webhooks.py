"""Webhooks benchmark: signed push deliveries, change events with hook fan-out, push-to-reconciled.

Against gunicorn (2 worker processes, gthread) on 127.0.0.1, PostgreSQL and real Redis, driven
from this process over keep-alive HTTP connections:
  (a) signed GitHub push deliveries per second and their p99 latency: --deliveries in all, half of
      them repeats of a delivery id (answered "duplicate"), in a shuffled order;
  (b) NetBox change events per second, each matching --hooks enabled job hooks (each a JobResult);
  (c) push-to-reconciled for a --jobs job repository: from a finished ``git push`` to the Job rows
      at the new commit, through the webhook, a ``jobsync worker`` and the sync (``jobsync
      scheduler`` runs too); pushes come --push-gap apart, as to an idle repository.

Targets: (a) >= 500 deliveries/s, (b) >= 300 events/s, (c) p50 <= 1.5 s.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import random
import secrets
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import func, make_url, select  # noqa: E402

from bench import common  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/jobsync_webhooks_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
PUSH_SECRET, EVENTS_SECRET = "bench-push-secret", "bench-events-secret"
TARGETS = {"deliveries": 500.0, "events": 300.0, "reconciled_p50": 1.5}
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="PostgreSQL database (created if missing, emptied) [%(default)s]",
    )
    parser.add_argument(
        "--redis-url", default=DEFAULT_REDIS_URL, help="Redis database, FLUSHDB'd [%(default)s]"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes [%(default)s]")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker [%(default)s]")
    parser.add_argument(
        "--connections", type=int, default=16, help="concurrent client connections [%(default)s]"
    )
    parser.add_argument(
        "--deliveries", type=int, default=2000, help="push deliveries, half repeats [%(default)s]"
    )
    parser.add_argument("--events", type=int, default=600, help="change events [%(default)s]")
    parser.add_argument("--hooks", type=int, default=10, help="job hooks each event matches [%(default)s]")
    parser.add_argument("--jobs", type=int, default=100, help="jobs in the synced repository [%(default)s]")
    parser.add_argument(
        "--pushes", type=int, default=15, help="timed pushes to that repository [%(default)s]"
    )
    parser.add_argument(
        "--push-gap",
        type=float,
        default=1.1,
        help="seconds between those pushes, above webhook_coalesce_seconds (1) [%(default)s]",
    )
    return parser.parse_args()


class Client:
    """Keep-alive connections to the server, one per thread; records each request's latency."""

    def __init__(self, port: int):
        self.port = port
        self.local = threading.local()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            status = self._send(path, body, headers)
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed an idle keep-alive connection before this request went out: reconnect.
            self.local.connection = None
            status = self._send(path, body, headers)
        return status, time.perf_counter() - started

    def _send(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.local.connection = connection
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status

    def run(self, requests: list[tuple[str, bytes, dict[str, str]]], connections: int):
        """Send every request over ``connections`` connections; return (seconds, statuses, latencies)."""
        started = time.perf_counter()
        with ThreadPoolExecutor(connections) as pool:
            answers = list(pool.map(lambda request: self.post(*request), requests))
        seconds = time.perf_counter() - started
        return seconds, [status for status, _ in answers], [latency for _, latency in answers]


class CpuMeter:
    """CPU seconds used over a phase by the server's processes, its PostgreSQL backends, and the machine.

    The machine is shared: these figures say how much of it the server got, and what a request costs.
    """

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, server_group: int, db, database: str):
        self.server_group, self.db, self.database = server_group, db, database

    def sample(self) -> dict:
        from sqlalchemy import text

        with self.db.engine.connect() as connection:
            backends = set(
                connection.scalars(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": self.database}
                )
            )
        server, postgres = 0.0, {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pid, rest = stat.read_text().split(" (", 1)
            except OSError:  # the process ended meanwhile
                continue
            fields = rest.rsplit(") ", 1)[1].split()
            seconds = (int(fields[11]) + int(fields[12])) / self.TICK
            if int(fields[2]) == self.server_group:
                server += seconds
            elif int(pid) in backends:
                postgres[int(pid)] = seconds
        ticks = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / self.TICK
        return {"server": server, "postgres": postgres, "machine": busy, "wall": time.perf_counter()}

    @staticmethod
    def describe(before: dict, after: dict, requests: int) -> str:
        used = {key: after[key] - before[key] for key in ("server", "machine", "wall")}
        # Backends that ended during the phase take their CPU with them: count those still there.
        postgres = sum(
            seconds - before["postgres"].get(pid, 0.0) for pid, seconds in after["postgres"].items()
        )
        busy = used["machine"] / used["wall"] / (os.cpu_count() or 1)
        return (
            f"    cpu per request: server {used['server'] / requests * 1000:.2f} ms, its PostgreSQL "
            f"{postgres / requests * 1000:.2f} ms; machine {busy:.0%} busy, of which this server "
            f"{used['server'] / used['machine']:.0%}"
        )


# ----- set-up ----------------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True, capture_output=True, text=True
    ).stdout.strip()


def jobs_package(count: int, version: int) -> dict[str, str]:
    """A jobs package of ``count`` jobs in modules of ten; ``version`` shows in every description."""
    files = {}
    modules = [f"module_{index:03d}" for index in range((count + 9) // 10)]
    files["jobs/__init__.py"] = "".join(f"from . import {module}\n" for module in modules)
    for number, module in enumerate(modules):
        classes = [f"Job{number * 10 + index:04d}" for index in range(min(10, count - number * 10))]
        body = ["from service.jobs import Job, StringVar, register_jobs\n"]
        for name in classes:
            body.append(
                f"\nclass {name}(Job):\n    who = StringVar(default='x')\n\n"
                f"    class Meta:\n        description = 'Bench job, version {version}.'\n\n"
                f"    def run(self, who):\n        return who\n"
            )
        body.append(f"\nregister_jobs({', '.join(classes)})\n")
        files[f"jobs/{module}.py"] = "".join(body)
    return files


def write_and_commit(work: Path, files: dict[str, str], message: str) -> str:
    for relative, content in files.items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--no-gpg-sign", "-m", message)
    return git(work, "rev-parse", "HEAD")


def make_remote(directory: Path, jobs: int) -> tuple[Path, Path, str]:
    work, remote = directory / "work", directory / "remote.git"
    work.mkdir(parents=True)
    git(work, "init", "--quiet", "--initial-branch=main")
    sha = write_and_commit(work, jobs_package(jobs, 0), "version 0")
    git(directory, "init", "--quiet", "--bare", str(remote))
    git(work, "remote", "add", "origin", str(remote))
    git(work, "push", "--quiet", "origin", "main")
    return work, remote, sha


def create_rows(db, hooks: int, remote: Path) -> None:
    from service.models import GitRepository, Job, JobHook

    with db.session() as session:
        session.add(
            GitRepository(
                name="Pushed",
                slug="pushed",
                remote_url="/nonexistent/pushed.git",
                webhook_secret="env:JOBSYNC_BENCH_PUSH_SECRET",
            )
        )
        session.add(
            GitRepository(
                name="Synced",
                slug="synced",
                remote_url=str(remote),
                webhook_secret="env:JOBSYNC_BENCH_PUSH_SECRET",
            )
        )
        # The hooks' runs wait on the "low" queue, which no worker here serves: (b) measures acceptance.
        job = Job(
            source="system",
            module_name="bench.webhooks",
            job_class_name="BenchHook",
            class_path="system/bench.webhooks/BenchHook",
            name="Bench hook",
            enabled=True,
            installed=True,
            is_job_hook_receiver=True,
            has_sensitive_variables=False,
            variables=[],
            task_queues=["low"],
        )
        session.add(job)
        session.add_all(
            JobHook(name=f"hook {index}", content_types=["dcim.device"], job=job, type_update=True)
            for index in range(hooks)
        )


def server_environment(args, data_dir: Path) -> dict[str, str]:
    return {
        "JOBSYNC_DATABASE_URL": args.database_url,
        "JOBSYNC_REDIS_URL": args.redis_url,
        "JOBSYNC_DATA_DIR": str(data_dir),
        "JOBSYNC_ALLOW_LOCAL_REPOSITORIES": "true",
        "JOBSYNC_EVENTS_SECRET": "env:JOBSYNC_BENCH_EVENTS_SECRET",
        "JOBSYNC_LOG_LEVEL": "WARNING",
        "JOBSYNC_SECRET_KEY": secrets.token_hex(32),  # the web app refuses to start without one
        "JOBSYNC_BENCH_PUSH_SECRET": PUSH_SECRET,
        "JOBSYNC_BENCH_EVENTS_SECRET": EVENTS_SECRET,
    }


def wait_for_server(port: int) -> None:
    def up() -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False

    common.wait_until(up, timeout=60, interval=0.05, what="gunicorn to answer /healthz")


# ----- requests ----------------------------------------------------------------------------------


def github_delivery(delivery_id: str, after: str, slug: str = "pushed") -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 39 + "1",
            "after": after,
            "repository": {"full_name": "bench/jobs"},
        }
    ).encode()
    signature = "sha256=" + hmac.new(PUSH_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": signature,
    }
    return f"/webhooks/git/{slug}", body, headers


def netbox_event(index: int) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(
        {
            "event": "updated",
            "timestamp": "2024-06-03 14:12:08.431207+00:00",
            "object_type": "dcim.device",
            "username": "operator",
            "request_id": str(uuid.uuid4()),
            "data": {
                "id": index,
                "display": f"device-{index}",
                "name": f"device-{index}",
                "status": "active",
            },
            "snapshots": {
                "prechange": {"name": f"device-{index}", "status": "planned"},
                "postchange": {"name": f"device-{index}", "status": "active"},
            },
        }
    ).encode()
    signature = hmac.new(EVENTS_SECRET.encode(), body, hashlib.sha512).hexdigest()
    return "/webhooks/events", body, {"Content-Type": "application/json", "X-Hook-Signature": signature}


# ----- measurements --------------------------------------------------------------------------------


def measure_deliveries(client: Client, args, meter: CpuMeter) -> dict:
    def deliveries(prefix: str, count: int) -> list[tuple[str, bytes, dict[str, str]]]:
        ids = [f"{prefix}-{index}" for index in range(count // 2)] * 2  # every id twice: half are repeats
        random.Random(7).shuffle(ids)
        return [
            github_delivery(delivery_id, hashlib.sha1(delivery_id.encode()).hexdigest())
            for delivery_id in ids
        ]

    client.run(deliveries("warm-up", 100), args.connections)  # warm the server's connections and code paths
    before = meter.sample()
    seconds, statuses, latencies = client.run(deliveries("run", args.deliveries), args.connections)
    cpu = meter.describe(before, meter.sample(), len(statuses))
    return {
        "rate": len(statuses) / seconds,
        "p50": common.percentile(latencies, 0.5),
        "p99": common.percentile(latencies, 0.99),
        "accepted": statuses.count(202),
        "duplicates": statuses.count(200),
        "other": len(statuses) - statuses.count(202) - statuses.count(200),
        "cpu": cpu,
    }


def measure_events(client: Client, args, db, meter: CpuMeter) -> dict:
    from service.models import JobResult

    client.run([netbox_event(index) for index in range(20)], args.connections)  # warm-up
    with db.session() as session:
        runs_before = session.scalar(select(func.count()).select_from(JobResult))
    requests = [netbox_event(index) for index in range(args.events)]
    before = meter.sample()
    seconds, statuses, latencies = client.run(requests, args.connections)
    cpu = meter.describe(before, meter.sample(), len(statuses))
    with db.session() as session:
        runs = session.scalar(select(func.count()).select_from(JobResult)) - runs_before
    return {
        "rate": len(requests) / seconds,
        "p99": common.percentile(latencies, 0.99),
        "accepted": statuses.count(202),
        "runs": runs,
        "runs_rate": runs / seconds,
        "cpu": cpu,
    }


def measure_push_to_reconciled(client: Client, args, db, work: Path) -> dict:
    from service.models import GitRepository, Job

    def head() -> str | None:
        with db.session() as session:
            return session.scalar(select(GitRepository.current_head).where(GitRepository.slug == "synced"))

    def push(version: int) -> float:
        # Pushes to an idle repository: one per coalescing window, so none is held back to join a burst.
        time.sleep(args.push_gap)
        sha = write_and_commit(work, jobs_package(args.jobs, version), f"version {version}")
        git(work, "push", "--quiet", "origin", "main")
        pushed = time.perf_counter()
        status, _ = client.post(*github_delivery(str(uuid.uuid4()), sha, slug="synced"))
        assert status == 202, status
        common.wait_until(lambda: head() == sha, timeout=120, interval=0.002, what=f"sync to {sha[:12]}")
        return time.perf_counter() - pushed

    first = push(1)  # the first sync clones the mirror: timed, but not part of the figure
    times = [push(version) for version in range(2, args.pushes + 2)]
    with db.session() as session:
        installed = session.scalar(
            select(func.count()).select_from(Job).where(Job.repository_id.is_not(None))
        )
        description = session.scalar(select(Job.description).where(Job.repository_id.is_not(None)).limit(1))
    assert installed == args.jobs and f"version {args.pushes + 1}" in description, (installed, description)
    return {"first": first, "p50": common.median(times), "max": max(times), "jobs": installed}


# ----- main --------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    common.fresh_database(args.database_url)  # first: the header asks the database for its version
    common.print_header(
        "jobsync webhooks benchmark",
        {
            "servers": ", ".join(common.server_versions(args.database_url, args.redis_url)),
            "database": common.redact(args.database_url),
            "redis": common.redact(args.redis_url),
            "gunicorn": f"{args.workers} workers x {args.threads} threads (gthread); client "
            f"{args.connections} keep-alive connections from this process",
        },
    )
    redis.Redis.from_url(args.redis_url).flushdb()
    from service.infra.db import Database

    db = Database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="jobsync-bench-webhooks-") as temporary:
        temporary = Path(temporary)
        work, remote, _ = make_remote(temporary / "git", args.jobs)
        create_rows(db, args.hooks, remote)
        environment = server_environment(args, temporary / "data")
        port = free_port()
        with common.Processes(temporary) as processes:
            server = processes.start(
                "gunicorn",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(args.workers),
                    "--worker-class",
                    "gthread",
                    "--threads",
                    str(args.threads),
                    "--log-level",
                    "warning",
                    "service.app:create_app()",
                ],
                env=environment,
            )
            wait_for_server(port)
            client = Client(port)
            meter = CpuMeter(server.pid, db, make_url(args.database_url).database)
            deliveries = measure_deliveries(client, args, meter)
            print(
                f"(a) deliveries: {deliveries['rate']:.0f}/s, p50 {deliveries['p50'] * 1000:.1f} ms, "
                f"p99 {deliveries['p99'] * 1000:.1f} ms  [{deliveries['accepted']} accepted, "
                f"{deliveries['duplicates']} duplicate, {deliveries['other']} other]",
                flush=True,
            )
            print(deliveries["cpu"], flush=True)
            events = measure_events(client, args, db, meter)
            print(
                f"(b) events:     {events['rate']:.0f}/s, p99 {events['p99'] * 1000:.1f} ms  "
                f"[{events['accepted']} accepted, {events['runs']} JobResults = {events['runs_rate']:.0f} "
                f"runs queued/s]",
                flush=True,
            )
            print(events["cpu"], flush=True)
            processes.start(
                "worker",
                [sys.executable, "-m", "service.cli", "worker", "default", "--threads", "2"],
                env=environment,
            )
            processes.start("scheduler", [sys.executable, "-m", "service.cli", "scheduler"], env=environment)
            reconciled = measure_push_to_reconciled(client, args, db, work)
            print(
                f"(c) push-to-reconciled ({reconciled['jobs']} jobs): p50 {reconciled['p50']:.2f} s, "
                f"max {reconciled['max']:.2f} s over {args.pushes} pushes (first sync, cloning: "
                f"{reconciled['first']:.2f} s)",
                flush=True,
            )
            processes.check_alive()
    db.dispose()
    print()
    verdicts = [
        ("deliveries/s", deliveries["rate"], ">=", TARGETS["deliveries"]),
        ("events/s", events["rate"], ">=", TARGETS["events"]),
        ("push-to-reconciled p50 s", reconciled["p50"], "<=", TARGETS["reconciled_p50"]),
    ]
    failed = False
    for label, value, relation, target in verdicts:
        ok = value >= target if relation == ">=" else value <= target
        failed |= not ok
        print(f"target {label:26} {relation} {target:<6g} measured {value:8.2f}  {'met' if ok else 'MISSED'}")
    return 1 if failed else 0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
