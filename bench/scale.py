"""Scale benchmark: a year of history on PostgreSQL, and the pages and purge that must stay fast.

Generates the history inside PostgreSQL (``INSERT ... SELECT generate_series``, no API, no
Python loop per row): ``--results`` JobResults over 365 days across ``--jobs`` jobs and
``--users`` users, ``--logs-per-result`` log entries each, plus one run with ``--big-log`` lines.
Then measures server time (the whole WSGI request, through Flask's test client) of:

- ``GET /api/extras/job-results/``: first page; filtered by job, by status, by date range; page 500;
- the UI's results page and a job's page with its recent runs;
- the 200,000-line run: API log pages (first, middle, last), a level filter, the UI's log view
  and the live tail;
- housekeeping with 90-day retention: total time, longest single transaction, table sizes
  before, after, and after ``VACUUM``; meanwhile ``--stream-rate`` runs/s (50) go through the
  service's enqueue path to a real ``jobsync worker`` (on ``--redis-url``, emptied), and their
  enqueue-to-start p50/p99 is printed.

Targets (issue #20) are printed beside each figure. Sizes are options; the full size is the
default and takes a while to generate, ``--smoke`` runs a hundredth of it:

    .venv/bin/python bench/scale.py [--database-url URL] [--smoke] [--repeat 30] [--skip-purge]
                                    [--stream-rate 50] [--redis-url URL] [--isolation process]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from bench import common  # noqa: E402
from bench import jobsync_runs as js  # noqa: E402
from service.models import JobResult  # noqa: E402

PASSWORD = "bench"
LEVELS = "ARRAY['info','info','info','debug','success','warning','failure','error']"
STATUSES = "ARRAY['SUCCESS','SUCCESS','SUCCESS','SUCCESS','FAILURE','REVOKED']"


def generate(db, *, results: int, jobs: int, users: int, logs_per_result: int, big_log: int) -> dict:
    """Write the history; return ids the measurements need."""
    from service.models import Job, JobResult, Status, User, utcnow

    with db.session() as session:
        admin = User(
            username="bench",
            is_superuser=True,
            password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),
        )
        session.add(admin)
        session.add_all([User(username=f"user{index:02d}") for index in range(users - 1)])
        session.add_all(
            [
                Job(
                    source="system",
                    module_name=f"bench.scale{index // 10}",
                    job_class_name=f"Job{index}",
                    class_path=f"system/bench.scale{index // 10}/Job{index}",
                    name=f"Job {index:04d}",
                    grouping=f"Group {index % 25:02d}",
                    enabled=True,
                    installed=True,
                    has_sensitive_variables=False,
                    variables=[],
                    task_queues=["default"],
                )
                for index in range(jobs)
            ]
        )
    started = time.perf_counter()
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TEMP TABLE bench_jobs AS SELECT row_number() OVER (ORDER BY class_path) - 1"
                " AS n, id, name, class_path FROM jobs"
            )
        )
        connection.execute(
            text(
                "CREATE TEMP TABLE bench_users AS SELECT row_number() OVER (ORDER BY username) - 1"
                " AS n, id FROM users"
            )
        )
        connection.execute(
            text(f"""
            INSERT INTO job_results (id, job_id, name, class_path, status, user_id, queue, dryrun,
                                     created, started, completed, cancel_requested, attempts, log_counts,
                                     input_data, result)
            SELECT gen_random_uuid(), j.id, j.name, j.class_path, ({STATUSES})[1 + g % 6], u.id,
                   'default', false,
                   now() - (g::float8 / :results) * interval '365 days',
                   now() - (g::float8 / :results) * interval '365 days' + interval '5 ms',
                   now() - (g::float8 / :results) * interval '365 days' + interval '2 s',
                   false, 1, '{{}}', '{{}}', '{{"ok": true}}'
            FROM generate_series(1, :results) AS g
            JOIN bench_jobs j ON j.n = g % :jobs
            JOIN bench_users u ON u.n = g % :users"""),
            {"results": results, "jobs": jobs, "users": users},
        )
        connection.execute(
            text(f"""
            INSERT INTO job_log_entries (id, job_result_id, level, grouping, message, object, created)
            SELECT gen_random_uuid(), r.id, ({LEVELS})[1 + s % 8], 'run', 'step ' || s || ' of the run',
                   NULL, r.created + s * interval '1 ms'
            FROM job_results r CROSS JOIN generate_series(1, :per) AS s"""),
            {"per": logs_per_result},
        )
    generated = time.perf_counter() - started
    with db.session() as session:
        job = session.scalars(select(Job).order_by(Job.class_path)).first()
        big = JobResult(
            job_id=job.id,
            name=job.name,
            class_path=job.class_path,
            status=Status.STARTED,
            started=utcnow(),
            input_data={},
            log_counts={},
        )
        session.add(big)
        session.flush()
        big_id, job_id = big.id, job.id
    with db.engine.begin() as connection:
        connection.execute(
            text(f"""
            INSERT INTO job_log_entries (id, job_result_id, level, grouping, message, object, created)
            SELECT gen_random_uuid(), :big, ({LEVELS})[1 + s % 8], 'run', 'device edge-' || s || ' answered',
                   NULL, now() - interval '1 hour' + s * interval '1 ms'
            FROM generate_series(1, :lines) AS s"""),
            {"big": big_id, "lines": big_log},
        )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE job_results"))
        connection.execute(text("VACUUM ANALYZE job_log_entries"))
    return {"big": big_id, "job": job_id, "generated_s": generated}


def tail_cursors(db, result_id) -> list[str]:
    """The live-tail cursors (service.ui.queries.log_cursor) of the big run's last 11 lines, last first:
    what the run's page hands its script, so the polls measured are the ones a browser sends."""
    from service.models import JobLogEntry
    from service.ui.queries import log_cursor

    with db.session() as session:
        rows = session.execute(select(JobLogEntry.created, JobLogEntry.id)
                               .where(JobLogEntry.job_result_id == result_id)
                               .order_by(JobLogEntry.created.desc(), JobLogEntry.id.desc()).limit(11)).all()
    return [quote(log_cursor((None,) * 5 + tuple(row))) for row in rows]


