"""Nautobot's limit/offset pagination: ``{count, next, previous, results}`` with absolute links."""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

import marshmallow as ma
from flask import request
from marshmallow import fields, validate
from sqlalchemy import Select
from sqlalchemy.orm import Session

from service.infra.pages import Keyset, count_rows, fetch_page

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
#: Longest ``q=`` search: a LIKE pattern longer than this is refused by SQLite, and no name is that long.
MAX_SEARCH_LENGTH = 200


class PageQuery(ma.Schema):
    """Query parameters of every list; filters extend it. Unknown parameters are ignored."""

    class Meta:
        unknown = ma.EXCLUDE

    limit = fields.Integer(load_default=None, validate=validate.Range(min=0), metadata={
        "description": f"Results per page (default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE}; 0 = most)."})
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**53),
                            metadata={"description": "Index of the first result to return."})


def _valid_cursor(value: str) -> None:
    if Keyset.parse(value) is None:
        raise ma.ValidationError("Not a cursor: use the `next` link as given.")


class KeysetPageQuery(PageQuery):
    """A long list's query: ``next`` links carry a ``cursor`` naming their page's last row."""

    cursor = fields.String(validate=_valid_cursor,
                           metadata={"description": "Where the page starts, as given in a `next` link "
                                                    "(a seek instead of skipping `offset` rows; "
                                                    "`offset` then only numbers the page)."})


def page_limit(requested: int | None) -> int:
    """The page size for a requested ``limit``: Nautobot reads 0 (and too much) as the maximum."""
    if requested is None:
        return DEFAULT_PAGE_SIZE
    if requested == 0 or requested > MAX_PAGE_SIZE:
        return MAX_PAGE_SIZE
    return requested


def page_link(limit: int, offset: int, cursor: str | None = None) -> str:
    """This request's absolute URL with ``limit``, ``offset`` and ``cursor`` replaced (offset 0 and
    no cursor dropped)."""
    params = [(key, value) for key, value in request.args.items(multi=True)
              if key not in ("limit", "offset", "cursor")]
    params.append(("limit", str(limit)))
    if offset > 0:
        params.append(("offset", str(offset)))
    if cursor:
        params.append(("cursor", cursor))
    return f"{request.base_url}?{urlencode(params)}"


def paginate(session: Session, statement: Select, args: dict[str, Any], *,
             keyset: Keyset | None = None) -> dict[str, Any]:
    """Run ``statement`` for one page; ``args`` holds the parsed ``limit`` and ``offset``.

    ``count`` is exact up to ``EXACT_COUNT_LIMIT`` rows and PostgreSQL's estimate above it
    (service/infra/pages.py); ``next`` is present exactly when another row follows this page.
    With a ``keyset`` (the statement's ordering), ``next`` also carries a ``cursor`` naming this
    page's last row, and a request with one seeks there: a client following ``next`` links reads
    the 500th page as fast as the first. ``offset`` still numbers the pages, and ``previous`` is
    an offset link.
    """
    limit, offset = page_limit(args.get("limit")), args.get("offset") or 0
    cursor = args.get("cursor") if keyset is not None else None
    if cursor:
        page = fetch_page(session, keyset.after(statement, cursor), limit=limit, offset=0)
    else:
        page = fetch_page(session, statement, limit=limit, offset=offset)
    count, estimated = count_rows(session, statement)
    if estimated:  # an estimate never claims fewer rows than this page has just seen
        count = max(count, offset + len(page.rows) + page.has_next)
    return {
        "count": count,
        "next": page_link(limit, offset + limit, keyset.cursor_of(page.rows[-1]) if keyset else None)
        if page.has_next else None,
        "previous": page_link(limit, max(offset - limit, 0)) if offset > 0 else None,
        "results": page.rows,
    }


@functools.cache
def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The paginated list schema for ``item_schema``."""
    name = item_schema.__name__.removesuffix("Schema")
    return ma.Schema.from_dict({
        "count": fields.Integer(),
        "next": fields.String(allow_none=True, metadata={"format": "uri"}),
        "previous": fields.String(allow_none=True, metadata={"format": "uri"}),
        "results": fields.List(fields.Nested(item_schema)),
    }, name=f"Paginated{name}List")
