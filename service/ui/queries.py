"""The reads behind the list pages, each a fixed small number of queries however long the list."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Select, Text, and_, cast, func, or_, select, tuple_, type_coerce
from sqlalchemy.orm import Session, selectinload

from service.infra.pages import Keyset, cursor_text
from service.models import Job, JobLogEntry, JobResult, Status, User

TRI_STATE = {"yes": True, "no": False}
RECEIVER_FILTERS = {
    "hook": Job.is_job_hook_receiver.is_(True),
    "button": Job.is_job_button_receiver.is_(True),
    "none": and_(Job.is_job_hook_receiver.is_(False), Job.is_job_button_receiver.is_(False)),
}


@dataclasses.dataclass(frozen=True)
class LastRun:
    id: uuid.UUID
    status: str
    created: Any


@dataclasses.dataclass(frozen=True)
class JobFilters:
    q: str = ""
    installed: str = ""
    enabled: str = ""
    hidden: str = "no"  # hidden jobs stay out of the list unless asked for
    receivers: str = ""

    @classmethod
    def from_args(cls, args) -> JobFilters:
        return cls(q=args.get("q", "").strip(), installed=args.get("installed", ""),
                   enabled=args.get("enabled", ""), hidden=args.get("hidden", "no"),
                   receivers=args.get("receivers", ""))


#: What the job list shows: plain columns, so a thousand jobs cost no ORM objects or schemas.
LIST_COLUMNS = (Job.id, Job.name, Job.grouping, Job.description, Job.enabled, Job.installed, Job.hidden,
                Job.is_job_hook_receiver, Job.is_job_button_receiver, Job.approval_required, Job.read_only,
                Job.task_queues)


def job_statement(filters: JobFilters) -> Select:
    statement = select(*LIST_COLUMNS).order_by(Job.grouping, Job.name, Job.class_path)
    for name in ("installed", "enabled", "hidden"):
        wanted = TRI_STATE.get(getattr(filters, name))
        if wanted is not None:
            statement = statement.where(getattr(Job, name).is_(wanted))
    if filters.receivers in RECEIVER_FILTERS:
        statement = statement.where(RECEIVER_FILTERS[filters.receivers])
    if filters.q:
        statement = statement.where(or_(*(column.icontains(filters.q, autoescape=True)
                                          for column in (Job.name, Job.grouping, Job.description,
                                                         Job.class_path))))
    return statement


def last_runs(session: Session, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, LastRun]:
    """Each job's latest run (status and time), in one query."""
    if not job_ids:
        return {}
    latest = (select(JobResult.job_id, func.max(JobResult.created).label("created"))
              .where(JobResult.job_id.in_(job_ids)).group_by(JobResult.job_id).subquery())
    rows = session.execute(
        select(JobResult.job_id, JobResult.id, JobResult.status, JobResult.created)
        .join(latest, and_(JobResult.job_id == latest.c.job_id, JobResult.created == latest.c.created)))
    return {row.job_id: LastRun(row.id, row.status, row.created) for row in rows}


def grouped_jobs(session: Session, filters: JobFilters) -> list[tuple[str, list[tuple[Any, LastRun | None]]]]:
    """Jobs matching ``filters`` (rows of ``LIST_COLUMNS``) by grouping, each with its latest run."""
    jobs = session.execute(job_statement(filters)).all()
    runs = last_runs(session, [job.id for job in jobs])
    return [(grouping, [(job, runs.get(job.id)) for job in members])
            for grouping, members in groupby(jobs, key=lambda job: job.grouping)]


@dataclasses.dataclass(frozen=True)
class ResultFilters:
    job: str = ""
    status: tuple[str, ...] = ()
    user: str = ""
    kind: str = ""  # "jobs", "background" or "" for both

    @classmethod
    def from_args(cls, args) -> ResultFilters:
        return cls(job=args.get("job", "").strip(),
                   status=tuple(status for status in args.getlist("status") if status in Status.ALL),
                   user=args.get("user", "").strip(), kind=args.get("kind", ""))


