"""UI page benchmark: server time of the job list with 1000 jobs and a result with 10,000 log lines.

Server time is the whole WSGI request inside the app (routing, login check, queries, rendering),
measured through Flask's test client, so the network and the browser are not part of it. The
target is under 300 ms for each page. Every count is an option:

    .venv/bin/python bench/ui.py [--database-url URL] [--jobs 1000] [--log-lines 10000] [--repeat 20]

Without ``--database-url`` it uses a fresh SQLite file in a temporary directory; give a
PostgreSQL URL (it is emptied and migrated) to measure the production database.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from werkzeug.security import generate_password_hash  # noqa: E402

from bench import common  # noqa: E402
from service.models import LOG_LEVELS, Job, JobLogEntry, JobResult, Status, User, utcnow  # noqa: E402

TARGET_MS = 300.0
PASSWORD = "bench"
GROUPINGS = 25
VARIABLES = [
    {"name": "hostname", "type": "StringVar", "label": "Host name", "description": "The **device**",
     "required": True, "default": None, "max_length": 63},
    {"name": "count", "type": "IntegerVar", "label": "Count", "description": "", "required": False,
     "default": 3, "min_value": 1, "max_value": 10},
]
MESSAGES = ("Checked interface {n} on `edge-{n}`", "Pushed **{n}** lines of configuration",
            "Device edge-{n} answered in {n} ms", "See [the runbook](https://example.com/runbook/{n})")


def populate(db, jobs: int, log_lines: int) -> JobResult:
    """Write ``jobs`` jobs (each with a recent run) and one run with ``log_lines`` log entries."""
    with db.session() as session:
        session.add(User(username="bench", is_superuser=True,
                         password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")))
        rows = [Job(source="system", module_name="bench.trivial_jobs", job_class_name="Trivial",
                    class_path=f"system/bench.trivial_jobs/Trivial{index}", name=f"Job {index:04d}",
                    grouping=f"Group {index % GROUPINGS:02d}", enabled=index % 3 != 0, installed=True,
                    has_sensitive_variables=False, variables=VARIABLES, task_queues=["default"],
                    description=f"Does thing {index}.\n\nLonger explanation of thing {index}.")
                for index in range(jobs)]
        session.add_all(rows)
        session.flush()
        session.add_all([JobResult(job_id=job.id, name=job.name, class_path=job.class_path,
                                   status=(Status.SUCCESS, Status.FAILURE)[index % 2], created=utcnow())
                         for index, job in enumerate(rows)])
        big = JobResult(job_id=rows[0].id, name=rows[0].name, class_path=rows[0].class_path,
                        status=Status.SUCCESS, started=utcnow(), completed=utcnow(),
                        input_data={"hostname": "x"}, result={"lines": log_lines})
        session.add(big)
        session.flush()
        session.add_all([JobLogEntry(job_result_id=big.id, level=LOG_LEVELS[index % len(LOG_LEVELS)],
                                     grouping=("run", "pre_run", "post_run")[index % 3],
                                     message=MESSAGES[index % len(MESSAGES)].format(n=index),
                                     object={"type": "dcim.device", "id": str(index), "repr": f"edge-{index}"}
                                     if index % 5 == 0 else None)
                         for index in range(log_lines)])
        return big


def time_page(client, url: str, repeat: int) -> tuple[list[float], list[float], int]:
    """Request ``url`` ``repeat`` times after two warm-ups; return wall and CPU times (ms) and the size.

    CPU time (this process's) is printed beside wall time: on a shared machine other processes
    stretch the wall time, never the CPU time the request needs.
    """
    size = 0
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        size = len(response.data)
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200
    return wall, cpu, size


def report(label: str, wall: list[float], cpu: list[float], size: int) -> bool:
    median = common.median(wall)
    verdict = "OK" if median < TARGET_MS else "OVER TARGET"
    print(f"{label:38} wall median {median:6.1f} ms  p95 {common.percentile(wall, 0.95):6.1f} ms   "
          f"CPU median {common.median(cpu):6.1f} ms   {size / 1024:5.0f} KiB   {verdict}")
    return median < TARGET_MS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="PostgreSQL URL (emptied); default: a fresh SQLite file")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--log-lines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)

    from service import bootstrap
    from service.app import create_app
    from service.config import load_settings

    with tempfile.TemporaryDirectory(prefix="jobsync-bench-ui-") as scratch:
        url = args.database_url or f"sqlite:///{scratch}/bench.sqlite3"
        common.print_header("UI page server time", {
            "database": common.redact(url), "jobs": str(args.jobs), "log lines": str(args.log_lines),
            "repeat": str(args.repeat), "target": f"median < {TARGET_MS:g} ms per page"})
        common.fresh_database(url)
        settings = load_settings({"database_url": url, "data_dir": scratch,
                                  "secret_key": secrets.token_hex(32)}, environ={})
        runtime = bootstrap.configure(settings)
        try:
            big = populate(runtime.db, args.jobs, args.log_lines)
            client = create_app(runtime=runtime).test_client()
            client.get("/login")
            with client.session_transaction() as session:
                token = session["csrf_token"]
            client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
            pages = [
                (f"job list, {args.jobs} jobs (hidden=any)", "/jobs/?hidden="),
                (f"job result, {args.log_lines} log lines", f"/job-results/{big.id}/"),
                ("live feed, one batch of lines", f"/job-results/{big.id}/live?after=0"),
                ("live feed, nothing new", f"/job-results/{big.id}/live?after={args.log_lines}"),
                ("results list, first page", "/job-results/"),
            ]
            within = [report(label, *time_page(client, url, args.repeat)) for label, url in pages[:2]]
            for label, url in pages[2:]:
                report(label, *time_page(client, url, args.repeat))
        finally:
            bootstrap.reset()
    return 0 if all(within) else 1


if __name__ == "__main__":
    sys.exit(main())
