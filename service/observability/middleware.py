"""The Dramatiq middleware that carries a trace context from the sender to the worker (tracing extra)."""

from __future__ import annotations

import threading

from dramatiq.middleware import Middleware

from service.observability import tracing

_processing = threading.local()  # the context token of the message this worker thread processes


class TraceContext(Middleware):
    """Carries the sender's trace context in each message's options to the worker processing it."""

    def before_enqueue(self, broker, message, delay):
        carrier = tracing.current_carrier()
        if carrier:
            message.options[tracing.OPTION] = carrier

    def before_process_message(self, broker, message):
        carrier = message.options.get(tracing.OPTION)
        if carrier and tracing.available():
            _processing.token = tracing.otel_context.attach(tracing.propagate.extract(carrier))

    def after_process_message(self, broker, message, *, result=None, exception=None):
        token = getattr(_processing, "token", None)
        if token is not None:
            _processing.token = None
            tracing.otel_context.detach(token)

    after_skip_message = after_process_message