def row_cursor(db, model, position: int, *, where=None, descending: bool = False) -> str:
    """The ``next`` link cursor (service.infra.pages.Keyset) of the row at ``position`` in
    ``(created, id)`` order: what a client following ``next`` links sends for the page after it."""
    from service.infra.pages import Keyset

    order = (model.created.desc(), model.id.desc()) if descending else (model.created, model.id)
    statement = select(model.created, model.id).order_by(*order).offset(position).limit(1)
    if where is not None:
        statement = statement.where(where)
    with db.session() as session:
        row = session.execute(statement).one()
    return quote(Keyset(model.created, model.id).cursor_of(row))


def time_request(client, url: str, repeat: int) -> list[float]:
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.data[:300])
    wall = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        wall.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return wall


def report(label: str, wall: list[float], p50_target: float, p99_target: float | None = None) -> None:
    p50, p99 = common.median(wall), common.percentile(wall, 0.99)
    within = p50 <= p50_target and (p99_target is None or p99 <= p99_target)
    target = f"<= {p50_target:g}" + (f" / {p99_target:g}" if p99_target else "") + " ms"
    print(
        f"{label:52} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms   target {target:16} {common.verdict(within)}",
        flush=True,
    )


def table_sizes(db) -> str:
    with db.engine.connect() as connection:
        sizes = connection.execute(
            text(
                "SELECT pg_size_pretty(pg_total_relation_size('job_results')),"
                " pg_size_pretty(pg_total_relation_size('job_log_entries'))"
            )
        ).one()
    return f"job_results {sizes[0]}, job_log_entries {sizes[1]}"


#: How long the run stream is measured alone, before the purge, for comparison.
BASELINE_SECONDS = 15


