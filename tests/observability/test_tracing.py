"""Optional tracing: one trace from the API request through the enqueue, the claim and the job's run."""

import uuid

import dramatiq
import pytest
from opentelemetry import trace
from opentelemetry.sdk import trace as trace_sdk
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from service import bootstrap
from service.models import JobResult, Status
from service.observability import tracing
from service.observability.middleware import TraceContext
from service.users import create_token, create_user
from tests.helpers.factories import make_job


@pytest.fixture(scope="session")
def span_exporter():
    exporter = InMemorySpanExporter()
    provider = trace_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # once per process: job code's tracers use it
    return exporter, provider


@pytest.fixture
def traced_runtime(settings, span_exporter):
    exporter, provider = span_exporter
    exporter.clear()
    tracing.configure(provider)
    current = bootstrap.configure(settings.replace(isolation="thread"))
    yield current
    bootstrap.reset()
    tracing.disable()


def run_through_api(runtime, class_name):
    from service.app import create_app

    with runtime.db.session() as session:
        job = make_job(session, class_name)
        user = create_user(session, "tracer", permissions=["run_job"])
        key = create_token(session, user)[1]
        class_path = job.class_path
    client = create_app(runtime=runtime).test_client()
    response = client.post(f"/api/extras/jobs/{class_path}/run/", json={"data": {}},
                           headers={"Authorization": f"Token {key}"})
    assert response.status_code == 201, response.json
    return uuid.UUID(response.json["job_result"]["id"])


def test_one_trace_follows_the_request_through_the_message_to_the_jobs_own_span(
        traced_runtime, span_exporter):
    exporter, _ = span_exporter
    run_id = run_through_api(traced_runtime, "Traced")
    [message] = traced_runtime.broker.queues["default"].queue  # the stub broker's queue
    carried = dramatiq.Message.decode(message).options[tracing.OPTION]
    assert carried["traceparent"].startswith("00-")
    with traced_runtime.db.session() as session:
        stored = session.get(JobResult, run_id)
        assert "traceparent" not in str(stored.input_data)  # never in stored input
    worker = dramatiq.Worker(traced_runtime.broker, worker_timeout=50)
    worker.start()
    traced_runtime.broker.join("default", timeout=30_000)
    worker.join()
    worker.stop()
    with traced_runtime.db.session() as session:
        assert session.scalar(select(JobResult.status).where(JobResult.id == run_id)) == Status.SUCCESS
    spans = {span.name: span for span in exporter.get_finished_spans()}
    request = spans["HTTP POST /api/extras/jobs/<path:ref>/run/"]
    claim, run, inside = spans["jobsync.claim"], spans["jobsync.run"], spans["inside-the-job"]
    assert {span.context.trace_id for span in (request, claim, run, inside)} == {request.context.trace_id}
    assert claim.parent.span_id == request.context.span_id == run.parent.span_id
    assert inside.parent.span_id == run.context.span_id


def test_without_tracing_nothing_is_added_to_messages_or_the_broker(runtime):
    assert not tracing.active()
    assert not any(isinstance(m, TraceContext) for m in runtime.broker.middleware)
    assert tracing.current_carrier() is None
    with tracing.span("anything") as opened:
        assert opened is None


def test_without_the_extra_configure_does_nothing(monkeypatch):
    monkeypatch.setattr(tracing, "trace", None)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    assert tracing.configure() is False and not tracing.active()
