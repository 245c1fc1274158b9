"""Liveness and readiness: ``/healthz`` says the process is up, ``/readyz`` that its backends are."""

from flask import Blueprint, jsonify

from service.infra.broker import ping as ping_broker
from service.web.app_runtime import current_runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


def check_backends(runtime) -> dict[str, str]:
    """Return each backend's state, "ok" or a short reason (never a URL, which may hold secrets)."""
    broker_name = "redis" if runtime.settings.redis_url else "broker"
    probes = {"database": runtime.db.ping, broker_name: lambda: ping_broker(runtime.broker)}
    checks = {}
    for name, probe in probes.items():
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # any failure means "not ready"; the type names the cause
            checks[name] = f"unreachable ({type(exc).__name__})"
    return checks


def worker_detail(runtime) -> dict[str, int] | None:
    """Live workers per queue, for information only: a queue nobody serves does not make us unready."""
    from service.errors import BrokerUnavailable
    from service.infra.presence import workers_by_queue

    try:
        return workers_by_queue(runtime)
    except BrokerUnavailable:  # its check already says so
        return None


@bp.get("/readyz")
def readyz():
    runtime = current_runtime()
    checks = check_backends(runtime)
    down = sorted(name for name, state in checks.items() if state != "ok")
    body = {"status": "unavailable" if down else "ok", "checks": checks, "down": down}
    body["workers"] = None if down else worker_detail(runtime)
    return jsonify(body), 503 if down else 200
