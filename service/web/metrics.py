"""``GET /metrics``: Prometheus text for every process, plus queue gauges read at scrape time.

Allowed from ``metrics_allow_networks`` or with ``Authorization: Bearer <metrics_token>``; anyone
else gets 403 (with no hint of which check failed beyond the JSON error).
"""

from __future__ import annotations

import hmac
import ipaddress
from datetime import UTC, datetime

from flask import Blueprint, Response, request
from sqlalchemy import func, or_, select

from repos.credentials import resolve_credentials
from service.errors import PermissionDenied
from service.infra.presence import workers_by_queue
from service.models import JobResult, Status, utcnow
from service.observability import metrics
from service.observability.queues import QueueCollector, QueueState
from service.web.app_runtime import current_runtime

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape():
    runtime = current_runtime()
    check_scraper(runtime.settings, request.remote_addr, request.headers.get("Authorization", ""))
    body = metrics.exposition(QueueCollector(lambda: read_queues(runtime)))
    return Response(body, content_type=metrics.CONTENT_TYPE)


def check_scraper(settings, remote_addr: str | None, authorization: str) -> None:
    """Raise PermissionDenied unless the caller is on an allowed network or shows the token."""
    scheme, _, presented = authorization.partition(" ")
    if settings.metrics_token and scheme.lower() == "bearer" and presented:
        expected = resolve_credentials(settings.metrics_token).secret
        if hmac.compare_digest(presented.strip().encode(), expected.strip().encode()):
            return
    if remote_addr and _in_networks(remote_addr, settings.metrics_allow_networks):
        return
    raise PermissionDenied("GET /metrics is allowed from metrics_allow_networks or with the metrics token.")


def _in_networks(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network, strict=False) for network in networks)


def read_queues(runtime, *, now: datetime | None = None) -> list[QueueState]:
    """Each known queue's due PENDING runs, oldest one's age and live workers."""
    now = now or utcnow()
    due = (JobResult.status == Status.PENDING) & or_(JobResult.scheduled_at.is_(None),
                                                     JobResult.scheduled_at <= now)
    waiting_since = func.coalesce(JobResult.scheduled_at, JobResult.created)
    with runtime.db.session() as session:
        query = select(JobResult.queue, func.count(), func.min(waiting_since)).where(due)
        rows = session.execute(query.group_by(JobResult.queue)).all()
    try:
        workers = workers_by_queue(runtime)
    except Exception:  # the broker is down: the depths are still worth reporting
        workers = {}
    by_queue = {queue: (count, oldest) for queue, count, oldest in rows}
    states = []
    for queue in dict.fromkeys((*runtime.settings.all_queues, *by_queue)):
        count, oldest = by_queue.get(queue, (0, None))
        age = (now - _aware(oldest)).total_seconds() if oldest else 0.0
        states.append(QueueState(queue, count, max(0.0, age), workers.get(queue, 0)))
    return states


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite returns naive UTC
