"""Reading back what the webhook endpoints recorded."""

from __future__ import annotations

from sqlalchemy import func, select

from service.jobs.runner import runner_path
from service.models import JobResult, WebhookDelivery
from service.sources.sync import SyncRepository

SYNC_RUNNER = runner_path(SyncRepository)


def deliveries(runtime) -> list[WebhookDelivery]:
    with runtime.db.session() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.received)))


def sync_results(runtime) -> list[JobResult]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(JobResult).where(JobResult.runner == SYNC_RUNNER).order_by(JobResult.created)
            )
        )


def count(runtime, model) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))

SECRET_VARIABLE = "JOBSYNC_TEST_WEBHOOK_SECRET"


EVENTS_SECRET_VARIABLE = "JOBSYNC_TEST_EVENTS_SECRET"


EVENTS_SECRET = "events-secret-for-tests"
