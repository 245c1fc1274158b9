"""One frozen settings object, built once at start.

Sources, later ones winning: ``config/default.yaml``, the YAML file named by ``JOBSYNC_CONFIG``,
then ``JOBSYNC_<KEY>`` environment variables. Everything is validated by one marshmallow schema,
so an unknown key or a wrong type stops start-up with a line naming the key.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from pathlib import Path
from typing import Any

import yaml
from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from service.errors import ConfigError

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config" / "default.yaml"
ENV_PREFIX = "JOBSYNC_"
BUILTIN_QUEUES = ("high", "default", "low")

_URL_SCHEMES = {
    "database_url": ("sqlite", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"),
    "redis_url": ("redis", "rediss", "unix"),
}


def _url(key: str) -> fields.String:
    schemes = _URL_SCHEMES[key]

    def check(value: str) -> None:
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in schemes or not rest:
            raise SchemaError(f"must be a URL starting with one of {', '.join(s + '://' for s in schemes)}")

    return fields.String(allow_none=True, validate=check)


_REFERENCE = validate.Regexp(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$",
                             error="must be env:NAME or file:/absolute/path")


class CredentialSchema(Schema):
    """One named git credential: where its secret is, and the only hosts it may be sent to."""

    class Meta:
        unknown = RAISE

    secret = fields.String(required=True, validate=_REFERENCE)
    hosts = fields.List(fields.String(validate=validate.Regexp(r"^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$")),
                        required=True, validate=validate.Length(min=1))


def _network(value: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise SchemaError(f"{value!r} is not a network such as 10.0.0.0/8") from None


class SettingsSchema(Schema):
    class Meta:
        unknown = RAISE

    database_url = _url("database_url")
    redis_url = _url("redis_url")
    data_dir = fields.String(required=True)
    secret_key = fields.String(required=True, validate=validate.Length(min=1))
    session_cookie_secure = fields.String(required=True, validate=validate.OneOf(["auto", "true", "false"]))
    login_max_attempts = fields.Integer(required=True, validate=validate.Range(min=1))
    login_window_seconds = fields.Float(required=True, validate=validate.Range(min=1))
    trusted_proxy_hops = fields.Integer(required=True, validate=validate.Range(min=0, max=10))
    allow_local_repositories = fields.Boolean(required=True)
    queues = fields.List(fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_.-]+$")), required=True)
    queue_aliases = fields.Dict(keys=fields.String(validate=validate.Length(min=1)),
                                values=fields.String(validate=validate.Length(min=1)), required=True)
    extensions = fields.List(fields.String(), required=True)
    extension_settings = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)
    isolation = fields.String(required=True, validate=validate.OneOf(["process", "thread"]))
    worker_threads = fields.Integer(required=True, validate=validate.Range(min=1, max=256))
    heartbeat_seconds = fields.Float(required=True, validate=validate.Range(min=0.1))
    worker_lost_seconds = fields.Float(required=True, validate=validate.Range(min=1))
    db_outage_grace_seconds = fields.Float(required=True, validate=validate.Range(min=0))
    shutdown_grace_seconds = fields.Float(required=True, validate=validate.Range(min=0))
    outage_retry_after_seconds = fields.Integer(required=True, validate=validate.Range(min=1, max=3600))
    scheduler_tick_seconds = fields.Float(required=True, validate=validate.Range(min=0.05, max=60))
    schedule_misfire_grace_seconds = fields.Float(required=True, validate=validate.Range(min=0))
    resend_pending_after_seconds = fields.Float(required=True, validate=validate.Range(min=1))
    git_timeout_seconds = fields.Float(required=True, validate=validate.Range(min=1))
    discovery_timeout_seconds = fields.Float(required=True, validate=validate.Range(min=1))
    keep_checkouts = fields.Integer(required=True, validate=validate.Range(min=1))
    run_fetch_timeout_seconds = fields.Float(required=True, validate=validate.Range(min=0.5))
    sync_lock_seconds = fields.Float(required=True, validate=validate.Range(min=1))
    host_cleanup_seconds = fields.Float(required=True, validate=validate.Range(min=1))
    package_index_url = fields.String(allow_none=True, required=True)
    find_links = fields.List(fields.String(validate=validate.Length(min=1)), required=True)
    environment_build_timeout_seconds = fields.Float(required=True, validate=validate.Range(min=1))
    keep_environments = fields.Integer(required=True, validate=validate.Range(min=0))
    jobs_root = fields.String(allow_none=True, required=True)
    webhook_max_bytes = fields.Integer(required=True, validate=validate.Range(min=1024))
    webhook_coalesce_seconds = fields.Float(required=True, validate=validate.Range(min=0, max=3600))
    events_secret = fields.String(allow_none=True, required=True, validate=_REFERENCE)
    credentials = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,100}$")),
                              values=fields.Nested(CredentialSchema), required=True)
    hook_loop_users = fields.List(fields.String(validate=validate.Length(min=1)), required=True)
    output_file_max_bytes = fields.Integer(required=True, validate=validate.Range(min=1))
    upload_max_bytes = fields.Integer(required=True, validate=validate.Range(min=1))
    input_max_bytes = fields.Integer(required=True, validate=validate.Range(min=1))
    log_line_max_chars = fields.Integer(required=True, validate=validate.Range(min=80))
    log_lines_max_per_run = fields.Integer(required=True, validate=validate.Range(min=1))
    output_files_max_per_run = fields.Integer(required=True, validate=validate.Range(min=0))
    results_retention_days = fields.Integer(required=True, validate=validate.Range(min=1))
    events_retention_days = fields.Integer(required=True, validate=validate.Range(min=1))
    webhook_requests_per_minute = fields.Integer(required=True, validate=validate.Range(min=1))
    allow_superuser_self_approval = fields.Boolean(required=True)
    sanitiser_patterns = fields.List(fields.List(fields.String(), validate=validate.Length(equal=2)),
                                     required=True)
    log_level = fields.String(required=True,
                              validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"]))
    metrics_enabled = fields.Boolean(required=True)
    metrics_token = fields.String(allow_none=True, required=True, validate=_REFERENCE)
    metrics_allow_networks = fields.List(fields.String(validate=_network), required=True)
    public_url = fields.String(allow_none=True, required=True,
                               validate=validate.URL(schemes={"http", "https"}, require_tld=False))
    notify_min_interval_seconds = fields.Float(required=True, validate=validate.Range(min=0))
    notify_max_attempts = fields.Integer(required=True, validate=validate.Range(min=1, max=50))
    notify_backoff_seconds = fields.Float(required=True, validate=validate.Range(min=0.001))
    notify_timeout_seconds = fields.Float(required=True, validate=validate.Range(min=0.1))
    smtp_host = fields.String(allow_none=True, required=True)
    smtp_port = fields.Integer(required=True, validate=validate.Range(min=1, max=65535))
    smtp_from = fields.String(required=True, validate=validate.Email())
    smtp_username = fields.String(allow_none=True, required=True)
    smtp_password = fields.String(allow_none=True, required=True, validate=_REFERENCE)
    smtp_starttls = fields.Boolean(required=True)


class QueueNames(tuple):
    """The queues workers serve, in priority order, carrying ``queue_aliases`` to resolve names."""

    aliases: dict

    def __new__(cls, names, aliases: dict | None = None) -> QueueNames:
        queues = super().__new__(cls, names)
        queues.aliases = dict(aliases or {})
        return queues

    def resolve(self, name: str) -> str:
        """Return the queue that serves ``name`` (itself unless an alias maps it)."""
        return self.aliases.get(name, name)


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str | None
    redis_url: str | None
    data_dir: str
    secret_key: str
    session_cookie_secure: str  # auto (Secure on https requests), true or false
    login_max_attempts: int  # failed logins per user name and per address within login_window_seconds
    login_window_seconds: float
    trusted_proxy_hops: int  # reverse proxies in front of the web app whose X-Forwarded-For/-Proto to trust
    allow_local_repositories: bool
    queues: tuple[str, ...]
    queue_aliases: dict  # a queue name jobs ask for (Celery's "celery") -> the queue that runs them
    extensions: tuple[str, ...]
    extension_settings: dict
    # "<name>.<queue>" of every loaded extension, filled in by bootstrap.configure (not a config key)
    extension_queues: tuple[str, ...] = dataclasses.field(default=(), kw_only=True)
    isolation: str
    worker_threads: int
    heartbeat_seconds: float
    worker_lost_seconds: float
    db_outage_grace_seconds: float  # the worker retries database writes this long before giving up
    shutdown_grace_seconds: float  # a stopping worker lets running jobs finish this long
    outage_retry_after_seconds: int  # Retry-After of a 503 answered while a backend is down
    scheduler_tick_seconds: float
    schedule_misfire_grace_seconds: float
    resend_pending_after_seconds: float
    git_timeout_seconds: float
    discovery_timeout_seconds: float
    keep_checkouts: int
    run_fetch_timeout_seconds: float  # a run fetching a commit its host lacks gives up after this
    sync_lock_seconds: float  # a sync's lease on its repository; a crashed sync frees it after this
    host_cleanup_seconds: float  # each worker prunes its own checkouts this often
    package_index_url: str | None  # where repositories' declared dependencies come from (None: PyPI)
    find_links: tuple[str, ...]  # local folders (or URLs) of wheels searched besides the index
    environment_build_timeout_seconds: float
    keep_environments: int  # unused dependency environments kept besides those in use
    jobs_root: str | None
    webhook_max_bytes: int
    webhook_coalesce_seconds: float  # pushes start a repository's syncs at most once per this long
    events_secret: str | None  # a reference (env:NAME, file:/path) to the /webhooks/events HMAC secret
    credentials: dict  # name -> {"secret": env:NAME | file:/path, "hosts": [host, ...]}: git credentials
    hook_loop_users: tuple[str, ...]  # accounts hook jobs write back with: their changes fire no hooks
    output_file_max_bytes: int
    upload_max_bytes: int
    input_max_bytes: int
    log_line_max_chars: int
    log_lines_max_per_run: int
    output_files_max_per_run: int
    results_retention_days: int
    events_retention_days: int  # webhook deliveries and object change events are kept this long
    webhook_requests_per_minute: int  # per source address, on /webhooks/git/ (then 429)
    allow_superuser_self_approval: bool
    sanitiser_patterns: tuple[tuple[str, str], ...]
    log_level: str
    metrics_enabled: bool = True
    metrics_token: str | None = None  # a reference (env:NAME, file:/path) to the GET /metrics bearer token
    metrics_allow_networks: tuple[str, ...] = ("127.0.0.1/32", "::1/128")  # scrapers allowed without a token
    public_url: str | None = None  # this service's address, for links in notifications
    notify_min_interval_seconds: float = 300.0  # one message per rule per this long; the rest summarised
    notify_max_attempts: int = 5
    notify_backoff_seconds: float = 10.0  # first retry delay, doubling
    notify_timeout_seconds: float = 10.0
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "jobsync@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None  # a reference (env:NAME, file:/path)
    smtp_starttls: bool = False

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_path / 'jobsync.sqlite3'}"

    @property
    def all_queues(self) -> QueueNames:
        """Built-in queues in priority order, then custom ones in the order configured, then extensions'."""
        custom = tuple(q for q in self.queues if q not in BUILTIN_QUEUES)
        names = BUILTIN_QUEUES + custom + tuple(q for q in self.extension_queues if q not in custom)
        return QueueNames(names, self.queue_aliases)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _read_yaml(path: Path) -> dict:
    try:
        with path.open() as stream:
            data = yaml.safe_load(stream) or {}
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: must be a mapping of keys to values")
    return data


