"""Matching a column against thousands of values: one array parameter on PostgreSQL, short IN lists on SQLite.

An expanding ``IN`` of 10,000 values renders 10,000 placeholders, and psycopg parses a query that
long on every execution (~0.1 s per 30,000 placeholders); ``= ANY(:array)`` is one parameter.
SQLite has no arrays and caps a statement's parameters, so it gets chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

#: Values per IN list on SQLite, well under its parameter limit with room for the rest of a statement.
SQLITE_CHUNK = 500


def matching(session: Session, column: Any, values: Sequence[Any]) -> list[ColumnElement[bool]]:
    """Return WHERE clauses that together select the rows whose ``column`` is in ``values``.

    Run the statement once per clause; none when ``values`` is empty.
    """
    values = list(values)
    if not values:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return [column == any_(bindparam(None, values, type_=ARRAY(column.type)))]
    return [column.in_(values[start : start + SQLITE_CHUNK]) for start in range(0, len(values), SQLITE_CHUNK)]
