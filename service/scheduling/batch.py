"""One batch of firings: what each due schedule's slot became, and the few statements that write it."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.models import ScheduledJob, ScheduledSlot
from service.models.base import UTCDateTime
from service.runs.requests import PreparedRun

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_SLOTS = ScheduledSlot.__table__
_SCHEDULES = ScheduledJob.__table__

_LINK_SLOT = update(_SLOTS).where(_SLOTS.c.id == bindparam("b_id")).values(job_result_id=bindparam("b_run"))
# Only a schedule whose next run is not already past the slot moves on (a stale view never sets
# one back); a created run counts and stamps the time it fired.
_MOVE = (
    update(_SCHEDULES)
    .where(_SCHEDULES.c.id == bindparam("b_id"), _SCHEDULES.c.next_run_at <= bindparam("b_slot"))
    .values(
        next_run_at=bindparam("b_next"),
        last_run_at=func.coalesce(bindparam("b_last", type_=UTCDateTime()), _SCHEDULES.c.last_run_at),
        total_run_count=_SCHEDULES.c.total_run_count + bindparam("b_runs"),
    )
)
_DISABLE = (
    update(_SCHEDULES)
    .where(_SCHEDULES.c.id == bindparam("b_id"))
    .values(enabled=False, disabled_reason=bindparam("b_reason"))
)
_HOLD = update(_SCHEDULES).where(_SCHEDULES.c.id.in_(bindparam("b_ids", expanding=True)))


@dataclasses.dataclass
class Batch:
    """Due schedules' outcomes, gathered in memory and written with one statement per kind."""

    now: datetime
    slots: dict[uuid.UUID, datetime] = dataclasses.field(default_factory=dict)  # fired, by schedule
    runs: dict[uuid.UUID, PreparedRun | None] = dataclasses.field(default_factory=dict)  # None: skipped
    moves: dict[uuid.UUID, tuple[datetime, datetime | None]] = dataclasses.field(default_factory=dict)
    held: list[uuid.UUID] = dataclasses.field(default_factory=list)
    disabled: dict[uuid.UUID, str] = dataclasses.field(default_factory=dict)
    singletons: set[uuid.UUID] = dataclasses.field(default_factory=set)  # jobs with a run in the batch
    slot_ids: dict[uuid.UUID, uuid.UUID] = dataclasses.field(default_factory=dict)

    def fire(self, schedule_id: uuid.UUID, slot: datetime, following: datetime | None,
             run: PreparedRun | None) -> None:
        """Record ``slot`` as fired, with ``run`` (None: it passes without one), and move on."""
        self.slots[schedule_id], self.runs[schedule_id] = slot, run
        self.move(schedule_id, slot, following)

    def move(self, schedule_id: uuid.UUID, slot: datetime, following: datetime | None) -> None:
        """Move the schedule past ``slot`` to ``following``."""
        self.moves[schedule_id] = (slot, following)

    def hold(self, schedule_id: uuid.UUID) -> None:
        self.held.append(schedule_id)

    def disable(self, schedule_id: uuid.UUID, reason: str) -> None:
        self.disabled[schedule_id] = reason

    def run_of(self, schedule_id: uuid.UUID) -> PreparedRun:
        """The prepared run of ``schedule_id``'s slot, marked as that slot's."""
        run = self.runs[schedule_id]
        row = run.row | {"scheduled_job_id": schedule_id, "scheduled_at": self.slots[schedule_id]}
        return PreparedRun(row, run.transient)

    def record_slots(self, session: Session) -> set[uuid.UUID]:
        """Insert the fired slots in one statement; return the schedules whose slot no one fired before."""
        if not self.slots:
            return set()
        rows = []
        for schedule_id in sorted(self.slots):  # one lock order for every scheduler
            self.slot_ids[schedule_id] = uuid.uuid4()
            rows.append({"id": self.slot_ids[schedule_id], "scheduled_job_id": schedule_id,
                         "slot_time": self.slots[schedule_id], "created": self.now})
        insert = _INSERTS[session.get_bind().dialect.name](_SLOTS)
        statement = insert.on_conflict_do_nothing(
            index_elements=[_SLOTS.c.scheduled_job_id, _SLOTS.c.slot_time]
        ).returning(_SLOTS.c.scheduled_job_id)
        return set(session.connection().execute(statement, rows).scalars())

    def link_slots(self, session: Session, won: set[uuid.UUID]) -> None:
        """Point each fired slot at the run it created."""
        links = [{"b_id": self.slot_ids[schedule_id], "b_run": self.runs[schedule_id].row["id"]}
                 for schedule_id in won if self.runs.get(schedule_id) is not None]
        if links:
            session.connection().execute(_LINK_SLOT, links)

    def move_schedules(self, session: Session, won: set[uuid.UUID]) -> None:
        """Move every schedule on in one statement; a slot fired elsewhere only steps past it."""
        moves = []
        for schedule_id, (slot, following) in self.moves.items():
            created = schedule_id in won and self.runs.get(schedule_id) is not None
            moves.append({"b_id": schedule_id, "b_slot": slot, "b_next": following,
                          "b_last": self.now if created else None, "b_runs": int(created)})
        if moves:
            session.connection().execute(_MOVE, moves)

    def hold_schedules(self, session: Session) -> None:
        """Hold the schedules whose job came to require approval until someone approves them."""
        if self.held:
            session.connection().execute(_HOLD.values(approval_state="needs_approval"),
                                         {"b_ids": self.held})

    def disable_schedules(self, session: Session) -> None:
        """Disable the schedules whose run cannot be prepared any more, each saying why."""
        if self.disabled:
            session.connection().execute(
                _DISABLE, [{"b_id": schedule_id, "b_reason": reason} for schedule_id, reason in
                           self.disabled.items()]
            )
