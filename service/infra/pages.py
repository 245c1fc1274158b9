"""One page of a long list, fast at any depth: a bounded count and a deferred join for deep pages.

Counting a year of history row by row costs more than the page itself, and an OFFSET deep into a
table reads (and fetches from the heap) every row it skips. So:

- the count is exact up to ``EXACT_COUNT_LIMIT`` rows; above it, PostgreSQL's planner estimate
  is used (never less than the exact part), and ``Page.estimated`` says so. SQLite always counts;
- whether a next page exists is known from one extra row, never from the count;
- a deep page first selects only the primary keys of its rows (an index-only scan when the
  ordering index includes the key), then loads those rows;
- a list ordered by ``(created, id)`` can also be read from a ``Keyset`` cursor naming the last
  row seen: a seek on that index, as fast at the millionth row as at the first.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text, tuple_
from sqlalchemy.orm import Session

#: Lists up to this many rows are counted exactly; longer ones are estimated on PostgreSQL.
EXACT_COUNT_LIMIT = 10_000
#: From this offset on, a page's keys are selected first and its rows loaded by key.
DEFERRED_JOIN_OFFSET = 1_000


@dataclasses.dataclass(frozen=True)
class Page:
    rows: list[Any]
    has_next: bool  # another row follows this page


def cursor_text(created: datetime, key: uuid.UUID) -> str:
    """The cursor naming the row ``(created, key)``: ``<created ISO 8601>~<key hex>``."""
    return f"{created.isoformat()}~{key.hex}"


@dataclasses.dataclass(frozen=True)
class Keyset:
    """A list ordered by ``(created, id)`` (both ascending or both descending), read from a cursor.

    A cursor is ``<created ISO 8601>~<id hex>``: the last row of the page before. Reading on from it
    is a seek on the ``(created, id)`` index however deep the page, and rows added or removed
    meanwhile neither shift nor repeat the rows that follow.
    """

    created: Any  # the ordering's columns, e.g. JobResult.created and JobResult.id
    key: Any
    descending: bool = False

    def cursor_of(self, row: Any) -> str:
        return cursor_text(getattr(row, self.created.key), getattr(row, self.key.key))

    @staticmethod
    def parse(cursor: str) -> tuple[datetime, uuid.UUID] | None:
        """The ``(created, id)`` a cursor names; None if it names none."""
        created, _, key = cursor.partition("~")
        try:
            return datetime.fromisoformat(created), uuid.UUID(hex=key)
        except ValueError:
            return None

    def after(self, statement: Select, cursor: str) -> Select:
        """``statement`` narrowed to the rows after the one ``cursor`` names, in its order."""
        position = self.parse(cursor)
        if position is None:
            raise ValueError(f"not a cursor: {cursor!r}")
        row = tuple_(self.created, self.key)
        return statement.where(row < position if self.descending else row > position)


def fetch_page(session: Session, statement: Select, *, limit: int, offset: int) -> Page:
    """Run one page of ``statement`` (rows of one entity, ordered), reading one row ahead."""
    rows = _rows(session, statement, limit + 1, offset)
    return Page(rows=rows[:limit], has_next=len(rows) > limit)


def count_rows(session: Session, statement: Select) -> tuple[int, bool]:
    """The number of rows ``statement`` selects: exact up to EXACT_COUNT_LIMIT, else estimated."""
    bounded = statement.order_by(None).limit(EXACT_COUNT_LIMIT + 1).subquery()
    exact = session.scalar(select(func.count()).select_from(bounded)) or 0
    if exact <= EXACT_COUNT_LIMIT or session.get_bind().dialect.name != "postgresql":
        if exact > EXACT_COUNT_LIMIT:
            exact = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
        return exact, False
    estimate = _planner_estimate(session, statement)
    if estimate is None:
        return session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())), False
    return max(estimate, exact), True


def _planner_estimate(session: Session, statement: Select) -> int | None:
    """PostgreSQL's estimate of the rows ``statement`` selects; None if its SQL can't be inlined."""
    try:
        compiled = statement.order_by(None).compile(session.get_bind(),
                                                    compile_kwargs={"literal_binds": True})
    except Exception:  # a parameter type without a literal form: count exactly instead
        return None
    plan = session.execute(text(f"EXPLAIN (FORMAT JSON) {compiled}".replace(":", r"\:"))).scalar()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def _rows(session: Session, statement: Select, limit: int, offset: int) -> list[Any]:
    if offset < DEFERRED_JOIN_OFFSET:
        return list(session.scalars(statement.limit(limit).offset(offset)))
    entity = statement.column_descriptions[0]["entity"]
    key = entity.__mapper__.primary_key[0]
    keys = list(session.scalars(statement.with_only_columns(key).limit(limit).offset(offset)))
    if not keys:
        return []
    # The same statement (its loader options too), narrowed to the page's keys.
    loaded = session.scalars(statement.limit(None).offset(None).where(key.in_(keys)))
    by_key = {getattr(row, key.key): row for row in loaded}
    return [by_key[value] for value in keys if value in by_key]
