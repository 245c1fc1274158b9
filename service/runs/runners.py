"""JobRunner background work as JobResult rows: the dispatcher the service installs at start-up.

Every enqueue writes a PENDING JobResult first and sends its message once that commits; a run
scheduled for later is sent by the scheduler when it falls due. A run's input is stored as
``{"args": [...], "kwargs": {...}}`` in a JSON column, so arguments must be JSON values: pass
ids and strings, not rows or other objects.

``enqueue_once`` is idempotent per (runner, instance): the check and the insert run under a
database lock (PostgreSQL ``pg_advisory_xact_lock``; on SQLite the write lock, taken first, since
SQLite serialises writers), so concurrent callers, threads or processes, leave one waiting row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from service.errors import ValidationError
from service.infra.outbox import send_after_commit
from service.jobs.runner import JobRunner, runner_path, system_jobs
from service.models import JobResult, Status, utcnow
from service.runs.pending import add_pending, is_due, pending_row

logger = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"


@dataclasses.dataclass(frozen=True)
class RunnerCall:
    """One ``JobRunner.enqueue`` call, checked and reduced to what a JobResult stores."""

    path: str
    name: str
    input_data: dict
    object_type: str | None
    object_id: str | None
    schedule_at: datetime | None
    interval: int | None
    queue: str
    user_id: uuid.UUID | None


def object_reference(instance: Any) -> tuple[str | None, str | None]:
    """Return (table name, id) for a saved model row; raises ValidationError for anything else."""
    if instance is None:
        return None, None
    table = getattr(type(instance), "__tablename__", None)
    if table is None or getattr(instance, "id", None) is None:
        raise ValidationError(
            {"instance": [f"A job's instance must be a saved database row, not {type(instance).__name__}."]}
        )
    return table, str(instance.id)


def runner_input(args: tuple, kwargs: dict[str, Any]) -> dict:
    """Return the stored input for ``args``/``kwargs``; raises ValidationError unless it is JSON."""
    data = {"args": list(args), "kwargs": dict(kwargs)}
    try:
        json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            {"input_data": [f"JobRunner arguments must be JSON values (pass ids, not objects): {exc}"]}
        ) from None
    return data


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        raise ValidationError({"schedule_at": [f"Expected a datetime, not {type(moment).__name__}."]})
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _interval(interval: Any) -> int | None:
    if interval is None:
        return None
    if isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0:
        raise ValidationError({"interval": [f"Expected a positive number of minutes, not {interval!r}."]})
    return int(interval)


def build_call(
    runner_class: type[JobRunner],
    args: tuple,
    kwargs: dict[str, Any],
    *,
    instance: Any = None,
    schedule_at: datetime | None = None,
    interval: int | None = None,
    queue: str | None = None,
    user: Any = None,
    known_queues: tuple[str, ...],
) -> RunnerCall:
    """Check an enqueue call's arguments; raises ValidationError naming the bad one."""
    queue = queue or DEFAULT_QUEUE
    if queue not in known_queues:
        raise ValidationError({"queue": [f"{queue!r} is not a configured queue."]})
    object_type, object_id = object_reference(instance)
    return RunnerCall(
        path=runner_path(runner_class),
        name=runner_class.name,
        input_data=runner_input(args, kwargs),
        object_type=object_type,
        object_id=object_id,
        schedule_at=_aware(schedule_at),
        interval=_interval(interval),
        queue=queue,
        user_id=getattr(user, "id", None),
    )


def enqueue_runner(session: Session, call: RunnerCall, *, now: datetime) -> JobResult:
    """Write a PENDING run for ``call``; its message leaves on commit if due, else the scheduler sends it."""
    return add_pending(session, runner_row(call, now=now))


def runner_row(call: RunnerCall, *, now: datetime) -> dict[str, Any]:
    """Return the PENDING row's values for ``call`` (for ``add_pending`` or a batched ``insert_pending``)."""
    return pending_row(
        now=now,
        scheduled_at=call.schedule_at,
        name=call.name,
        class_path=call.path,
        runner=call.path,
        queue=call.queue,
        user_id=call.user_id,
        object_type=call.object_type,
        object_id=call.object_id,
        interval=call.interval,
        input_data=call.input_data,
    )


def lock_identity(session: Session, identity: str) -> None:
    """Hold a lock named ``identity`` until the transaction ends, so check-then-insert is atomic."""
    lock_identities(session, [identity])


def lock_identities(session: Session, identities: list[str]) -> None:
    """Hold a lock for each of ``identities`` until the transaction ends, taken in one statement.

    Locks are taken in a fixed order, so two callers locking overlapping sets never deadlock.
    """
    if session.get_bind().dialect.name == "postgresql":
        numbers = sorted(
            {int.from_bytes(hashlib.sha256(i.encode()).digest()[:8], "big", signed=True) for i in identities}
        )
        session.execute(
            text("SELECT count(pg_advisory_xact_lock(n)) FROM unnest(CAST(:numbers AS bigint[])) AS n"),
            {"numbers": numbers},
        )
    else:
        # SQLite has one writer at a time: a no-op write takes that lock now rather than at insert.
        session.execute(text("UPDATE job_results SET id = id WHERE 1 = 0"))


