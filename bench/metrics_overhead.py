"""Metrics overhead: bench/dispatch.py's jobsync drain and idle latency with metrics off and on.

"on" is the production set-up: ``metrics_enabled: true`` and prometheus-client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``), so every run's counters and histograms go to mmap'd files. The
modes alternate (off, on, off, on, ...) so drift in the machine's load hits both alike; each
figure is the median over --repeats. Target: at most 5% slower drain and p50 latency.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common, dispatch  # noqa: E402
from bench import jobsync_runs as js  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=common.DEFAULT_DATABASE_URL, help="[%(default)s]")
    parser.add_argument("--redis-url", default=common.DEFAULT_REDIS_URL, help="[%(default)s]")
    parser.add_argument("--processes", type=int, default=2, help="[%(default)s]")
    parser.add_argument("--threads", type=int, default=8, help="[%(default)s]")
    parser.add_argument("--messages", type=int, default=2000, help="messages per drain [%(default)s]")
    parser.add_argument("--repeats", type=int, default=3, help="drains per mode [%(default)s]")
    parser.add_argument("--isolation", default="thread", choices=("thread", "process"), help="[%(default)s]")
    parser.add_argument("--latency-jobs", type=int, default=100, help="[%(default)s]")
    parser.add_argument("--idle-gap", type=float, default=0.05, help="[%(default)s]")
    parser.add_argument("--long-idle-jobs", type=int, default=0, help="[%(default)s]")
    parser.add_argument("--long-idle-gap", type=float, default=1.5, help="[%(default)s]")
    parser.add_argument("--seed", type=int, default=1, help="[%(default)s]")
    return parser.parse_args()


MICRO = """
import time
from service.observability import metrics
runs = {runs}
began = time.process_time()
for _ in range(runs):
    metrics.run_started("system/bench/Trivial", "default", 0.004)
    metrics.run_finished("system/bench/Trivial", "default", "SUCCESS", 0.01)
print((time.process_time() - began) / runs * 1e6)
"""


def recording_cost_us(runs: int, multiprocess_dir: str | None) -> float:
    """CPU microseconds one run's metrics cost a worker (started + finished), measured in a child."""
    import subprocess

    env = {name: value for name, value in os.environ.items() if name != "PROMETHEUS_MULTIPROC_DIR"}
    if multiprocess_dir:
        env["PROMETHEUS_MULTIPROC_DIR"] = multiprocess_dir
    output = subprocess.run([sys.executable, "-c", MICRO.format(runs=runs)], env=env, cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    return float(output.strip())


def main() -> None:
    args = parse_args()
    common.fresh_database(args.database_url)
    common.print_header("jobsync metrics overhead", {
        "database": common.redact(args.database_url), "redis": common.redact(args.redis_url),
        "workers": f"{args.processes} process(es) x {args.threads} threads, isolation={args.isolation}",
        "load": common.load_average(),
    })
    from service import bootstrap
    from service.config import load_settings

    drains: dict[bool, list] = {False: [], True: []}
    latencies: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="jobsync-metrics-bench-") as scratch:
        log_dir = Path(scratch)
        base = load_settings({"database_url": args.database_url, "redis_url": args.redis_url,
                              "data_dir": str(log_dir / "data")}, environ={})
        runtime = bootstrap.configure(base)
        job_id = js.create_trivial_job(runtime.db)
        for repeat in range(args.repeats):
            for enabled in (False, True):
                directory = log_dir / f"prometheus-{repeat}-{enabled}"
                directory.mkdir()
                os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
                if enabled:  # read by the worker processes at start
                    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
                runtime.settings = base.replace(metrics_enabled=enabled)
                _, drain = dispatch.jobsync_drain(args, runtime, job_id, log_dir, args.isolation)
                drains[enabled].append(drain)
                latency = dispatch.jobsync_latency(args, runtime, job_id, log_dir, f"metrics {enabled}")
                latencies[enabled].append(common.median(latency.start_ms))
                mode = "on " if enabled else "off"
                cpu = drain.cpu_seconds * 1000 / drain.messages
                print(f"  repeat {repeat + 1} metrics {mode}: drain {drain.rate:7,.0f}/s, "
                      f"{cpu:5.2f} ms CPU/msg; idle request->start p50 {latencies[enabled][-1]:5.1f} ms",
                      flush=True)
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    off_rate = common.median([drain.rate for drain in drains[False]])
    on_rate = common.median([drain.rate for drain in drains[True]])
    off_p50, on_p50 = common.median(latencies[False]), common.median(latencies[True])
    print("\n== Medians")
    drain_ok, latency_ok = on_rate >= 0.95 * off_rate, on_p50 <= 1.05 * off_p50
    print(f"  drain, runs/s            off {off_rate:7,.0f}   on {on_rate:7,.0f}   "
          f"change {100 * (on_rate / off_rate - 1):+5.1f}%   target >= -5%  {common.verdict(drain_ok)}")
    print(f"  idle request->start p50  off {off_p50:7.1f}   on {on_p50:7.1f}   "
          f"change {100 * (on_p50 / off_p50 - 1):+5.1f}%   target <= +5%  {common.verdict(latency_ok)}")
    with tempfile.TemporaryDirectory(prefix="jobsync-metrics-micro-") as directory:
        single, multi = recording_cost_us(20000, None), recording_cost_us(20000, directory)
    print(f"  CPU per run for its metrics (started + finished, 20000 runs): {single:5.1f} us in one process, "
          f"{multi:5.1f} us in multiprocess mode")
    print(f"load average after: {common.load_average()}")
    print(f"reproduce: {common.command_line()}")


if __name__ == "__main__":
    main()
