"""The runs this worker process is executing right now, so its heartbeat tells the truth.

A run is added when its claim succeeds and removed once its outcome is recorded or the worker
gives it up (service.worker.release). The heartbeat stamps only runs listed here whose executing
thread is alive: a run whose thread died, or whose recording the worker gave up on, stops
beating, and the scheduler's sweep ends it.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid


@dataclasses.dataclass
class LiveRun:
    id: uuid.UUID
    thread: threading.Thread
    #: Set once the job's own code may have run: from then on the run is failed, never re-queued.
    job_code_started: bool = False
    #: Set once its transient input (sensitive values, uploads) was taken: it cannot run again either.
    input_taken: bool = False

    @property
    def may_requeue(self) -> bool:
        return not (self.job_code_started or self.input_taken)


class LiveRuns:
    """A thread-safe registry of the runs this process holds."""

    def __init__(self):
        self._runs: dict[uuid.UUID, LiveRun] = {}
        self._lock = threading.Lock()

    def add(self, run_id: uuid.UUID) -> LiveRun:
        """Register ``run_id`` as executed by the calling thread."""
        run = LiveRun(run_id, threading.current_thread())
        with self._lock:
            self._runs[run_id] = run
        return run

    def remove(self, run_id: uuid.UUID) -> LiveRun | None:
        with self._lock:
            return self._runs.pop(run_id, None)

    def get(self, run_id: uuid.UUID) -> LiveRun | None:
        with self._lock:
            return self._runs.get(run_id)

    def alive_ids(self) -> list[uuid.UUID]:
        """The runs whose executing thread is still alive: the only ones worth a heartbeat."""
        with self._lock:
            return [run.id for run in self._runs.values() if run.thread.is_alive()]

    def snapshot(self) -> list[LiveRun]:
        with self._lock:
            return list(self._runs.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)


#: This process's runs (one registry per process, like its heartbeat thread).
live_runs = LiveRuns()
