"""Scheduler benchmark: 10,000 schedules on PostgreSQL; firing lateness, CPU, and catching up.

Writes ``--schedules`` ScheduledJobs (every 1-15 minutes, hourly, daily and crontab, in five time
zones, half of them ``catch_up="once"`` and half ``"skip"``; started a day ago with their phases
spread over five minutes) and ``--history`` finished runs (a year of them, so the steps that scan
job_results every tick do so over a table of realistic size). Each schedule is then moved to its
next regular slot after the loop starts, so the window is steady state from its first second: no
first-slot ramp-up and no setup backlog. One real scheduler loop (``Scheduler.run_forever``, every
step, sending to the in-process broker or to ``--redis-url``; no worker drains it) runs for
``--seconds``, and the bench reports:

- firing lateness (a slot's run created minus the slot's time), p50 / p99 (target p99 <= 1 s), and
  the same for its message (sent after the run's transaction commits) minus the slot's time;
- the scheduler's CPU as a share of one core (target <= 10%): the loop thread's, and the whole
  process's over the same window (the bench's main thread only waits), with the firings per
  second and the CPU each step took;
- after ``--downtime-minutes`` of no scheduler, what the first tick does, by catch-up policy: each
  ``once`` schedule runs its latest missed slot once, each ``skip`` schedule runs nothing missed
  (only a slot within ``schedule_misfire_grace_seconds`` still runs); no schedule runs more than
  once (no storm); with the tick's wall time and CPU.

    .venv/bin/python bench/scheduler.py [--database-url URL] [--redis-url URL] [--schedules 10000]
        [--seconds 120] [--history 200000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, func, select, text  # noqa: E402

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
            start = now - timedelta(days=1) + timedelta(seconds=(index * 37) % 300)
            values = dict(
                name=f"schedule {index}",
                job_id=job.id,
                start_time=start,
                next_run_at=start,
                time_zone=ZONES[index % len(ZONES)],
                data={},
                queue="default",
                catch_up=("once", "skip")[index // 10 % 2],  # both policies in every kind
            )
            if kind < 7:  # most schedules: every few minutes
                values.update(interval_type="custom", every_minutes=1 + index % 15)
            elif kind == 7:
                values.update(interval_type="hourly")
            elif kind == 8:
                values.update(interval_type="daily")
            else:
                values.update(interval_type="crontab", crontab=f"{index % 60} * * * *")
            rows.append(ScheduledJob(**values))
        session.add_all(rows)


def add_history(db, count: int) -> None:
    """``count`` finished runs of the bench's job over the past year, generated inside PostgreSQL."""
    if count <= 0:
        return
    with db.engine.begin() as connection:
        connection.execute(
            text("""
            INSERT INTO job_results (id, job_id, name, class_path, status, queue, dryrun, created,
                                     started, completed, cancel_requested, attempts, log_counts,
                                     input_data, result)
            SELECT gen_random_uuid(), j.id, j.name, j.class_path,
                   (ARRAY['SUCCESS','SUCCESS','SUCCESS','FAILURE','REVOKED'])[1 + g % 5], 'default',
                   false, now() - (g::float8 / :count) * interval '365 days',
                   now() - (g::float8 / :count) * interval '365 days' + interval '5 ms',
                   now() - (g::float8 / :count) * interval '365 days' + interval '2 s',
                   false, 1, '{}', '{}', '{"ok": true}'
            FROM generate_series(1, :count) AS g CROSS JOIN (SELECT * FROM jobs LIMIT 1) AS j"""),
            {"count": count},
        )


def align(db, after) -> None:
    """Move every schedule to its first regular slot after ``after``: steady state from then on."""
    from service.models import ScheduledJob
    from service.scheduling.slots import next_slot

    with db.session() as session:
        moves = [{"b_id": schedule.id, "b_next": next_slot(schedule, after)}
                 for schedule in session.scalars(select(ScheduledJob))]
        table = ScheduledJob.__table__
        session.connection().execute(
            table.update().where(table.c.id == bindparam("b_id")).values(next_run_at=bindparam("b_next")),
            moves,
        )


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


def cpu_seconds(who: int = resource.RUSAGE_THREAD) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def backend_cpu(db) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to ``db``'s database, by pid."""
    with db.engine.connect() as connection:
        # Its own backend too: a pooled connection the scheduler uses as well (this query costs ~nothing).
        pids = set(connection.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))
    tick, used = os.sysconf("SC_CLK_TCK"), {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
        except OSError:  # ended meanwhile, or on another machine
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    return used


def timed_steps(scheduler, spent: dict[str, float]) -> None:
    """Wrap each of ``scheduler``'s steps to add the loop thread's CPU it takes to ``spent``."""

    def timed(step):
        def run(now):
            start = cpu_seconds()
            try:
                return step(now)
            finally:
                spent[name] += cpu_seconds() - start

        name = getattr(step, "__name__", repr(step))
        run.__name__ = name
        return run

    scheduler.steps = [timed(step) for step in scheduler.steps]


def print_profile(profile: cProfile.Profile | None) -> None:
    if profile is not None:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())


