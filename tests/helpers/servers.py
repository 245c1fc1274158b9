"""Throwaway servers that a test owns and may stop and start (real processes, free ports)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout: float = 10.0, interval: float = 0.02, message: str = "condition"):
    """Poll ``condition`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class RedisServer:
    """A redis-server on a free 127.0.0.1 port, keeping nothing on disk."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _ping(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_timeout=0.5).ping()
        except redis.ConnectionError:
            return False

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._ping, message=f"redis on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _pg_bin() -> Path:
    """The directory holding initdb and pg_ctl: PATH first, else the newest Debian cluster's."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    def version(path: Path) -> int:
        name = path.parent.parent.name
        return int(name) if name.isdigit() else 0

    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version)
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    return candidates[-1].parent


class PostgresServer:
    """A PostgreSQL cluster of a test's own on a free port, which the test may stop and restart.

    As root, the server runs as the unprivileged user scripts/services.sh uses (initdb refuses root),
    so ``directory`` must be reachable by it: ``PostgresServer.temporary()`` makes one under /tmp.
    """

    OS_USER = os.environ.get("JOBSYNC_PG_OS_USER", "jobsync-test")
    ROLE, DATABASE = "jobsync", "jobsync_faults"

    def __init__(self, directory: Path):
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.bin = _pg_bin()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.ROLE}@127.0.0.1:{self.port}/{self.DATABASE}"

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            command = ("runuser", "-u", self.OS_USER, "--", *command)
        return subprocess.run(command, cwd=self.directory, check=check, capture_output=True, text=True)

    def _ready(self) -> bool:
        return subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port),
                               "-U", self.ROLE, "-d", "postgres"]).returncode == 0

    @classmethod
    def temporary(cls) -> PostgresServer:
        directory = Path(tempfile.mkdtemp(prefix="jobsync-faults.", dir="/tmp"))
        os.chmod(directory, 0o711)
        return cls(directory / "pg")

    def remove(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.directory.parent, ignore_errors=True)

    def init(self) -> PostgresServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            if subprocess.run(["id", "-u", self.OS_USER], capture_output=True).returncode != 0:
                subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                                "--shell", "/usr/sbin/nologin", self.OS_USER], check=True)
            os.chmod(self.directory, 0o777)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.ROLE, "--auth=trust",
                  "--encoding=UTF8", "--no-locale", "--no-sync")
        self.start()
        subprocess.run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.ROLE,
                        self.DATABASE], check=True)
        return self

    def start(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port}"
                   f" -c unix_socket_directories={self.directory}"
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        log = str(self.directory / "postgres.log")
        pg_ctl = str(self.bin / "pg_ctl")
        self._run(pg_ctl, "-D", str(self.data), "-l", log, "-W", "-s", "-o", options, "start")
        wait_until(self._ready, timeout=60, interval=0.05, message=f"postgresql on port {self.port}")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-s", "-t", "60", "-w", "stop",
                  check=False)

    def restart(self) -> None:
        """``pg_ctl restart -m fast``, as an operator's maintenance window does."""
        self.stop()
        self.start()
