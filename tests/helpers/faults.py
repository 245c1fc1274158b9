"""The fault scenario: real PostgreSQL, Redis, workers and schedulers under a stream of API run
requests, while servers restart and workers are killed. Shared by tests/faults and bench/faults.py.

Everything is real and owned by the scenario: its own PostgreSQL cluster and Redis server (so
restarting them disturbs nobody), ``jobsync worker`` and ``jobsync scheduler`` subprocesses, and
the Flask app in this process, called through its test client by client threads that retry a
refused request with the same Idempotency-Key, as a careful client does.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from service import bootstrap
from service.config import load_settings
from service.models import IdempotencyKey, Job, JobLogEntry, JobResult, Status
from service.users import create_token, create_user
from tests.helpers.factories import TEST_SECRET_KEY
from tests.helpers.servers import PostgresServer, RedisServer, wait_until

ROOT = Path(__file__).resolve().parent.parent.parent
NAP_VARIABLES = [{"name": "milliseconds", "type": "IntegerVar", "required": False, "default": 200}]
#: Settings of every process in the scenario: short windows, so a fault settles in seconds.
SCENARIO_SETTINGS = {
    "heartbeat_seconds": "0.5",
    "worker_lost_seconds": "5",
    "resend_pending_after_seconds": "3",
    "scheduler_tick_seconds": "0.5",
    "db_outage_grace_seconds": "60",
    "shutdown_grace_seconds": "5",
    "outage_retry_after_seconds": "1",
}
#: Endings a run may have for a reason the scenario caused on purpose (a killed or stopped worker).
EXPECTED_FAILURES = ("Worker lost", "The worker stopped")


@dataclasses.dataclass
class Options:
    workers: int = 2
    threads: int = 4
    clients: int = 2
    client_pause: float = 0.5  # between one client's requests: a rate two busy cores keep up with
    nap_ms: int = 200
    redis_down_seconds: float = 3.0
    settle_timeout: float = 90.0


class Stream:
    """Client threads posting run requests; every answer is counted under the current phase."""

    def __init__(self, app, token: str, job_id: uuid.UUID, options: Options):
        self.app, self.token, self.job_id, self.options = app, token, job_id, options
        self.phase = "warm-up"
        self.codes: dict[str, Counter] = {}
        self.accepted: dict[uuid.UUID, float] = {}  # run id -> when accepted (monotonic)
        self.given_up: list[str] = []  # keys whose request was refused for good
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, daemon=True, name=f"fault-client-{n}")
                         for n in range(options.clients)]

    def start(self) -> Stream:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _note(self, code) -> None:
        with self._lock:
            self.codes.setdefault(self.phase, Counter())[code] += 1

    def _post(self, client, key: str):
        try:
            response = client.post(f"/api/extras/jobs/{self.job_id}/run/",
                                   json={"data": {"milliseconds": self.options.nap_ms}},
                                   headers={"Authorization": f"Token {self.token}", "Idempotency-Key": key})
        except Exception as exc:  # an exception escaping the app is as bad as a 500
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return "exception", None
        return response.status_code, response

    def _client(self) -> None:
        client = self.app.test_client()
        while not self._stop.is_set():
            key = uuid.uuid4().hex
            give_up_at = time.monotonic() + 60
            while True:
                code, response = self._post(client, key)
                self._note(code)
                if code == 201:
                    run_id = uuid.UUID(response.get_json()["job_result"]["id"])
                    with self._lock:
                        self.accepted.setdefault(run_id, time.monotonic())
                    break
                retry_after = float((response.headers.get("Retry-After") if response is not None else 0) or 0)
                if code != 503 or self._stop.is_set() or time.monotonic() > give_up_at:
                    self.given_up.append(key)
                    break
                self._stop.wait(min(retry_after, 0.3))  # a client's own pause before retrying
            self._stop.wait(self.options.client_pause)

    def accepted_before(self, moment: float) -> list[uuid.UUID]:
        with self._lock:
            return [run_id for run_id, when in self.accepted.items() if when <= moment]


class Scenario:
    """Servers, processes, app and stream of one fault run; use as a context manager."""

    def __init__(self, options: Options | None = None):
        self.options = options or Options()
        self.pg = PostgresServer.temporary()
        self.directory = self.pg.directory.parent
        self.redis = RedisServer(self.directory)
        self.workers: list[subprocess.Popen] = []
        self.schedulers: list[subprocess.Popen] = []
        self.settle_seconds: dict[str, float] = {}
        self.fault_log: list[str] = []

    # -- set-up ---------------------------------------------------------------------------------
    def __enter__(self) -> Scenario:
        try:
            self.pg.init()
            self.redis.start()
            self.settings = load_settings(
                {"database_url": self.pg.url, "redis_url": self.redis.url,
                 "data_dir": str(self.directory / "data"), "secret_key": TEST_SECRET_KEY,
                 **SCENARIO_SETTINGS}, environ={})
            self.runtime = bootstrap.configure(self.settings)
            self.runtime.db.upgrade()
            self.job_id, token = self._job_and_token()
            from service.app import create_app

            self.app = create_app(runtime=self.runtime)
            for _ in range(self.options.workers):
                self.start_worker()
            self.schedulers.append(self._spawn("scheduler", "scheduler"))
            self.wait_for_workers(self.options.workers)
            wait_until(lambda: "scheduler started" in self.logs(), timeout=120, interval=0.1,
                       message="the scheduler to start")
            self.stream = Stream(self.app, token, self.job_id, self.options)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        stream = getattr(self, "stream", None)
        if stream is not None:
            stream.stop()
        for process in self.workers + self.schedulers:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
        bootstrap.reset()
        self.redis.stop()
        keep = os.environ.get("JOBSYNC_FAULTS_KEEP_LOGS")  # a directory to copy the processes' logs to
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            for path in self.directory.glob("*.log"):
                shutil.copy(path, Path(keep) / path.name)
        self.pg.remove()

    def _job_and_token(self) -> tuple[uuid.UUID, str]:
        with self.runtime.db.session() as session:
            job = Job(source="system", module_name="tests.helpers.sample_jobs", job_class_name="Nap",
                      class_path="system/tests.helpers.sample_jobs/Nap", name="Nap", enabled=True,
                      installed=True, has_sensitive_variables=False, variables=NAP_VARIABLES)
            session.add(job)
            user = create_user(session, "client", permissions=["run_job"])
            _, key = create_token(session, user, write_enabled=True)
            session.flush()
            return job.id, key

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSYNC_")}
        env.update({f"JOBSYNC_{key.upper()}": value for key, value in SCENARIO_SETTINGS.items()})
        env.update(JOBSYNC_DATABASE_URL=self.pg.url, JOBSYNC_REDIS_URL=self.redis.url,
                   JOBSYNC_DATA_DIR=str(self.directory / "data"), PYTHONPATH=str(ROOT))
        return env

    def _spawn(self, name: str, *arguments: str) -> subprocess.Popen:
        log = open(self.directory / f"{name}-{len(self.workers) + len(self.schedulers)}.log", "wb")  # noqa: SIM115
        return subprocess.Popen([sys.executable, "-m", "service.cli", *arguments], env=self._env(), cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT)

    def wait_for_workers(self, count: int) -> None:
        """Wait until ``count`` worker processes have announced themselves (slow to start on busy cores)."""
        from service.infra.presence import live_workers

        pids = lambda: {record.pid for record in live_workers(self.runtime)}  # noqa: E731
        wait_until(lambda: {p.pid for p in self.workers if p.poll() is None} <= pids()
                   and len(self.workers) >= count, timeout=120, interval=0.1, message=f"{count} workers up")

    def start_worker(self) -> subprocess.Popen:
        process = self._spawn("worker", "worker", "--threads", str(self.options.threads))
        self.workers.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.directory.glob("*.log")))

    # -- observing ------------------------------------------------------------------------------
    def unsettled(self, run_ids: list[uuid.UUID]) -> int:
        if not run_ids:
            return 0
        with self.runtime.db.session() as session:
            return session.scalar(select(func.count()).select_from(JobResult).where(
                JobResult.id.in_(run_ids), JobResult.status.not_in(Status.FINAL)))

    def settle(self, name: str, since: float) -> float:
        """Wait until every run accepted up to ``since`` (the server's return, or the kill) has
        ended; record and return the seconds that took from ``since``."""
        run_ids = self.stream.accepted_before(since)
        wait_until(lambda: self._try_unsettled(run_ids) == 0, timeout=self.options.settle_timeout,
                   interval=0.1, message=f"every run accepted before the end of '{name}' to settle")
        seconds = time.monotonic() - since
        self.settle_seconds[name] = seconds
        return seconds

    def _try_unsettled(self, run_ids) -> int:
        try:
            return self.unsettled(run_ids)
        except Exception:  # the database may still be coming back: not settled yet
            return -1

    def running_on(self, process: subprocess.Popen) -> int:
        with self.runtime.db.session() as session:
            return session.scalar(select(func.count()).select_from(JobResult).where(
                JobResult.status == Status.STARTED, JobResult.worker_id.like(f"%:{process.pid}:%")))

    def in_flight(self) -> int:
        with self.runtime.db.session() as session:
            return session.scalar(select(func.count()).select_from(JobResult).where(
                JobResult.job_id == self.job_id, JobResult.status == Status.STARTED))

    def wait_for_runs_in_flight(self, timeout: float = 20.0) -> int:
        """Wait (up to ``timeout``) for a run to be executing; return how many are (maybe none)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = self.in_flight()
            if running:
                return running
            self.stream._stop.wait(0.01)  # polling the database for a condition, with a deadline
        return 0

    def wait_for_requests(self, count: int) -> None:
        target = len(self.stream.accepted) + count
        wait_until(lambda: len(self.stream.accepted) >= target, timeout=60, interval=0.05,
                   message=f"{count} more accepted requests")

    # -- faults ---------------------------------------------------------------------------------
    def restart_postgres(self) -> float:
        self.stream.phase = "postgresql restart"
        in_flight = self.wait_for_runs_in_flight()
        began = time.monotonic()
        self.pg.restart()
        back = time.monotonic()
        self.fault_log.append(f"pg_ctl restart -m fast took {back - began:.1f} s, with {in_flight} run(s) "
                              "in flight as it began")
        self.wait_for_requests(5)
        return self.settle("postgresql restart", back)

    def restart_redis(self) -> float:
        self.stream.phase = "redis down"
        os.kill(self.redis.process.pid, signal.SIGKILL)
        self.redis.process.wait(timeout=10)
        self.redis.process = None
        time.sleep(self.options.redis_down_seconds)  # how long the fault lasts, not a synchronisation
        self.redis.start()
        back = time.monotonic()
        unsettled = self._try_unsettled(self.stream.accepted_before(back))
        self.fault_log.append(f"redis down {self.options.redis_down_seconds:g} s; {unsettled} run(s) "
                              "unsettled as it returned")
        self.stream.phase = "redis restarted"
        self.wait_for_requests(5)
        return self.settle("redis restart", back)

    def sigkill_worker(self) -> float:
        self.stream.phase = "worker SIGKILL"
        victim = self.workers[0]
        wait_until(lambda: self.running_on(victim) > 0, timeout=60, interval=0.02,
                   message="a run in flight on the worker to kill")
        victim.kill()
        victim.wait(timeout=30)
        killed = time.monotonic()
        self.workers.remove(victim)
        self.start_worker()
        settled = self.settle("worker SIGKILL", killed)
        self.wait_for_workers(len(self.workers))
        return settled

    def sigterm_worker(self) -> float:
        self.stream.phase = "worker SIGTERM"
        victim = self.workers[0]
        wait_until(lambda: self.running_on(victim) > 0, timeout=60, interval=0.02,
                   message="a run in flight on the worker to stop")
        victim.terminate()
        stopped = time.monotonic()
        self.start_worker()
        settled = self.settle("worker SIGTERM", stopped)
        victim.wait(timeout=float(SCENARIO_SETTINGS["shutdown_grace_seconds"]) + 60)
        self.fault_log.append(f"the SIGTERMed worker exited after {time.monotonic() - stopped:.1f} s")
        self.workers.remove(victim)
        self.wait_for_workers(len(self.workers))
        return settled

    def run_all(self) -> Report:
        self.stream.start()
        self.wait_for_requests(10)
        self.restart_postgres()
        self.restart_redis()
        self.sigkill_worker()
        self.sigterm_worker()
        self.stream.phase = "after the faults"
        self.wait_for_requests(10)
        self.stream.stop()
        self.settle("the end", time.monotonic())
        return self.report()

    # -- the verdict ----------------------------------------------------------------------------
    def report(self) -> Report:
        accepted = set(self.stream.accepted)
        with self.runtime.db.session() as session:
            rows = session.execute(select(JobResult.id, JobResult.status, JobResult.error)
                                   .where(JobResult.job_id == self.job_id)).all()
            executions = dict(session.execute(
                select(JobLogEntry.job_result_id, func.count()).where(JobLogEntry.message == "executing")
                .group_by(JobLogEntry.job_result_id)).all())
            refused_but_created = session.scalar(select(func.count()).select_from(IdempotencyKey).where(
                IdempotencyKey.key.in_(self.stream.given_up))) if self.stream.given_up else 0
        by_id = {row.id: row for row in rows}
        failed = [row for row in rows if row.status in (Status.FAILURE, Status.REVOKED)]
        codes = Counter()
        for phase_codes in self.stream.codes.values():
            codes.update(phase_codes)
        return Report(
            accepted=len(accepted),
            succeeded=sum(1 for row in rows if row.status == Status.SUCCESS),
            failed_expected=sum(1 for row in failed if (row.error or "").startswith(EXPECTED_FAILURES)),
            failed_unexpected=[f"{row.id}: {row.error}" for row in failed
                               if not (row.error or "").startswith(EXPECTED_FAILURES)],
            lost=len([run_id for run_id in accepted if run_id not in by_id]),
            stuck=sum(1 for row in rows if row.status not in Status.FINAL),
            duplicated=sum(1 for count in executions.values() if count > 1),
            unaccepted_rows=len(set(by_id) - accepted),
            refused_but_created=refused_but_created,
            responses_500=codes[500] + codes["exception"],
            codes_by_phase={phase: dict(counter) for phase, counter in self.stream.codes.items()},
            settle_seconds=dict(self.settle_seconds),
            errors=list(self.stream.errors[:5]),
            tracebacks_in_logs=self.logs().count("Traceback (most recent call last)"),
            notes=list(self.fault_log),
        )


@dataclasses.dataclass
class Report:
    accepted: int
    succeeded: int
    failed_expected: int  # FAILURE because the scenario killed or stopped the worker
    failed_unexpected: list[str]
    lost: int
    stuck: int
    duplicated: int
    unaccepted_rows: int  # runs nobody was told about (a refused request that still ran)
    refused_but_created: int
    responses_500: int
    codes_by_phase: dict
    settle_seconds: dict
    errors: list[str]
    tracebacks_in_logs: int
    notes: list[str]

    def lines(self) -> list[str]:
        lines = [f"runs accepted:   {self.accepted}", f"succeeded:       {self.succeeded}",
                 f"failed (reason): {self.failed_expected} (worker killed or stopped on purpose)",
                 f"failed (other):  {len(self.failed_unexpected)}", f"lost:            {self.lost}",
                 f"duplicated:      {self.duplicated}", f"stuck:           {self.stuck}",
                 f"responses 500:   {self.responses_500}",
                 f"refused but ran: {self.refused_but_created + self.unaccepted_rows}",
                 f"tracebacks in worker/scheduler logs: {self.tracebacks_in_logs}", "responses by phase:"]
        for phase, codes in self.codes_by_phase.items():
            counts = ", ".join(f"{code}: {n}" for code, n in sorted(codes.items(), key=str))
            lines.append(f"  {phase:20} {counts}")
        lines.append("seconds from the server's return (or the kill) until every accepted run settled:")
        for name, seconds in self.settle_seconds.items():
            lines.append(f"  {name:20} {seconds:.1f}")
        return lines + self.notes