def report_catch_up(runtime, tick_began, before, later, minutes, took, took_cpu, spent) -> None:
    """What the first tick after ``minutes`` of downtime did, by catch-up policy."""
    from service.models import JobResult

    grace = timedelta(seconds=runtime.settings.schedule_misfire_grace_seconds)
    with runtime.db.session() as session:
        made = session.execute(
            select(JobResult.scheduled_job_id, func.count(), func.max(JobResult.scheduled_at))
            .where(JobResult.scheduled_at.is_not(None), JobResult.created >= tick_began)
            .group_by(JobResult.scheduled_job_id)
        ).all()
    runs = {schedule_id: (count, slot) for schedule_id, count, slot in made}
    policies: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for schedule in before.values():
        counts = policies[schedule.catch_up]
        counts["schedules"] += 1
        counts["due"] += schedule.next_run_at is not None and schedule.next_run_at <= later
        count, slot = runs.get(schedule.id, (0, None))
        counts["runs"] += count
        counts["late"] += slot is not None and later - slot > grace  # a missed slot that ran
    most = max((count for count, _ in runs.values()), default=0)
    backends = spent.pop("PostgreSQL backends")
    print(f"after {minutes} min down, the first tick: {took:.1f} s, {took_cpu:.1f} s CPU of the scheduler "
          f"({', '.join(f'{name} {seconds:.2f} s' for name, seconds in spent.items() if seconds >= 0.01)}); "
          f"its PostgreSQL backends {backends:.1f} s")
    for policy, counts in sorted(policies.items()):
        if policy == "once":
            ok = counts["runs"] == counts["due"]
            rule = "each due schedule runs its latest slot once"
        else:
            ok = counts["late"] == 0
            rule = "no missed slot runs; a slot within the grace still does"
        print(f"  catch_up={policy}: {counts['schedules']:,} schedules, {counts['due']:,} with slots due, "
              f"{counts['runs']:,} runs, {counts['late']:,} of them for a slot more than "
              f"{grace.total_seconds():g} s late ({rule}: {common.verdict(ok)})")
    print(f"  most runs of one schedule: {most} (no storm: target <= 1 {common.verdict(most <= 1)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=common.DEFAULT_DATABASE_URL, help="PostgreSQL (emptied)")
    parser.add_argument("--redis-url", help="Redis database to send to (emptied; default: in-process)")
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--downtime-minutes", type=int, default=60)
    parser.add_argument("--history", type=int, default=200_000,
                        help="finished runs over the past year already in job_results")
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary of the loop")
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
            "history": f"{args.history:,} finished runs",
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
            add_history(runtime.db, args.history)
            with runtime.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE scheduled_jobs"))
                connection.execute(text("VACUUM ANALYZE job_results"))
            align(runtime.db, utcnow() + timedelta(seconds=3))
            with runtime.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE scheduled_jobs"))
            print(f"set up in {(utcnow() - began).total_seconds():.1f} s")
            scheduler, stop, used = Scheduler(runtime), threading.Event(), {}
            spent: dict[str, float] = defaultdict(float)
            timed_steps(scheduler, spent)
            profile = cProfile.Profile() if args.profile else None

            def loop():
                start = cpu_seconds()
                if profile:
                    profile.enable()
                scheduler.run_forever(stop)
                if profile:
                    profile.disable()
                used["cpu"] = cpu_seconds() - start

            thread = threading.Thread(target=loop, name="scheduler")
            backends_start = backend_cpu(runtime.db)
            process_start = cpu_seconds(resource.RUSAGE_SELF)
            wall_start, started = time.perf_counter(), utcnow()
            thread.start()
            stop.wait(args.seconds)
            stop.set()
            thread.join()
            wall = time.perf_counter() - wall_start
            process_cpu = cpu_seconds(resource.RUSAGE_SELF) - process_start
            # Backends that ended during the window take their CPU with them: those still there count.
            backends = sum(seconds - backends_start.get(pid, 0.0)
                           for pid, seconds in backend_cpu(runtime.db).items())
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
                per_second = Counter(slot.replace(microsecond=0) for _, _, slot in rows)
                print(f"firings: {len(lateness):,} in {wall:.0f} s ({len(lateness) / wall:.1f}/s; "
                      f"the busiest second had {max(per_second.values()):,} slots)")
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
                f"(target <= 10% {common.verdict(share <= 10)}); the whole process: "
                f"{process_cpu:.1f} s = {process_cpu / wall * 100:.1f}%"
            )
            print(f"  PostgreSQL backends serving it (not in the target): {backends:.1f} s = "
                  f"{backends / wall * 100:.1f}% of one core")
            steps = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in
                              sorted(spent.items(), key=lambda item: -item[1]))
            print(f"  by step (CPU): {steps}; sleeping and waking between them "
                  f"{used['cpu'] - sum(spent.values()):.2f} s")
            print_profile(profile)

            tick_began = utcnow()
            later = tick_began + timedelta(minutes=args.downtime_minutes)
            with runtime.db.session() as session:  # what each schedule had due, before the tick
                before = {row.id: row for row in session.execute(
                    select(ScheduledJob.id, ScheduledJob.catch_up, ScheduledJob.next_run_at))}
            catch_up = Scheduler(runtime, clock=lambda: later)
            spent.clear()
            timed_steps(catch_up, spent)
            profile = cProfile.Profile() if args.profile else None
            backends_start = backend_cpu(runtime.db)
            start, cpu_start = time.perf_counter(), cpu_seconds()
            if profile:
                profile.enable()
            catch_up.tick()
            if profile:
                profile.disable()
            took, took_cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
            spent["PostgreSQL backends"] = sum(seconds - backends_start.get(pid, 0.0)
                                               for pid, seconds in backend_cpu(runtime.db).items())
            print_profile(profile)
            report_catch_up(runtime, tick_began, before, later, args.downtime_minutes, took, took_cpu, spent)
        finally:
            bootstrap.reset()
    print(f"\nload average after: {common.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
