"""Scheduler benchmark: 10,000 schedules on PostgreSQL; firing lateness, CPU, and catching up.

Writes ``--schedules`` ScheduledJobs (every 1-15 minutes, hourly, daily and crontab, in five time
zones; start times spread over the first minutes so slots fall all the time), then runs one real
scheduler loop (``Scheduler.run_forever``, sending to the in-process broker or to ``--redis-url``;
no worker drains it) for ``--seconds`` and reports:

- firing lateness (a slot's run created minus the slot's time), p50 / p99 (target p99 <= 1 s), and
  the same for its message (sent after the run's transaction commits) minus the slot's time;
- the scheduler's CPU as a share of one core (target <= 10%), with the firings per second;
- after ``--downtime-minutes`` of no scheduler, how many runs the first tick creates, against the
  number of schedules (each fires at most once, by its catch-up policy: no storm).

    .venv/bin/python bench/scheduler.py [--database-url URL] [--redis-url URL] [--schedules 10000]
        [--seconds 120]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bench import common  # noqa: E402

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney")


def populate(db, count: int, now) -> None:
    from service.models import Job, ScheduledJob

    with db.session() as session:
        job = Job(
            source="system",
            module_name="bench.trivial_jobs",
            job_class_name="Trivial",
            class_path="system/bench.trivial_jobs/Trivial",
            name="Trivial",
            enabled=True,
            installed=True,
            has_sensitive_variables=False,
            variables=[],
            task_queues=["default"],
        )
        session.add(job)
        session.flush()
        rows = []
        for index in range(count):
            kind = index % 10
            start = now + timedelta(seconds=5 + (index * 37) % 300)
            values = dict(
                name=f"schedule {index}",
                job_id=job.id,
                start_time=start,
                next_run_at=start,
                time_zone=ZONES[index % len(ZONES)],
                data={},
                queue="default",
                catch_up=("once", "skip")[index % 2],
            )
            if kind < 7:  # most schedules: every few minutes
                values.update(interval_type="custom", every_minutes=1 + index % 15)
            elif kind == 7:
                values.update(interval_type="hourly")
            elif kind == 8:
                values.update(interval_type="daily")
            else:
                values.update(
                    interval_type="crontab",
                    crontab=f"{index % 60} * * * *",
                    next_run_at=start.replace(second=0, microsecond=0) + timedelta(minutes=1),
                )
            rows.append(ScheduledJob(**values))
        session.add_all(rows)


def queued_messages(broker):
    """Every message waiting in ``broker`` (the in-process one is drained; Redis is only read)."""
    from dramatiq.message import Message

    if hasattr(broker, "client"):  # Redis: $namespace:$queue.msgs holds each queued message
        for queue in broker.get_declared_queues():
            for data in broker.client.hvals(f"{broker.namespace}:{queue}.msgs"):
                yield Message.decode(data)
        return
    for queue in broker.queues.values():
        while not queue.empty():
            yield Message.decode(queue.get_nowait())


def sent_times(broker) -> dict[str, float]:
    """Each run's first message creation time (ms since the epoch), by run id."""
    times = {}
    for message in queued_messages(broker):
        # the first send: runs no worker takes are re-sent every resend_pending_after_seconds
        run_id = message.args[0]
        times[run_id] = min(times.get(run_id, message.message_timestamp), message.message_timestamp)
    return times


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=common.DEFAULT_DATABASE_URL, help="PostgreSQL (emptied)")
    parser.add_argument("--redis-url", help="Redis database to send to (emptied; default: in-process)")
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--downtime-minutes", type=int, default=60)
    args = parser.parse_args(argv)

    from service import bootstrap
    from service.config import load_settings
    from service.models import JobResult, ScheduledJob, utcnow
    from service.scheduling.loop import Scheduler

    print(f"load average before: {common.load_average()}")
    common.print_header(
        "Scheduler with many schedules",
        {
            "database": common.redact(args.database_url),
            "schedules": f"{args.schedules:,}",
            "window": f"{args.seconds:g} s",
            "broker": common.redact(args.redis_url) if args.redis_url else "in-process",
            "workers": "none (nothing drains the queue)",
        },
    )
    common.fresh_database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="jobsync-bench-scheduler-") as scratch:
        # No worker takes the runs, so the scheduler would re-send every run still waiting after
        # resend_pending_after_seconds: work a served queue never sees, left out of the firing cost.
        overrides = {"database_url": args.database_url, "data_dir": scratch,
                     "resend_pending_after_seconds": 24 * 3600}
        if args.redis_url:
            import redis

            redis.Redis.from_url(args.redis_url).flushdb()
            overrides["redis_url"] = args.redis_url
        settings = load_settings(overrides, environ={})
        runtime = bootstrap.configure(settings)
        try:
            began = utcnow()
            populate(runtime.db, args.schedules, began)
            print(f"populated in {(utcnow() - began).total_seconds():.1f} s")
            with runtime.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE scheduled_jobs"))
            scheduler, stop, used = Scheduler(runtime), threading.Event(), {}

            def loop():
                start = cpu_seconds()
                scheduler.run_forever(stop)
                used["cpu"] = cpu_seconds() - start

            thread = threading.Thread(target=loop, name="scheduler")
            wall_start, started = time.perf_counter(), utcnow()
            thread.start()
            stop.wait(args.seconds)
            stop.set()
            thread.join()
            wall = time.perf_counter() - wall_start
            with runtime.db.session() as session:
                rows = session.execute(
                    select(JobResult.id, JobResult.created, JobResult.scheduled_at).where(
                        JobResult.scheduled_at.is_not(None)
                    )
                ).all()
            backlog = sum(slot < started for _, _, slot in rows)
            print(f"slots that fell before the scheduler started (setup backlog, left out): {backlog:,}")
            rows = [row for row in rows if row.scheduled_at >= started]
            lateness = [(created - slot).total_seconds() * 1000 for _, created, slot in rows]
            if lateness:
                p50, p99 = common.median(lateness), common.percentile(lateness, 0.99)
                print(f"firings: {len(lateness):,} in {wall:.0f} s ({len(lateness) / wall:.1f}/s)")
                print(
                    f"firing lateness: p50 {p50:.0f} ms, p99 {p99:.0f} ms (target p99 <= 1000 ms "
                    f"{common.verdict(p99 <= 1000)})"
                )
            sent = sent_times(runtime.broker)
            slots = {str(run_id): slot for run_id, _, slot in rows}
            message_lateness = [sent[run_id] - slot.timestamp() * 1000 for run_id, slot in slots.items()
                                if run_id in sent]
            if message_lateness:
                print(
                    f"message lateness (sent after commit): p50 {common.median(message_lateness):.0f} ms, "
                    f"p99 {common.percentile(message_lateness, 0.99):.0f} ms "
                    f"({len(message_lateness):,} of {len(slots):,} runs sent)"
                )
            share = used["cpu"] / wall * 100
            print(
                f"scheduler CPU: {used['cpu']:.1f} s in {wall:.0f} s = {share:.1f}% of one core "
                f"(target <= 10% {common.verdict(share <= 10)})"
            )

            tick_began = utcnow()
            later = tick_began + timedelta(minutes=args.downtime_minutes)
            start, cpu_start = time.perf_counter(), cpu_seconds()
            Scheduler(runtime, clock=lambda: later).tick()
            took, took_cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
            with runtime.db.session() as session:
                made = (
                    select(JobResult.scheduled_job_id, func.count().label("runs"))
                    .where(JobResult.scheduled_at.is_not(None), JobResult.created >= tick_began)
                    .group_by(JobResult.scheduled_job_id)
                    .subquery()
                )
                fired = session.scalar(select(func.coalesce(func.sum(made.c.runs), 0)))
                most = session.scalar(select(func.coalesce(func.max(made.c.runs), 0)))
                skipping = session.scalar(
                    select(func.count()).select_from(ScheduledJob).where(ScheduledJob.catch_up == "skip")
                )
            print(
                f"after {args.downtime_minutes} min down: the first tick made {fired:,} runs for "
                f"{args.schedules:,} schedules ({skipping:,} of them skip missed slots) in {took:.1f} s "
                f"({took_cpu:.1f} s CPU); "
                f"most runs of one schedule {most} (target <= 1 {common.verdict(most <= 1)})"
            )
        finally:
            bootstrap.reset()
    print(f"\nload average after: {common.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