def once_identity(class_path: str, object_type: str | None, object_id: str | None) -> str:
    return f"jobsync.once:{class_path}:{object_type or ''}:{object_id or ''}"


def waiting_run(
    session: Session, path: str, object_type: str | None, object_id: str | None, *, runner: bool = True
) -> JobResult | None:
    """Return the oldest PENDING run of runner (or job class) ``path`` for this object, or for none."""
    by_path = JobResult.runner == path if runner else JobResult.class_path == path
    return session.scalar(
        select(JobResult)
        .where(
            by_path,
            JobResult.status == Status.PENDING,
            JobResult.object_type.is_(None) if object_type is None else JobResult.object_type == object_type,
            JobResult.object_id.is_(None) if object_id is None else JobResult.object_id == object_id,
        )
        .order_by(JobResult.created)
        .limit(1)
    )


def enqueue_runner_once(session: Session, call: RunnerCall, *, now: datetime) -> JobResult:
    """Return the waiting run for (runner, instance), creating it only if there is none.

    An existing run is kept; it is updated only where the call names a different ``schedule_at``
    or a different ``interval`` (no ``schedule_at`` accepts any scheduled time, as NetBox does).
    """
    lock_identity(session, once_identity(call.path, call.object_type, call.object_id))
    existing = waiting_run(session, call.path, call.object_type, call.object_id)
    if existing is None:
        return enqueue_runner(session, call, now=now)
    changes: dict[str, Any] = {}
    if call.schedule_at is not None and existing.scheduled_at != call.schedule_at:
        # A message already sent for the old time is dropped by the worker's claim if early; the
        # scheduler sends a fresh one when the new time comes.
        changes.update(scheduled_at=call.schedule_at, enqueued=None)
    if existing.interval != call.interval:
        changes["interval"] = call.interval
    if not changes:
        return existing
    updated = session.execute(
        update(JobResult)
        .where(JobResult.id == existing.id, JobResult.status == Status.PENDING)
        .values(**changes)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not updated:  # a worker claimed it meanwhile: it no longer waits, so this call needs a new run
        return enqueue_runner(session, call, now=now)
    session.refresh(existing)
    if "scheduled_at" in changes and is_due(existing.scheduled_at, now):
        existing.enqueued = now
        send_after_commit(session, existing.id, existing.queue)
    return existing


class DatabaseDispatcher:
    """Turns ``JobRunner.enqueue`` / ``enqueue_once`` / ``get_jobs`` into JobResult rows."""

    def __init__(self, runtime, *, clock: Callable[[], datetime] = utcnow):
        self.runtime = runtime
        self.clock = clock

    def enqueue(
        self,
        runner_class: type[JobRunner],
        args: tuple,
        kwargs: dict[str, Any],
        *,
        instance: Any,
        schedule_at: Any,
        interval: int | None,
        queue: str | None,
        user: Any,
        once: bool,
    ) -> JobResult:
        """Write the run (or find the waiting one, for ``once``) and return it, committed."""
        call = build_call(
            runner_class,
            args,
            kwargs,
            instance=instance,
            schedule_at=schedule_at,
            interval=interval,
            queue=queue,
            user=user,
            known_queues=self.runtime.settings.all_queues,
        )
        with self.runtime.db.session() as session:
            if once:
                return enqueue_runner_once(session, call, now=self.clock())
            return enqueue_runner(session, call, now=self.clock())

    def get_jobs(self, runner_class: type[JobRunner], instance: Any) -> list[JobResult]:
        """Return the runner's runs, newest first (only ``instance``'s when given)."""
        query = select(JobResult).where(JobResult.runner == runner_path(runner_class))
        if instance is not None:
            object_type, object_id = object_reference(instance)
            query = query.where(JobResult.object_type == object_type, JobResult.object_id == object_id)
        with self.runtime.db.session() as session:
            return list(session.scalars(query.order_by(JobResult.created.desc())))


def enqueue_system_jobs() -> int:
    """Make sure every registered system job has its periodic run waiting; return how many."""
    import service.runs.housekeeping  # noqa: F401  (importing registers the built-in system jobs)

    done = 0
    for runner_class, interval in system_jobs():
        try:
            runner_class.setup(interval=interval)
            done += 1
        except Exception:  # one broken system job must not stop a worker or scheduler starting
            logger.exception("could not schedule system job %s", runner_path(runner_class))
    return done


__all__ = [
    "DatabaseDispatcher",
    "RunnerCall",
    "build_call",
    "enqueue_runner",
    "enqueue_runner_once",
    "enqueue_system_jobs",
    "lock_identities",
    "lock_identity",
    "object_reference",
    "once_identity",
    "runner_input",
    "runner_row",
    "waiting_run",
]
