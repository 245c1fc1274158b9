"""Optional OpenTelemetry tracing: one trace from a webhook or API request to the job's run.

Only active with the ``tracing`` install extra (``opentelemetry-sdk``) and OTEL_* environment
variables naming an exporter (or a tracer provider installed by ``opentelemetry-instrument``).
Without them every call here is a no-op returning at once. The trace context travels in the
Dramatiq message's options (``trace_context``, see ``middleware``), never in a run's stored input.
This module imports nothing heavy: job children import it.
"""

from __future__ import annotations

import contextlib
import os

try:  # the extra
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
except ImportError:  # pragma: no cover - exercised by the no-extra test through a fake import
    otel_context = propagate = trace = None

OPTION = "trace_context"
_tracer = None  # set by configure(): None means tracing is off


def available() -> bool:
    return trace is not None


def active() -> bool:
    return _tracer is not None


def configure(provider=None) -> bool:
    """Turn tracing on with ``provider``, or one built from OTEL_* variables when they name an
    exporter (else leave it as it is); return whether tracing is on. Without the extra, do nothing."""
    global _tracer
    if not available():
        return False
    provider = provider or _provider_from_environment()
    if provider is not None:
        _tracer = provider.get_tracer("jobsync")
    return active()


def disable() -> None:
    """Turn tracing off (tests)."""
    global _tracer
    _tracer = None


def _provider_from_environment():
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    wanted = ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if not any(os.environ.get(name) for name in wanted) or os.environ.get("OTEL_TRACES_EXPORTER") == "none":
        return None
    current = trace.get_tracer_provider()
    if type(current).__name__ == "TracerProvider":  # installed already (opentelemetry-instrument)
        return current
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "jobsync"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)  # job code's own tracers use it too
    return provider


def span(name: str, **attributes):
    """A span named ``name`` under the current one, as a context manager; a no-op when off."""
    if _tracer is None:
        return contextlib.nullcontext()
    given = {key: value for key, value in attributes.items() if value is not None}
    return _tracer.start_as_current_span(name, attributes=given)


def current_carrier() -> dict | None:
    """The current trace context as plain strings (W3C traceparent), or None when off."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


@contextlib.contextmanager
def attached(carrier: dict | None):
    """Make the context in ``carrier`` current for the block (a job child, a consumed message)."""
    if not carrier or not available():
        yield
        return
    token = otel_context.attach(propagate.extract(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)
