"""Every Prometheus metric jobsync exports, defined in one place, and the calls that record them.

Labels stay bounded: ``job`` is an installed job's class path (anything else is recorded as
``other``), ``repository`` a repository slug, ``queue`` a configured queue; never an object id.
Across processes (gunicorn, workers, schedulers) set ``PROMETHEUS_MULTIPROC_DIR`` before start:
prometheus-client then writes each process's values to files that ``GET /metrics`` merges.
The README's "Metrics" table documents each one; keep the two in step.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import REGISTRY

#: The ``job`` label of runs whose job is not installed (deleted, service runners, unknown).
OTHER_JOB = "other"

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

RUNS_STARTED = Counter("jobsync_runs_started_total", "Runs claimed by a worker.", ["job", "queue"])
RUNS_FINISHED = Counter(
    "jobsync_runs_finished_total", "Runs a worker finished, by final status.", ["job", "queue", "status"]
)
RUN_DURATION = Histogram("jobsync_run_duration_seconds", "Run time from claim to outcome.", ["job"],
                         buckets=_SLOW)
RUN_START_LATENCY = Histogram(
    "jobsync_run_start_latency_seconds", "Enqueue-to-start: message sent to run claimed.", ["queue"],
    buckets=_FAST,
)
SYNCS = Counter("jobsync_syncs_total", "Repository syncs, by outcome.", ["repository", "outcome"])
SYNC_DURATION = Histogram("jobsync_sync_duration_seconds", "Repository sync time.", ["repository"],
                          buckets=_SLOW)
SYNC_LAG = Histogram(
    "jobsync_sync_lag_seconds", "Push received to its commit installed.", ["repository"], buckets=_SLOW
)
WEBHOOK_DELIVERIES = Counter(
    "jobsync_webhook_deliveries_total", "Git push deliveries, by provider and outcome.",
    ["provider", "outcome"],
)
CHANGE_EVENTS = Counter("jobsync_change_events_total", "Object change events received, by outcome.",
                        ["outcome"])
HOOK_RUNS = Counter("jobsync_hook_runs_total", "Job hook runs started by change events.")
SCHEDULE_LATENESS = Histogram(
    "jobsync_schedule_lateness_seconds", "Scheduled slot time to the run's creation.", buckets=_SLOW
)
HOUSEKEEPING_PURGED = Counter(
    "jobsync_housekeeping_purged_total", "Rows housekeeping deleted, by kind.", ["kind"]
)
NOTIFICATIONS = Counter(
    "jobsync_notifications_total", "Notification delivery attempts, by channel and outcome.",
    ["channel", "outcome"],
)


_enabled = True


def enable(flag: bool) -> None:
    """Record metrics (the default) or nothing at all (``metrics_enabled: false``)."""
    global _enabled
    _enabled = flag


def seconds_since(moment: datetime | None, now: datetime | None = None) -> float | None:
    """Seconds from ``moment`` (naive means UTC, as SQLite returns it) to now; None without one."""
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - moment).total_seconds()


def job_label(class_path: str | None, installed: bool) -> str:
    """The bounded ``job`` label: the class path of an installed job, else ``other``."""
    return class_path if installed and class_path else OTHER_JOB


def run_started(job: str, queue: str, latency_seconds: float | None) -> None:
    if not _enabled:
        return
    RUNS_STARTED.labels(job, queue).inc()
    if latency_seconds is not None and latency_seconds >= 0:
        RUN_START_LATENCY.labels(queue).observe(latency_seconds)


def run_finished(job: str, queue: str, status: str, duration_seconds: float) -> None:
    if not _enabled:
        return
    RUNS_FINISHED.labels(job, queue, status).inc()
    RUN_DURATION.labels(job).observe(max(0.0, duration_seconds))


def sync_finished(repository: str, outcome: str, duration_seconds: float) -> None:
    if not _enabled:
        return
    SYNCS.labels(repository, outcome).inc()
    SYNC_DURATION.labels(repository).observe(max(0.0, duration_seconds))


def sync_lag(repository: str, seconds: float) -> None:
    if not _enabled:
        return
    SYNC_LAG.labels(repository).observe(max(0.0, seconds))


def webhook_delivery(provider: str, outcome: str) -> None:
    if not _enabled:
        return
    WEBHOOK_DELIVERIES.labels(provider, outcome).inc()


def change_event(outcome: str, hook_runs: int) -> None:
    if not _enabled:
        return
    CHANGE_EVENTS.labels(outcome).inc()
    if hook_runs:
        HOOK_RUNS.inc(hook_runs)


def schedule_fired(lateness_seconds: float) -> None:
    if not _enabled:
        return
    SCHEDULE_LATENESS.observe(max(0.0, lateness_seconds))


def housekeeping_purged(counts: dict[str, int]) -> None:
    if not _enabled:
        return
    for kind, count in counts.items():
        if count:
            HOUSEKEEPING_PURGED.labels(kind).inc(count)


def notification_attempt(channel: str, outcome: str) -> None:
    if not _enabled:
        return
    NOTIFICATIONS.labels(channel, outcome).inc()


def is_multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir"))


def exposition(*collectors) -> bytes:
    """Render every process's metrics (merged in multiprocess mode) and ``collectors``' in text format."""
    if is_multiprocess():
        base = CollectorRegistry()
        multiprocess.MultiProcessCollector(base)
    else:
        base = REGISTRY
    return generate_latest(_Union(base, *collectors))


class _Union:
    """A registry-like view over several collectors, for one exposition."""

    def __init__(self, *collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def mark_process_dead(pid: int) -> None:
    """Forget a dead process's live values (gunicorn's ``child_exit`` hook calls this)."""
    if is_multiprocess():
        multiprocess.mark_process_dead(pid)


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
