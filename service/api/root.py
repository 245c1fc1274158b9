"""``/api/`` and its app roots, and ``/api/status/``: where a client starts, as on Nautobot."""

from __future__ import annotations

import dataclasses
import platform
from importlib import metadata

import marshmallow as ma
from marshmallow import fields

from service.api.base import NAUTOBOT_API_VERSION, Blueprint, api_url
from service.web.app_runtime import current_runtime

bp = Blueprint("api-root", __name__, url_prefix="/api", description="API root, app roots and status.")

#: Each app root lists its endpoints; other issues add theirs here as they land.
APP_ENDPOINTS = {
    "extras": ["git-repositories", "job-buttons", "job-hooks", "job-logs", "job-results", "jobs",
               "object-change-events", "scheduled-jobs", "webhook-deliveries"],
    "users": ["tokens", "users"],
}


class StatusSchema(ma.Schema):
    jobsync_version = fields.String(data_key="jobsync-version")
    nautobot_version = fields.String(data_key="nautobot-version",
                                     metadata={"description": "The Nautobot API version jobsync mimics."})
    python_version = fields.String(data_key="python-version")
    queues = fields.List(fields.String())
    broker = fields.String()
    workers_running = fields.Integer(data_key="workers-running", allow_none=True,
                                     metadata={"description": "Live worker processes (null: unknown)."})
    workers = fields.Dict(allow_none=True, metadata={
        "description": "Live workers: a count per queue, and each process with the queues it serves."})
    extensions = fields.Dict(keys=fields.String(), values=fields.String(),
                             metadata={"description": "Each loaded extension's version, by name."})


def links_schema(name: str, keys: list[str]) -> type[ma.Schema]:
    """A schema of absolute links, one per key (keys may hold hyphens, as Nautobot's do)."""
    return ma.Schema.from_dict({key.replace("-", "_"): fields.String(data_key=key, metadata={"format": "uri"})
                                for key in keys}, name=name)


RootSchema = links_schema("ApiRoot", [*APP_ENDPOINTS, "status"])
APP_ROOT_SCHEMAS = {app: links_schema(f"{app.title()}Root", names) for app, names in APP_ENDPOINTS.items()}


def links(keys: list[str], path: str = "") -> dict[str, str]:
    return {key.replace("-", "_"): api_url(f"{path}{key}") for key in keys}


@bp.get("/")
@bp.response(200, RootSchema)
def api_root():
    """List the API's apps, as Nautobot's root does."""
    return links([*APP_ENDPOINTS, "status"])


@bp.get("/extras/")
@bp.response(200, APP_ROOT_SCHEMAS["extras"])
def extras_root():
    """List the extras endpoints."""
    return links(APP_ENDPOINTS["extras"], "extras/")


@bp.get("/users/")
@bp.response(200, APP_ROOT_SCHEMAS["users"])
def users_root():
    """List the users endpoints."""
    return links(APP_ENDPOINTS["users"], "users/")


@bp.get("/status/")
@bp.response(200, StatusSchema)
def status():
    """Report versions, queues, extensions and the live workers serving each queue."""
    from service.errors import BrokerUnavailable
    from service.infra.presence import live_workers, workers_by_queue

    runtime = current_runtime()
    settings = runtime.settings
    try:
        workers = live_workers(runtime)
    except BrokerUnavailable:  # the status page still answers; the worker figures are unknown
        workers = None
    return {
        "jobsync_version": _version(),
        "nautobot_version": NAUTOBOT_API_VERSION,
        "python_version": platform.python_version(),
        "queues": list(settings.all_queues),
        "broker": "redis" if settings.redis_url else "embedded",
        "workers_running": None if workers is None else len(workers),
        "workers": None if workers is None else {
            "queues": workers_by_queue(runtime, workers),
            "processes": [dataclasses.asdict(record) for record in workers]},
        "extensions": {extension.name: extension.version for extension in runtime.extensions or ()},
    }


def _version() -> str:
    try:
        return metadata.version("jobsync")
    except metadata.PackageNotFoundError:
        return "unknown"
