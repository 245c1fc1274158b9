"""Page-numbered lists: ``?page=N&per_page=M`` on any list page, other filters kept in the links."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import request, url_for
from sqlalchemy import Select
from sqlalchemy.orm import Session

from service.infra.pages import count_rows, fetch_page

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500


def _positive_int(value: str | None, default: int) -> int:
    try:
        return max(int(value), 1) if value else default
    except ValueError:
        return default


@dataclasses.dataclass(frozen=True)
class Page:
    items: list[Any]
    number: int
    per_page: int
    total: int
    estimated: bool = False  # ``total`` is PostgreSQL's estimate of a long list (infra/pages.py)

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.number * self.per_page, self.total)

    def url(self, number: int) -> str:
        """Link to page ``number`` of the same list with the same filters."""
        args = request.args.to_dict(flat=False)
        args["page"] = [str(number)]
        return url_for(request.endpoint, **(request.view_args or {}), **args)


def paginate(session: Session, statement: Select, *, per_page: int = DEFAULT_PER_PAGE) -> Page:
    """Run one page of ``statement`` (rows of one entity) and count the list (estimated if long)."""
    number = _positive_int(request.args.get("page"), 1)
    per_page = min(_positive_int(request.args.get("per_page"), per_page), MAX_PER_PAGE)
    total, estimated = count_rows(session, statement)
    last = max((total + per_page - 1) // per_page, 1)
    number = min(number, last)
    page = fetch_page(session, statement, limit=per_page, offset=(number - 1) * per_page)
    return Page(items=page.rows, number=number, per_page=per_page, total=total, estimated=estimated)
