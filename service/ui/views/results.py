"""Job results: the filtered list, one run's page with its log, the live feed it polls, cancelling."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from service.errors import Conflict, NotFound
from service.infra.presence import queue_warning
from service.models import LOG_LEVELS, GitRepository, JobOutputFile, JobResult, Status
from service.runs import visibility
from service.runs.chains import triggered_runs
from service.runs.requests import request_cancel
from service.runs.retries import attempt_chain
from service.ui.base import bp, current_user, db, require, runtime
from service.ui.formatting import duration, iso, pretty_json, status_class, when
from service.ui.logview import line_json, render_log
from service.ui.paging import paginate
from service.ui.queries import (
    ResultFilters,
    log_cursor,
    log_level_counts,
    log_line_count,
    log_lines,
    log_lines_after,
    parse_log_cursor,
    result_statement,
)

#: How often a page watching a run asks for news, in milliseconds (sent to the script).
POLL_INTERVAL_MS = 700
#: Most log lines one answer of the live feed carries; the page asks again at once for the rest.
LIVE_BATCH = 2000
#: Log lines on one page of a run's page: a 200,000-line log is read and rendered a page at a time.
LOG_PAGE_LINES = 1000


@bp.get("/job-results/")
def results_list():
    filters = ResultFilters.from_args(request.args)
    page = paginate(db(), visibility.only_visible(result_statement(filters), viewer()))
    return render_template("results/list.html", page=page, filters=filters, statuses=Status.ALL)


def viewer() -> visibility.Viewer:
    return visibility.Viewer.of(current_user())


def get_result(session, result_id: uuid.UUID) -> JobResult:
    """The run, if the user may see it (service.runs.visibility); NotFound otherwise."""
    return visibility.check_visible(session.get(JobResult, result_id), viewer(), result_id)


def output_files(session, result_id: uuid.UUID) -> list[Any]:
    """The run's files without their bytes."""
    return session.execute(select(JobOutputFile.id, JobOutputFile.name, JobOutputFile.size)
                           .where(JobOutputFile.job_result_id == result_id)
                           .order_by(JobOutputFile.created)).all()


def related_repository(session, result: JobResult) -> GitRepository | None:
    """The repository a run's code came from, or that a sync run synced."""
    if result.job is not None and result.job.repository is not None:
        return result.job.repository
    if result.object_type == GitRepository.__tablename__ and result.object_id:
        try:
            return session.get(GitRepository, uuid.UUID(result.object_id))
        except ValueError:
            return None
    return None


@bp.get("/job-results/<uuid:result_id>/")
def result_detail(result_id: uuid.UUID):
    session = db()
    result = get_result(session, result_id)
    counts = dict.fromkeys(LOG_LEVELS, 0) | log_level_counts(session, result.id)
    line_count = sum(counts.values())
    # A page of lines (the last one by default: where the live tail goes on). Unticked levels are
    # hidden by the stylesheet, so ticking one back needs no round trip; without JavaScript the form
    # asks again and only the ticked levels are read.
    asked = [level for level in request.args.getlist("level") if level in LOG_LEVELS]
    shown_levels = asked or list(LOG_LEVELS)
    levels = asked if asked and len(asked) < len(LOG_LEVELS) else []
    listed = sum(counts[level] for level in levels) if levels else line_count
    pages = max((listed + LOG_PAGE_LINES - 1) // LOG_PAGE_LINES, 1)
    log_page = min(_page_number(request.args.get("log_page"), pages), pages)
    first = (log_page - 1) * LOG_PAGE_LINES
    live = log_page == pages and not levels
    lines = log_lines(session, result.id, after=first, limit=LOG_PAGE_LINES, total=listed, levels=levels,
                      keyed=live)
    warning = queue_warning(runtime(), result.queue) if result.status == Status.PENDING else None
    return render_template(
        "results/detail.html", result=result, repository=related_repository(session, result),
        log_html=render_log([line[:5] for line in lines]) if live else render_log(lines),
        log_cursor=log_cursor(lines[-1]) if live and lines else "", line_count=line_count,
        counts=counts, levels=LOG_LEVELS,
        shown_levels=shown_levels, files=output_files(session, result.id), poll_ms=POLL_INTERVAL_MS,
        queue_warning=warning, log_page=log_page, log_pages=pages, first_line=first + 1,
        last_line=first + len(lines), listed=listed, attempts=attempt_chain(session, result),
        triggered=triggered_runs(session, result),
        live=live,
        shows_input=visibility.shows_input(result, viewer()))


def _page_number(value: str | None, last: int) -> int:
    try:
        return max(int(value), 1) if value else last
    except ValueError:
        return last


@bp.get("/job-results/<uuid:result_id>/live")
def result_live(result_id: uuid.UUID):
    """What changed since the page's last look: status, times, result and new log lines."""
    session = db()
    result = get_result(session, result_id)
    try:
        after = max(int(request.args.get("after", 0)), 0)
    except ValueError:
        after = 0
    # The page's last line (``cursor``) is where the tail goes on: a seek, not a count of the log.
    # Without one (an older page), position ``after`` is found as before.
    cursor = parse_log_cursor(request.args.get("cursor"))
    if cursor is not None or after == 0:
        lines = log_lines_after(session, result.id, cursor, limit=LIVE_BATCH + 1)
    else:
        lines = log_lines(session, result.id, after=after, limit=LIVE_BATCH + 1,
                          total=log_line_count(session, result.id), keyed=True)
    more = len(lines) > LIVE_BATCH
    lines = lines[:LIVE_BATCH]
    next_cursor = log_cursor(lines[-1]) if lines else request.args.get("cursor", "")
    files = [{"name": row.name, "size": row.size,
              "url": url_for("ui.result_file", result_id=result.id, file_id=row.id)}
             for row in output_files(session, result.id)] if result.is_final else []
    return jsonify(
        status=result.status, status_class=status_class(result.status), is_final=result.is_final,
        waiting_for=result.waiting_for,
        started=when(result.started), completed=when(result.completed), started_iso=iso(result.started),
        duration=duration(result.duration), cancel_requested=result.cancel_requested,
        result=None if result.result is None else pretty_json(result.result),
        error=result.error, traceback=result.traceback, files=files,
        lines=[line_json(line[:5]) for line in lines], next=after + len(lines), cursor=next_cursor,
        more=more)


@bp.post("/job-results/<uuid:result_id>/cancel")
def result_cancel(result_id: uuid.UUID):
    require("run_job")
    session = db()
    try:
        result = get_result(session, result_id)
        visibility.check_may_cancel(result, viewer())
        request_cancel(session, result.id)
    except Conflict as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        session.commit()
        flash("Cancellation requested.", "info")
    return redirect(url_for("ui.result_detail", result_id=result_id), 303)


@bp.get("/job-results/<uuid:result_id>/files/<uuid:file_id>")
def result_file(result_id: uuid.UUID, file_id: uuid.UUID):
    """Download an output file; always as an attachment, so a job's HTML never runs on our site."""
    get_result(db(), result_id)
    output = db().get(JobOutputFile, file_id)
    if output is None or output.job_result_id != result_id:
        raise NotFound(f"No output file {file_id}.")
    safe_name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in output.name) or "output"
    return Response(output.content, mimetype="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{safe_name}"'})