def _environment_values(environ: dict[str, str]) -> dict[str, Any]:
    """Read JOBSYNC_<KEY> variables; values are parsed as YAML scalars so `true` and `3` work."""
    values: dict[str, Any] = {}
    known = set(SettingsSchema().fields)
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        key = name[len(ENV_PREFIX):].lower()
        if key not in known:
            continue  # JOBSYNC_TEST_* and friends belong to other tools
        try:
            parsed = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            parsed = raw
        string_key = isinstance(SettingsSchema().fields[key], fields.String)
        values[key] = raw if string_key and raw.strip() else parsed
    return values


def load_settings(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Build the settings from defaults, JOBSYNC_CONFIG, the environment and ``overrides``.

    Raises ConfigError naming the first bad key.
    """
    environ = dict(os.environ if environ is None else environ)
    merged = _read_yaml(DEFAULT_CONFIG_PATH)
    if environ.get(ENV_PREFIX + "CONFIG"):
        merged.update(_read_yaml(Path(environ[ENV_PREFIX + "CONFIG"])))
    merged.update(_environment_values(environ))
    merged.update(overrides or {})
    if isinstance(merged.get("session_cookie_secure"), bool):  # YAML reads a bare true/false as a bool
        merged["session_cookie_secure"] = str(merged["session_cookie_secure"]).lower()
    try:
        data = SettingsSchema().load(merged)
    except SchemaError as exc:
        key, problem = next(iter(sorted(exc.normalized_messages().items())))
        if isinstance(problem, dict):  # nested (list item) errors: show the first
            problem = next(iter(problem.values()))
        message = problem[0] if isinstance(problem, list) else problem
        raise ConfigError(f"config key {key!r}: {message}", key=key) from None
    data["queues"] = tuple(data["queues"])
    _check_queue_aliases(data["queue_aliases"], data["queues"])
    data["extensions"] = tuple(data["extensions"])
    data["hook_loop_users"] = tuple(data["hook_loop_users"])
    data["credentials"] = {
        name: {"secret": value["secret"], "hosts": [host.strip("[]").lower() for host in value["hosts"]]}
        for name, value in data["credentials"].items()}
    data["find_links"] = tuple(data["find_links"])
    data["sanitiser_patterns"] = tuple(tuple(pair) for pair in data["sanitiser_patterns"])
    data["metrics_allow_networks"] = tuple(data["metrics_allow_networks"])
    return Settings(**data)


def _check_queue_aliases(aliases: dict, queues: tuple[str, ...]) -> None:
    served = set(BUILTIN_QUEUES) | set(queues)
    for alias, target in aliases.items():
        if target not in served:
            raise ConfigError(
                f"config key 'queue_aliases': {alias!r} maps to {target!r}, which is not a queue "
                f"(choose from {', '.join(sorted(served))})",
                key="queue_aliases",
            )


__all__ = ["BUILTIN_QUEUES", "QueueNames", "Settings", "load_settings"]
