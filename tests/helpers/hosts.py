"""Simulated hosts: runtimes sharing the test database and broker, each with its own data dir."""

from __future__ import annotations

import dataclasses
import socket
import threading
from pathlib import Path

from sqlalchemy import select

from service.models import Job, JobResult
from service.runs.requests import enqueue_job
from service.worker.engine import run_job_result


def host(runtime, data_dir: Path, **settings):
    """Return a runtime like ``runtime`` (same database and broker) whose files live in ``data_dir``."""
    return dataclasses.replace(runtime, settings=runtime.settings.replace(data_dir=str(data_dir), **settings))


def enable(runtime, class_path: str) -> None:
    with runtime.db.session() as session:
        session.scalar(select(Job).where(Job.class_path == class_path)).enabled = True


def enqueue(runtime, class_path: str, data: dict, *, commit: str | None = None):
    """Queue a run of ``class_path`` (at the job's commit, or at ``commit``); return its id."""
    with runtime.db.session() as session:
        job = session.scalar(select(Job).where(Job.class_path == class_path))
        result = enqueue_job(session, job, data, known_queues=runtime.settings.all_queues)
        if commit:
            result.commit = commit
        return result.id


def run_on(worker_host, result_id) -> JobResult:
    """Run one queued run on ``worker_host``, as its worker would; return the finished row."""
    run_job_result(worker_host, str(result_id))
    with worker_host.db.session() as session:
        return session.get(JobResult, result_id)


class HangingListener:
    """A loopback TCP listener that accepts connections and never answers: a hanging remote."""

    def __init__(self):
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.port = self._socket.getsockname()[1]
        self.connected = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/team/jobs.git"

    def __enter__(self) -> HangingListener:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._socket.close()
        for connection in self._held:
            connection.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self._held.append(connection)
            self.connected.set()
