"""Observability: the Prometheus metrics jobsync exports and optional OpenTelemetry tracing.

The only package that imports ``prometheus_client`` or ``opentelemetry``; the rest of the service
calls the small functions in ``metrics`` and ``tracing``.
"""
