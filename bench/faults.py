"""Fault figures: runs lost, duplicated, stuck, 500s, and seconds to settle after each fault.

Starts its own PostgreSQL cluster and Redis server (so it needs no running servers and touches
none), two ``jobsync worker`` and one ``jobsync scheduler`` subprocess, and the web app in this
process under a stream of API run requests (clients retry a 503 with the same Idempotency-Key).
Then, in turn: ``pg_ctl restart -m fast``; Redis SIGKILLed, down for a while, restarted; a
worker SIGKILLed with runs in flight; another SIGTERMed. The same scenario is asserted by
tests/faults/test_outages.py; this prints the figures.

    .venv/bin/python bench/faults.py [--clients 3] [--workers 2] [--threads 4] [--nap-ms 300]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import load_average, print_header  # noqa: E402
from tests.helpers.faults import SCENARIO_SETTINGS, Options, Scenario  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=Options.clients)
    parser.add_argument("--workers", type=int, default=Options.workers)
    parser.add_argument("--threads", type=int, default=Options.threads)
    parser.add_argument("--nap-ms", type=int, default=Options.nap_ms)
    parser.add_argument("--redis-down-seconds", type=float, default=Options.redis_down_seconds)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = Options(workers=args.workers, threads=args.threads, clients=args.clients, nap_ms=args.nap_ms,
                      redis_down_seconds=args.redis_down_seconds)
    print_header("jobsync under faults", {
        "setup": f"{options.workers} workers x {options.threads} threads, 1 scheduler, {options.clients} "
                 f"API clients, job naps {options.nap_ms} ms",
        "settings": ", ".join(f"{key}={value}" for key, value in SCENARIO_SETTINGS.items()),
        "load": load_average(),
    })
    with Scenario(options) as scenario:
        report = scenario.run_all()
    for line in report.lines():
        print(line)
    print(f"load:     {load_average()}")
    ok = (report.lost == report.duplicated == report.stuck == report.responses_500 == 0
          and not report.failed_unexpected and report.refused_but_created == report.unaccepted_rows == 0)
    for failure in report.failed_unexpected[:5]:
        print(f"  unexpected failure: {failure}")
    print("verdict:  " + ("OK: 0 lost, 0 duplicated, 0 stuck, 0 responses of 500" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
