"""A source's Job rows as plain data: read in one query, written in a handful of Core statements.

A sync touches every job of a repository; ORM objects cost ~1 ms each to load, track and flush,
which made the first sync of a 10,000-job repository take most of a minute (issue 20). Here the
rows are read as tuples of the columns a plan compares, new rows go in one multi-row INSERT,
changed rows in one executemany UPDATE per set of changed columns, and the columns every seen row
gets (its commit) in one UPDATE. ``last_updated`` moves only on rows that really change.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from psycopg import sql
from sqlalchemy import JSON, Row, Text, bindparam, cast, insert, select, update
from sqlalchemy.orm import Session

from repos.reconcile import SYNCED_FIELDS, JobSnapshot
from service.infra.many import matching
from service.models import OVERRIDABLE_FIELDS, Job

#: Spec values stored on the row that the reconcile plan does not track.
EXTRA_FIELDS = (
    "retry_on_worker_lost",
    "concurrency_key",
    "concurrency_key_callable",
    "concurrency_limit",
    "concurrency_policy",
    "retries",
    "retry_backoff",
    "retry_on",
    "on_success_run",
    "on_failure_run",
)
OVERRIDE_FLAGS = tuple(f"{field}_override" for field in OVERRIDABLE_FIELDS)
_TABLE = Job.__table__
JSON_COLUMNS = frozenset(column.name for column in _TABLE.columns if isinstance(column.type, JSON))
# JSON columns are read as their text: decoding 70,000 values took a second at 10,000 rows, and the
# text the row holds is nearly always what the new value encodes to (``StoredJson``).
_READ = select(*(
    cast(_TABLE.c[name], Text).label(name) if name in JSON_COLUMNS else _TABLE.c[name]
    for name in ("id", "class_path", "module_name", "installed", "enabled", "commit", "environment_key",
                 "import_error", *SYNCED_FIELDS, *OVERRIDE_FLAGS, *EXTRA_FIELDS)
))
_UNDECODED = object()


class StoredJson:
    """A JSON column's value as read (its text), decoded only when a comparison needs the value.

    Equal to a value whose encoding is the same text (SQLAlchemy wrote the row with ``json.dumps``);
    otherwise the decoded values are compared, so equality means what it means for the values.
    """

    __slots__ = ("text", "_value")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, text: str):
        self.text = text
        self._value: Any = _UNDECODED

    @property
    def value(self) -> Any:
        if self._value is _UNDECODED:
            self._value = json.loads(self.text)
        return self._value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StoredJson):
            return self.text == other.text or self.value == other.value
        try:
            if json.dumps(other) == self.text:
                return True
        except (TypeError, ValueError):
            pass
        return bool(self.value == other)

    def __repr__(self) -> str:
        return f"StoredJson({self.text!r})"


def stored(name: str, raw: Any) -> Any:
    """Return column ``name``'s value as read by ``read_rows``: JSON text wrapped in a StoredJson."""
    return StoredJson(raw) if raw is not None and name in JSON_COLUMNS else raw