def result_statement(filters: ResultFilters) -> Select:
    statement = (select(JobResult).options(selectinload(JobResult.job), selectinload(JobResult.user))
                 .order_by(JobResult.created.desc(), JobResult.id.desc()))
    if filters.job:
        try:
            statement = statement.where(JobResult.job_id == uuid.UUID(filters.job))
        except ValueError:
            statement = statement.where(or_(JobResult.name.icontains(filters.job, autoescape=True),
                                            JobResult.class_path == filters.job))
    if filters.status:
        statement = statement.where(JobResult.status.in_(filters.status))
    if filters.user:
        users = select(User.id).where(User.username == filters.user)
        statement = statement.where(JobResult.user_id.in_(users))
    if filters.kind == "jobs":
        statement = statement.where(JobResult.runner.is_(None))
    elif filters.kind == "background":
        statement = statement.where(JobResult.runner.is_not(None))
    return statement


#: A log line as the pages show it: plain tuples read through Core (level, grouping, message, object,
#: created as text), then, where a cursor is needed, the line's ``(created, id)``.
_LINE_COLUMNS = (JobLogEntry.level, JobLogEntry.grouping, JobLogEntry.message,
                 cast(JobLogEntry.object, Text), type_coerce(JobLogEntry.created, Text))
_LINE_KEY = (JobLogEntry.created, JobLogEntry.id)


def log_lines(session: Session, result_id: uuid.UUID, *, after: int = 0, limit: int | None = None,
              total: int | None = None, levels: Sequence[str] = (), keyed: bool = False) -> list[Any]:
    """The run's log entries from position ``after`` on (at most ``limit``), oldest first.

    Plain tuples ``(level, grouping, message, object, created)`` read through Core, not the ORM: a
    run may have hundreds of thousands of lines. ``object`` comes as JSON text, parsed only where a
    line has one; ``created`` as the driver gives it (SQLite: the stored UTC text), which halves
    the cost of reading them. ``service.ui.logview`` reads either form.

    Given the ``total`` number of lines, a position nearer the end is read backwards from the end,
    so the live tail of a long log (and its last page) costs as little as its first page.
    ``levels`` keeps only lines of those levels (positions then count those lines only).
    ``keyed`` adds what ``log_cursor`` needs to each tuple.
    """
    columns = _LINE_COLUMNS + _LINE_KEY if keyed else _LINE_COLUMNS
    statement = select(*columns).where(JobLogEntry.job_result_id == result_id)
    if levels:
        statement = statement.where(JobLogEntry.level.in_(levels))
    if total is not None and limit is not None and after > total // 2:
        stop = min(after + limit, total)
        backwards = (statement.order_by(JobLogEntry.created.desc(), JobLogEntry.id.desc())
                     .offset(total - stop).limit(max(stop - after, 0)))
        return session.connection().execute(backwards).all()[::-1]
    statement = statement.order_by(JobLogEntry.created, JobLogEntry.id).offset(after).limit(limit)
    return session.connection().execute(statement).all()


def log_lines_after(session: Session, result_id: uuid.UUID, cursor: tuple[Any, uuid.UUID] | None, *,
                    limit: int) -> list[Any]:
    """The run's log entries after the line ``cursor`` names (from the start without one), oldest first.

    A seek on the run's ``(created, id)`` index, never an offset or a count: the live tail of a
    200,000-line log costs what the tail of a ten-line one does. Rows are ``log_lines``' tuples
    followed by the line's ``cursor`` (see ``log_cursor``).
    """
    statement = select(*_LINE_COLUMNS, *_LINE_KEY).where(JobLogEntry.job_result_id == result_id)
    if cursor is not None:
        statement = statement.where(tuple_(JobLogEntry.created, JobLogEntry.id) > cursor)
    statement = statement.order_by(JobLogEntry.created, JobLogEntry.id).limit(limit)
    return session.connection().execute(statement).all()


def log_cursor(line: Sequence[Any]) -> str:
    """A line of ``log_lines_after`` as the text a later call resumes after (the API's cursor form)."""
    return cursor_text(line[5], line[6])


def parse_log_cursor(value: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The ``(created, id)`` a ``log_cursor`` text names, or None for anything else."""
    return Keyset.parse(value or "")


def log_line_count(session: Session, result_id: uuid.UUID) -> int:
    """How many lines the run has logged so far."""
    return session.scalar(select(func.count()).where(JobLogEntry.job_result_id == result_id)) or 0


def log_level_counts(session: Session, result_id: uuid.UUID) -> dict[str, int]:
    """How many lines the run logged at each level (read from the index, not the lines)."""
    rows = session.execute(select(JobLogEntry.level, func.count())
                           .where(JobLogEntry.job_result_id == result_id).group_by(JobLogEntry.level))
    return dict(rows.all())
