"""A server span per HTTP request, when tracing is on (the ``tracing`` extra and OTEL_* settings)."""

from __future__ import annotations

from flask import Flask, g, request

from service.observability import tracing


def instrument(app: Flask) -> None:
    """Open a span around each request; runs, messages and hooks it starts become its children."""
    if not tracing.active():
        return

    @app.before_request
    def _open_span():
        parent = dict(request.headers) if "traceparent" in request.headers else None
        g.trace_context = tracing.attached(parent)  # a caller's own trace continues here
        g.trace_context.__enter__()
        route = request.url_rule.rule if request.url_rule else "unknown"
        g.trace_span = tracing.span(f"HTTP {request.method} {route}", **{"http.method": request.method,
                                                                         "http.route": route})
        g.trace_span.__enter__()

    @app.teardown_request
    def _close_span(exc):
        span = g.pop("trace_span", None)
        if span is not None:
            span.__exit__(None, None, None)
        context = g.pop("trace_context", None)
        if context is not None:
            context.__exit__(None, None, None)
