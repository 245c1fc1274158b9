"""Insert rows with prepared Core statements; ``insert_once`` is the atomic "first one wins" of deduplication.

``INSERT ... ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite: no exception, no savepoint, and
two racing requests with the same key leave one row (PostgreSQL makes the second wait for the
first to commit, then inserts nothing). Statements are built once and reused, since building
and keying a fresh one costs more than running it on the busy webhook paths.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_once(
    session: Session,
    model: type,
    values: Mapping[str, Any],
    unique: Sequence[str],
    *,
    returning: Sequence[str] = (),
    computed: Mapping[str, ColumnElement] | None = None,
) -> Row | None:
    """Insert a ``model`` row unless ``unique`` is taken; return its ``id`` and ``returning``, else None.

    ``values`` are bound parameters (a key that is not a column binds a parameter of ``computed``);
    ``computed`` maps columns to SQL the database evaluates: pass module-level constants, as each
    distinct one builds and keeps its own statement.
    """
    statement = _insert_once(
        _dialect(session), model, tuple(unique), tuple(returning), tuple((computed or {}).items())
    )
    return session.connection().execute(statement, {"id": uuid.uuid4(), **values}).one_or_none()


def insert_row(session: Session, model: type, values: Mapping[str, Any]) -> uuid.UUID:
    """Insert a ``model`` row from ``values`` without the ORM's unit of work; return its id."""
    row_id = uuid.uuid4()
    session.connection().execute(_insert(_dialect(session), model), {"id": row_id, **values})
    return row_id


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@functools.cache
def _insert(dialect: str, model: type):
    return _INSERTS[dialect](model)


@functools.cache
def _insert_once(dialect: str, model: type, unique: tuple, returning: tuple, computed: tuple):
    return (
        _INSERTS[dialect](model)
        .values(**dict(computed))
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(model.id, *(getattr(model, name) for name in returning))
    )
