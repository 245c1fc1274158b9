"""How HTTP edges reach the runtime: the one the app serving this request was built with."""

from __future__ import annotations

from flask import Flask, current_app

from service.runtime import Runtime

_KEY = "jobsync"


def attach_runtime(app: Flask, runtime: Runtime) -> None:
    """Give ``app``'s views ``runtime`` (the app factory only)."""
    app.extensions[_KEY] = runtime


def current_runtime() -> Runtime:
    """Return the runtime of the app handling the current request."""
    return current_app.extensions[_KEY]