def extra_fields(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Return the values of ``EXTRA_FIELDS`` a job's spec gives its row."""
    return {
        "retry_on_worker_lost": bool(spec.get("retry_on_worker_lost", False)),
        "concurrency_key": spec.get("concurrency_key"),
        "concurrency_key_callable": bool(spec.get("concurrency_key_callable", False)),
        "concurrency_limit": int(spec.get("concurrency_limit") or 1),
        "concurrency_policy": spec.get("concurrency_policy") or "queue",
        "retries": int(spec.get("retries") or 0),
        "retry_backoff": spec.get("retry_backoff"),
        "retry_on": spec.get("retry_on"),
        "on_success_run": spec.get("on_success_run") or None,
        "on_failure_run": spec.get("on_failure_run") or None,
    }


def read_rows(session: Session, source: str, repository_id: uuid.UUID | None) -> dict[str, Row]:
    """Return the source's rows (only the repository's, when given) by class path."""
    query = _READ.where(_TABLE.c.source == source)
    if repository_id is not None:
        query = query.where(_TABLE.c.repository_id == repository_id)
    return {row.class_path: row for row in session.execute(query)}


def snapshot(row: Row) -> JobSnapshot:
    """Return what the reconcile plan needs to know of a row from ``read_rows``.

    JSON values are StoredJson, except overridden ones: the plan copies those into the new values.
    """
    values = row._mapping
    overridden = frozenset(field for field in OVERRIDABLE_FIELDS if values[f"{field}_override"])
    return JobSnapshot(
        class_path=row.class_path,
        module_name=row.module_name,
        installed=row.installed,
        enabled=row.enabled,
        values={
            field: _decoded(field, values[field]) if field in overridden else stored(field, values[field])
            for field in SYNCED_FIELDS
        },
        overridden=overridden,
        commit=row.commit,
    )


def _decoded(name: str, raw: Any) -> Any:
    return json.loads(raw) if raw is not None and name in JSON_COLUMNS else raw


def differing(row: Row, values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the items of ``values`` that ``row`` (from ``read_rows``) does not already hold."""
    current = row._mapping
    return {name: value for name, value in values.items() if stored(name, current[name]) != value}


def insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert new Job rows (each with its ``id``) in multi-row INSERTs, one per set of columns given.

    Columns a row leaves out get their defaults.
    """
    postgresql = session.get_bind().dialect.name == "postgresql"
    for columns, group in _by_columns(rows).items():
        if postgresql:
            _copy(session, columns, group)
        else:
            session.connection().execute(insert(_TABLE), group)


def _copy(session: Session, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` with one COPY: 10,000 rows went through executemany in seconds.

    COPY bypasses SQLAlchemy, so this does what its INSERT did: Python-side defaults for the
    columns left out, and JSON columns as JSON text (None as JSON ``null``, as the JSON type stores it).
    """
    defaults = {
        column.name: column.default
        for column in _TABLE.columns
        if column.name not in columns and column.default is not None
    }
    names = list(columns) + list(defaults)
    json_columns = {index for index, name in enumerate(names) if isinstance(_TABLE.c[name].type, JSON)}
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(_TABLE.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor, cursor.copy(statement) as copy:
        for row in rows:
            values = [row[name] for name in columns]
            values += [_default_value(default) for default in defaults.values()]
            for index in json_columns:
                values[index] = json.dumps(values[index])
            copy.write_row(values)


def _default_value(default: Any) -> Any:
    # A callable default is wrapped by SQLAlchemy to take the execution context, which none is here.
    return default.arg(None) if default.is_callable else default.arg


def update_rows(session: Session, changes: Mapping[uuid.UUID, Mapping[str, Any]]) -> None:
    """Apply each row's own changes: one executemany UPDATE per set of changed columns."""
    rows = [{"id": row_id, **values} for row_id, values in changes.items() if values]
    for columns, group in _by_columns(rows).items():
        names = [name for name in columns if name != "id"]
        statement = (
            update(_TABLE)
            .where(_TABLE.c.id == bindparam("row_id", type_=_TABLE.c.id.type))
            .values({name: bindparam(f"new_{name}", type_=_TABLE.c[name].type) for name in names})
        )
        parameters = [{"row_id": row["id"], **{f"new_{name}": row[name] for name in names}} for row in group]
        session.connection().execute(statement, parameters)


def update_all(session: Session, row_ids: Iterable[uuid.UUID], values: Mapping[str, Any]) -> None:
    """Set the same ``values`` on every row of ``row_ids`` (one UPDATE on PostgreSQL)."""
    for clause in matching(session, _TABLE.c.id, list(row_ids)):
        session.connection().execute(update(_TABLE).where(clause).values(dict(values)))


def _by_columns(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row))].append(row)
    return groups