class RunStream:
    """Runs requested at a steady ``rate`` through the service's own enqueue path (the PENDING row,
    then the broker message), taken by a real ``jobsync worker``; their enqueue-to-start latency
    (request begun -> the worker's claim, ``JobResult.started``) is what the purge must not spoil."""

    def __init__(self, runtime, job_id, rate: float, senders: int = 4, worker_pid: int | None = None):
        self.runtime, self.job_id, self.rate, self.senders = runtime, job_id, rate, senders
        self.worker_pid = worker_pid
        self._lock = threading.Lock()

    def warm_up(self, seconds: float = 5) -> None:
        """Let the worker start its job processes and connections before anything is measured: the
        stream itself for a few seconds (one run at a time started only one job process, and the
        first concurrent runs then waited for the others to start)."""
        ids = [js.enqueue_one(self.runtime, self.job_id)[0] for _ in range(5)]
        self._wait_started(ids, timeout=120)
        self.start()
        time.sleep(seconds)
        self.stop()
        self._wait_started([run_id for run_id, _ in self.sent], timeout=120)

    def start(self) -> None:
        self.sent: list[tuple] = []  # (run id, requested at)
        self.late = 0  # requests sent over 20 ms behind their slot (the senders themselves were slow)
        self._slot = 0
        self._stop = threading.Event()
        # A few senders share one timetable: one request (a transaction and a send) may take longer
        # than the 20 ms between two slots on a busy machine.
        self._threads = [threading.Thread(target=self._send, name=f"run-stream-{index}", daemon=True)
                         for index in range(self.senders)]
        self._began = time.perf_counter()
        for thread in self._threads:
            thread.start()

    def _send(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                due = self._began + self._slot / self.rate
                self._slot += 1
            pause = due - time.perf_counter()
            if pause > 0 and self._stop.wait(pause):
                return
            if pause < -0.02:
                self.late += 1
            sent = js.enqueue_one(self.runtime, self.job_id)
            with self._lock:
                self.sent.append(sent)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _wait_started(self, ids: list, timeout: float) -> dict:
        query = select(JobResult.id, JobResult.started).where(JobResult.id.in_(ids))
        started: dict = {}

        def all_started() -> bool:
            with self.runtime.db.engine.connect() as connection:
                started.update((row.id, row.started) for row in connection.execute(query)
                               if row.started is not None)
            return len(started) == len(ids)

        common.wait_until(all_started, timeout=timeout, interval=0.2, what="the stream's runs to start")
        return started

    def report(self, label: str) -> None:
        others = other_workers(self.runtime, self.worker_pid)
        if others:
            print(f"{label}: INVALID, other workers joined the stream's Redis database ({', '.join(others)})"
                  " and may have taken its runs", flush=True)
            return
        started = {}
        ids = [run_id for run_id, _ in self.sent]
        for index in range(0, len(ids), 1000):
            started |= self._wait_started(ids[index:index + 1000], timeout=300)
        latency = [(started[run_id] - requested).total_seconds() * 1000 for run_id, requested in self.sent]
        p50, p99 = common.median(latency), common.percentile(latency, 0.99)
        print(
            f"{label}: {len(self.sent):,} runs at {self.rate:g}/s ({self.late} sent > 20 ms late) through a "
            f"jobsync worker: enqueue-to-start p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latency):.0f} ms "
            f"(target p99 <= 100 ms {common.verdict(p99 <= 100)})",
            flush=True,
        )


def measure_purge(db, retention_days: int, stream: RunStream | None = None) -> None:
    """Run housekeeping's purge, timing every transaction it commits (and, given a ``stream``,
    the enqueue-to-start latency of the runs it sends meanwhile)."""
    from sqlalchemy import event

    from service.models import utcnow
    from service.runs.housekeeping import purge_old_results

    longest, began = [0.0], {}

    def on_begin(connection):
        began[id(connection)] = time.perf_counter()

    def on_end(connection):
        start = began.pop(id(connection), None)
        if start is not None:
            longest[0] = max(longest[0], time.perf_counter() - start)

    event.listen(db.engine, "begin", on_begin)
    event.listen(db.engine, "commit", on_end)
    event.listen(db.engine, "rollback", on_end)
    print(f"before purge:  {table_sizes(db)}", flush=True)
    if stream is not None:
        stream.start()
    start = time.perf_counter()
    try:
        counts = purge_old_results(db, retention_days, now=utcnow())
    finally:
        total = time.perf_counter() - start
        if stream is not None:
            stream.stop()
    event.remove(db.engine, "begin", on_begin)
    event.remove(db.engine, "commit", on_end)
    event.remove(db.engine, "rollback", on_end)
    print(
        f"housekeeping, {retention_days}-day retention: deleted {counts['results']:,} results and "
        f"{counts['logs']:,} log entries in {total:.1f} s (target <= 300 s "
        f"{common.verdict(total <= 300)}); longest transaction {longest[0] * 1000:.0f} ms "
        f"(target <= 1000 ms {common.verdict(longest[0] <= 1)})",
        flush=True,
    )
    if stream is not None:
        stream.report("while it ran")
    print(f"after purge:   {table_sizes(db)}  (space is reused by new rows; see the README)", flush=True)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (FULL, ANALYZE) job_log_entries"))
        connection.execute(text("VACUUM (FULL, ANALYZE) job_results"))
    print(f"after VACUUM FULL: {table_sizes(db)}", flush=True)


def other_workers(runtime, own_pid: int | None = None) -> list[str]:
    """Workers on the stream's Redis database other than ours: they would take its runs (and,
    serving another database, drop them), so the figures would mean nothing."""
    from service.infra.presence import RedisPresence

    return [f"pid {record.pid} on {record.hostname}" for record in RedisPresence(runtime.broker).records()
            if record.pid != own_pid]


def start_stream(runtime, processes: common.Processes, rate: float) -> RunStream:
    """A ``jobsync worker default`` on an empty broker, warmed up, and the stream that feeds it."""
    others = other_workers(runtime)
    if others:
        raise SystemExit(f"other jobsync workers serve {common.redact(runtime.settings.redis_url)} "
                         f"({', '.join(others)}): pass --redis-url with a database number nobody uses")
    runtime.broker.client.flushdb()
    job_id = js.create_trivial_job(runtime.db)
    settings = runtime.settings
    env = {name: value for name, value in os.environ.items() if not name.startswith("JOBSYNC_")}
    # Its own housekeeping (a system job every worker schedules) must not purge beside the measured one.
    env.update(JOBSYNC_DATABASE_URL=settings.database_url, JOBSYNC_REDIS_URL=settings.redis_url,
               JOBSYNC_DATA_DIR=settings.data_dir, JOBSYNC_ISOLATION=settings.isolation,
               JOBSYNC_RESULTS_RETENTION_DAYS="36500", JOBSYNC_EVENTS_RETENTION_DAYS="36500")
    worker = processes.start("jobsync-worker", [sys.executable, "-m", "service.cli", "worker", "default"],
                             env=env)
    stream = RunStream(runtime, job_id, rate, worker_pid=worker.pid)
    stream.warm_up()
    stream.start()  # the same stream without a purge: what the machine gives anyway
    time.sleep(BASELINE_SECONDS)
    stream.stop()
    stream.report(f"the stream alone for {BASELINE_SECONDS} s, before the purge")
    return stream


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=common.DEFAULT_DATABASE_URL, help="PostgreSQL (emptied)")
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=1_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--logs-per-result", type=int, default=20)
    parser.add_argument("--big-log", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="a hundredth of the sizes")
    parser.add_argument("--skip-purge", action="store_true")
    parser.add_argument("--stream-rate", type=float, default=50,
                        help="runs/s sent through a real worker while the purge runs (0: none) [%(default)s]")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8",
                        help="the stream's broker (emptied; its own database number) [%(default)s]")
    parser.add_argument("--isolation", default="process", choices=("process", "thread"),
                        help="the stream worker's isolation [%(default)s]")
    args = parser.parse_args(argv)
    if args.smoke:
        args.results, args.jobs, args.big_log = (
            args.results // 100,
            max(args.jobs // 10, 10),
            args.big_log // 10,
        )

    from service import bootstrap
    from service.app import create_app
    from service.config import load_settings

    print(f"load average before: {common.load_average()}")
    common.print_header(
        "Scale: a year of history",
        {
            "database": common.redact(args.database_url),
            "results": f"{args.results:,}",
            "log lines": f"{args.results * args.logs_per_result + args.big_log:,}",
            "big run": f"{args.big_log:,} lines",
            "repeat": str(args.repeat),
            "stream": "none" if args.skip_purge or not args.stream_rate else
                      f"{args.stream_rate:g} runs/s during the purge, {args.isolation} isolation, "
                      f"{common.redact(args.redis_url)}",
        },
    )
    common.fresh_database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="jobsync-bench-scale-") as scratch:
        streaming = args.stream_rate > 0 and not args.skip_purge
        settings = load_settings(
            {"database_url": args.database_url, "data_dir": scratch, "secret_key": secrets.token_hex(32),
             "isolation": args.isolation, **({"redis_url": args.redis_url} if streaming else {})},
            environ={},
        )
        runtime = bootstrap.configure(settings)
        try:
            ids = generate(
                runtime.db,
                results=args.results,
                jobs=args.jobs,
                users=args.users,
                logs_per_result=args.logs_per_result,
                big_log=args.big_log,
            )
            print(f"generated in {ids['generated_s']:.0f} s; {table_sizes(runtime.db)}\n", flush=True)
            client = create_app(runtime=runtime).test_client()
            client.get("/login")
            with client.session_transaction() as session:
                token = session["csrf_token"]
            client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
            from service.models import utcnow

            month_ago = (utcnow() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S")
            week_ago = (utcnow() - timedelta(days=23)).strftime("%Y-%m-%dT%H:%M:%S")
            tail = tail_cursors(runtime.db, ids["big"])
            from service.models import JobLogEntry

            deep = row_cursor(runtime.db, JobResult, min(24949, args.results - 1), descending=True)
            in_big = JobLogEntry.job_result_id == ids["big"]
            middle = row_cursor(runtime.db, JobLogEntry, args.big_log // 2 - 1, where=in_big)
            last = row_cursor(runtime.db, JobLogEntry, args.big_log - 51, where=in_big)
            api = "/api/extras/job-results/"
            logs = f"/api/extras/job-logs/?job_result={ids['big']}&limit=50"
            page = f"/job-results/{ids['big']}/"
            dated = f"{api}?date_created__gte={month_ago}&date_created__lte={week_ago}"
            # (label, URL, p50 target ms, p99 target ms or None)
            pages = [
                ("API results, first page", api, 50, 150),
                ("API results, first page by job", f"{api}?job_model_id={ids['job']}", 50, 150),
                ("API results, first page by status", f"{api}?status=FAILURE", 50, 150),
                ("API results, first page by date range", dated, 50, 150),
                ("API results, page 500 (offset 24,950)", f"{api}?limit=50&offset=24950", 50, 150),
                ("API results, page 500 (next link's cursor)",
                 f"{api}?limit=50&offset=24950&cursor={deep}", 50, 150),
                ("UI results page", "/job-results/", 300, None),
                ("UI job page with recent runs", f"/jobs/{ids['job']}/", 300, None),
                ("API log page, first", logs, 100, None),
                ("API log page, middle", f"{logs}&offset={args.big_log // 2}", 100, None),
                ("API log page, last", f"{logs}&offset={args.big_log - 50}", 100, None),
                ("API log page, middle (next link's cursor)",
                 f"{logs}&offset={args.big_log // 2}&cursor={middle}", 100, None),
                ("API log page, last (next link's cursor)",
                 f"{logs}&offset={args.big_log - 50}&cursor={last}", 100, None),
                ("API log level filter (warning)", f"{logs}&log_level=warning", 150, None),
                ("UI log view, last page", page, 100, None),
                ("UI log view, first page", f"{page}?log_page=1", 100, None),
                ("UI log view, level filter", f"{page}?level=warning&log_page=1", 150, None),
                ("live tail poll (nothing new)",
                 f"{page}live?after={args.big_log}&cursor={tail[0]}", 50, None),
                ("live tail poll (10 new lines)",
                 f"{page}live?after={args.big_log - 10}&cursor={tail[10]}", 50, None),
            ]
            for label, url, p50, p99 in pages:
                report(label, time_request(client, url, args.repeat), p50, p99)
            if not args.skip_purge:
                print()
                with common.Processes(Path(scratch)) as processes:
                    stream = start_stream(runtime, processes, args.stream_rate) if streaming else None
                    measure_purge(runtime.db, 90, stream)
        finally:
            bootstrap.reset()
    print(f"\nload average after: {common.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
