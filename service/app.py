"""The web application factory: composition root for the HTTP side; no logic here."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from service import bootstrap
from service.web.app_runtime import attach_runtime
from service.web.session_key import session_secret_key
from service.web.sessions import init_sessions


def create_app(overrides: dict[str, Any] | None = None, *, runtime=None,
               bind_host: str | None = None) -> Flask:
    """Create the Flask app; ``overrides`` replace configuration keys (tests, embedded mode).

    ``bind_host`` is the address served on, when known (``jobsync serve``). Raises ConfigError when
    there is no usable ``secret_key``.
    """
    if runtime is None:
        runtime = bootstrap.configure(**(overrides or {}))
    settings = runtime.settings
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024 * 1024)
    init_sessions(app, secret_key=session_secret_key(settings, bind_host=bind_host),
                  secure=settings.session_cookie_secure)
    if settings.trusted_proxy_hops:
        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    attach_runtime(app, runtime)
    from service.web.tracing import instrument

    instrument(app)  # a span per request, only with the tracing extra configured

    from service.api import (
        buttons,
        docs,
        events,
        hooks,
        job_button_run,
        job_runs,
        jobs,
        logs,
        notifications,
        repositories,
        results,
        root,
        schedules,
        users,
    )
    from service.api.base import init_api
    from service.api.errors import register_errors
    from service.web import health, metrics
    from service.web.auth import Policy, enforce_policies

    api = init_api(app)
    register_errors(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)  # its own check: allowed networks or the metrics token
    app.register_blueprint(docs.bp)
    # Every API blueprint needs a caller (token or session); writes, and some reads, a permission.
    policies = {
        root.bp: Policy(),
        jobs.bp: Policy(write="change_job"),
        job_runs.bp: Policy(write="run_job"),
        results.bp: Policy(write="run_job"),
        logs.bp: Policy(),
        hooks.bp: Policy(write="change_job"),
        buttons.bp: Policy(write="change_job"),
        job_button_run.bp: Policy(write="run_job"),
        users.tokens_bp: Policy(),  # your own tokens; other users' need admin (checked per token)
        users.users_bp: Policy(read="admin", write="admin"),
        events.deliveries_bp: Policy(),
        events.changes_bp: Policy(read="view_all_results"),  # object data from NetBox/Nautobot
        repositories.bp: Policy(write="sync_repository"),
        schedules.bp: Policy(write="run_job"),
        schedules.approvals_bp: Policy(write="approve_job"),
        notifications.rules_bp: Policy(read="admin", write="admin"),
        notifications.deliveries_bp: Policy(read="admin", write="admin"),
    }
    for blueprint in policies:
        api.register_blueprint(blueprint)
    enforce_policies(app, {blueprint.name: policy for blueprint, policy in policies.items()})

    from service import ui

    app.register_blueprint(ui.bp)  # session login and CSRF checks of its own (service.ui.base)
    # Webhook receivers authenticate each sender themselves (signatures, or a token for events).
    from webhooks import events as event_webhooks
    from webhooks import git as git_webhooks

    app.register_blueprint(git_webhooks.bp)
    app.register_blueprint(event_webhooks.bp)
    from service.extensions import ready_extensions

    ready_extensions(runtime)  # once per process, now the app is built
    return app
