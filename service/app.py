"""The web application factory: composition root for the HTTP side; no logic here."""

from __future__ import annotations

from typing import Any

from flask import Flask

from service import runtime as runtime_module


def create_app(overrides: dict[str, Any] | None = None, *, runtime=None) -> Flask:
    """Create the Flask app; ``overrides`` replace configuration keys (tests, embedded mode)."""
    if runtime is None:
        runtime = runtime_module.configure(**(overrides or {}))
    app = Flask(__name__)
    app.config.update(SECRET_KEY=runtime.settings.secret_key, MAX_CONTENT_LENGTH=64 * 1024 * 1024)
    app.extensions["jobsync"] = runtime

    from service import health
    from service.api.errors import register_errors

    register_errors(app)
    app.register_blueprint(health.bp)
    return app
