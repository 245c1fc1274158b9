"""Long lists page fast at any depth: a bounded count, a read-ahead row, a deferred join."""

from datetime import timedelta

from sqlalchemy import select

from service.infra import pages
from service.models import JobResult, utcnow
from tests.helpers.factories import make_job, make_result

NEWEST_FIRST = select(JobResult).order_by(JobResult.created.desc(), JobResult.id.desc())


def add_results(runtime, count: int) -> list:
    now = utcnow()
    with runtime.db.session() as session:
        job = make_job(session)
        made = [make_result(session, job, created=now - timedelta(minutes=index)) for index in range(count)]
        return [result.id for result in made]


def test_a_short_list_is_counted_exactly(runtime):
    add_results(runtime, 7)
    with runtime.db.session() as session:
        assert pages.count_rows(session, NEWEST_FIRST) == (7, False)


def test_a_list_over_the_exact_limit_is_estimated_on_postgresql_and_counted_on_sqlite(runtime, monkeypatch):
    add_results(runtime, 9)
    monkeypatch.setattr(pages, "EXACT_COUNT_LIMIT", 4)
    with runtime.db.session() as session:
        count, estimated = pages.count_rows(session, NEWEST_FIRST.where(JobResult.created <= utcnow()))
    if runtime.db.engine.dialect.name == "postgresql":
        assert estimated and count >= 5  # the planner's figure, never below what was seen
    else:
        assert (count, estimated) == (9, False)


def test_whether_a_next_page_exists_comes_from_the_rows_not_the_count(runtime):
    add_results(runtime, 5)
    with runtime.db.session() as session:
        assert pages.fetch_page(session, NEWEST_FIRST, limit=2, offset=2).has_next
        last = pages.fetch_page(session, NEWEST_FIRST, limit=2, offset=4)
    assert len(last.rows) == 1 and not last.has_next


def test_a_deep_page_loads_by_key_the_same_rows_in_the_same_order(runtime, monkeypatch):
    ids = add_results(runtime, 12)
    with runtime.db.session() as session:
        plain = [row.id for row in pages.fetch_page(session, NEWEST_FIRST, limit=5, offset=4).rows]
        monkeypatch.setattr(pages, "DEFERRED_JOIN_OFFSET", 0)
        deferred = [row.id for row in pages.fetch_page(session, NEWEST_FIRST, limit=5, offset=4).rows]
        assert pages.fetch_page(session, NEWEST_FIRST, limit=5, offset=40).rows == []
    assert deferred == plain == ids[4:9]
