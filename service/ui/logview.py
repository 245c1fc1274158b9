"""A run's log as HTML, grouped by the method that logged it.

Written as plain string building over plain tuples rather than a Jinja loop over objects: a run
may log tens of thousands of lines and this keeps the page well under its 300 ms budget (see
``bench/ui.py``). Every value is escaped here; messages go through the safe Markdown subset,
which escapes before it formats. A line is ``(level, grouping, message, object, created)``
(``service.ui.queries.log_lines``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from markupsafe import Markup

from service.models import LOG_LEVELS
from service.ui.markdown import inline_html

_KNOWN_LEVELS = frozenset(LOG_LEVELS)
_HEAD = "<thead><tr><th>Time</th><th>Level</th><th>Object</th><th>Message</th></tr></thead>"


def line_time(moment: datetime | str | None) -> str:
    """The UTC time of day to the millisecond (the run's page shows the date once, above)."""
    if not moment:
        return ""
    if isinstance(moment, str):  # SQLite's stored text: "YYYY-MM-DD HH:MM:SS.ffffff", already UTC
        return moment[11:23]
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}"


def line_object(raw: Any) -> dict | None:
    """A line's object reference from the stored JSON, whether the driver parsed it or not."""
    if isinstance(raw, str):
        return None if raw == "null" else json.loads(raw)
    return raw if isinstance(raw, dict) else None


def known_level(level: str) -> str:
    """The line's level, or ``info`` for anything unknown (it becomes a CSS class)."""
    return level if level in _KNOWN_LEVELS else "info"


def object_label(raw: Any) -> tuple[str, str]:
    """(text, tooltip) naming a log line's object; empty when there is none."""
    obj = line_object(raw)
    if not isinstance(obj, dict):
        return "", ""
    text = obj.get("repr") or obj.get("id") or ""
    return str(text), f"{obj.get('type') or ''} {obj.get('id') or ''}".strip()


def _rows(lines: Iterable[Sequence[Any]]) -> str:
    rows = []
    for level, _grouping, message, obj, created in lines:
        level = known_level(level)
        cell = ""
        if obj and obj != "null":
            text, title = object_label(obj)
            cell = f'<span title="{escape(title)}">{escape(text)}</span>' if text else ""
        rows.append(f'<tr class="l-{level}"><td class="time">{line_time(created)}</td>'
                    f'<td><span class="level level-{level}">{level}</span></td><td>{cell}</td>'
                    f'<td class="message">{inline_html(message)}</td></tr>')
    return "\n".join(rows)


def group_lines(lines: Iterable[Sequence[Any]]) -> list[tuple[str, list[Sequence[Any]]]]:
    """Lines by grouping (the method that logged), groups in order of their first line."""
    groups: dict[str, list[Sequence[Any]]] = {}
    for line in lines:
        groups.setdefault(line[1] or "run", []).append(line)
    return list(groups.items())


def render_log(lines: Iterable[Sequence[Any]]) -> Markup:
    """One section per grouping, each a table of its lines."""
    sections = []
    for grouping, members in group_lines(lines):
        name = escape(grouping)
        sections.append(f'<section class="log-group" data-grouping="{name}"><h3>{name}</h3>'
                        f'<table class="log-table">{_HEAD}<tbody>\n{_rows(members)}\n</tbody></table>'
                        '</section>')
    return Markup("\n".join(sections))


def line_json(line: Sequence[Any]) -> dict[str, Any]:
    """One line for the live feed; the page's script inserts only ``message_html`` as markup."""
    level, grouping, message, obj, created = line
    text, title = object_label(obj)
    return {"level": known_level(level), "grouping": grouping or "run", "created": line_time(created),
            "message_html": inline_html(message), "object": {"text": text, "title": title}}
