"""What both benchmarks share: server URLs, a fresh database, worker subprocesses, statistics."""

from __future__ import annotations

import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/jobsync_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"


def redact(url: str) -> str:
    """Return ``url`` with any password replaced by ``***`` (figures are printed and shared)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def command_line() -> str:
    """The command that reproduces this run, as typed from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(ROOT)
    except ValueError:
        pass
    return shlex.join([".venv/bin/python", str(script), *sys.argv[1:]])


def print_header(title: str, settings: dict[str, str]) -> None:
    print(f"== {title}")
    print(f"command:  {command_line()}")
    print(f"machine:  {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    for key, value in settings.items():
        print(f"{key + ':':9} {value}")
    print(flush=True)


def fresh_database(url: str) -> None:
    """Create the database if missing, empty it and migrate it to head."""
    from sqlalchemy import text

    from service.infra.db import Database

    if url.startswith("postgresql"):
        _create_postgres_database(url)
        database = Database(url)
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        path = Path(url.split(":///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        database = Database(url)
    database.upgrade()
    database.dispose()


def _create_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": target.database})
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def server_versions(database_url: str | None = None, redis_url: str | None = None) -> list[str]:
    versions = []
    if database_url and database_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(database_url)
        with engine.connect() as connection:
            versions.append("PostgreSQL " + connection.scalar(text("SHOW server_version")))
        engine.dispose()
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url)
        versions.append("Redis " + client.info("server")["redis_version"])
        client.close()
    return versions


def wait_until(condition: Callable[[], object], *, timeout: float, interval: float = 0.005,
               what: str = "condition"):
    """Poll ``condition`` until it returns something truthy; raise TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


class Processes:
    """Subprocesses this benchmark started, stopped (by their own pids) when the block ends."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        # The child keeps its own copy of the descriptor, so ours is closed at once.
        log = open(self.log_dir / f"{name}-{len(self.started)}.log", "wb")
        child_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        process = subprocess.Popen(argv, cwd=ROOT, env=child_env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.started.append(process)
        return process

    def check_alive(self) -> None:
        for process in self.started:
            if process.poll() is not None and process.returncode != 0:
                raise RuntimeError(f"worker {shlex.join(process.args)} exited with {process.returncode}; "
                                   f"see its log in {self.log_dir}")

    def cpu_seconds(self) -> float:
        """CPU used so far by these processes and all their descendants (reaped ones included)."""
        return tree_cpu_seconds([process.pid for process in self.started])

    def stop(self, timeout: float = 15.0) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)  # its own session: the worker and its job children
        deadline = time.monotonic() + timeout
        for process in self.started:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.started.clear()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: figures taken on a busy machine are not comparable."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores"


class PostgresCpu:
    """CPU seconds used by the PostgreSQL backends serving one database on this machine.

    Backends that end between two samples take their CPU with them; the workers' pooled
    connections live through a measurement, so little is lost. A remote server reads as None.
    This bench's own backends (this sampler's, and those named in ``exclude``) are left out.
    """

    def __init__(self, database_url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.database = make_url(database_url).database
        self.engine = create_engine(database_url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.local = make_url(database_url).host in ("127.0.0.1", "localhost", None)
        self.exclude: set[int] = set()

    def sample(self) -> dict[int, float] | None:
        from sqlalchemy import text

        if not self.local:
            return None
        with self.engine.connect() as connection:
            pids = connection.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = :name "
                                           "AND pid <> pg_backend_pid()"), {"name": self.database}).all()
        ticks, seconds = os.sysconf("SC_CLK_TCK"), {}
        for pid in set(pids) - self.exclude:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
        return seconds

    @staticmethod
    def used(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
        if before is None or after is None:
            return None
        return sum(value - before.get(pid, 0.0) for pid, value in after.items())

    def close(self) -> None:
        self.engine.dispose()


def tree_cpu_seconds(roots: list[int]) -> float:
    """User + system CPU of ``roots`` and their live descendants, with the children they reaped."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    wanted, frontier = set(roots), list(roots)
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in wanted]
        wanted.update(children)
        frontier.extend(children)
    return sum(cpu.get(pid, 0) for pid in wanted) / ticks
