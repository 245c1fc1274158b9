"""The flask-smorest ``Api`` and ``Blueprint`` as jobsync uses them, and per-request helpers.

Views get one database session per request (``db_session()``), kept open until the response is
sent so schemas can follow relationships while dumping; writes call ``session.commit()``
themselves, which also sends any run messages queued by the use cases.
"""

from __future__ import annotations

import uuid
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Flask, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from webargs.flaskparser import FlaskParser

from service.errors import NotFound, ValidationError
from service.web.json_input import StrictJSONProvider, refuse_bad_json
from service.web.request_session import init_request_sessions, request_session

#: The Nautobot REST API version whose shapes jobsync answers with (pynautobot reads it).
NAUTOBOT_API_VERSION = "2.4"
OPENAPI_VERSION = "3.0.3"
API_DESCRIPTION = "jobsync's REST API, shaped like Nautobot's jobs API (paths, fields, pagination)."
NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."
TOKEN_SCHEME = {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <key>`, as Nautobot expects."}


class ErrorSchema(ma.Schema):
    """The error body (``service.api.errors``); validation errors add ``{field: [messages]}``."""

    class Meta:
        unknown = ma.INCLUDE

    error = ma.fields.Dict(metadata={"description": "code, message and fields (field -> [messages])"})


class Parser(FlaskParser):
    # Bad input is a 400, as Nautobot (Django REST framework) answers, not webargs' 422.
    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()


class Api(flask_smorest.Api):
    """flask-smorest's Api, with errors shaped by ``service.api.errors`` rather than its own."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """Leave error handling to ``service.api.errors.register_errors``."""


def init_api(app: Flask) -> Api:
    """Create the API on ``app``: OpenAPI document at /api/openapi.json, sessions per request."""
    app.config.update(
        API_TITLE="jobsync", API_VERSION=NAUTOBOT_API_VERSION, OPENAPI_VERSION=OPENAPI_VERSION,
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"security": [{"tokenAuth": []}], "info": {"description": API_DESCRIPTION}})
    app.json = StrictJSONProvider(app)  # request bodies: no NaN, no huge integers, bounded depth
    app.json.sort_keys = False  # keep Nautobot's order: id, object_type, display, url first
    api = Api(app)
    api.spec.components.security_scheme("tokenAuth", TOKEN_SCHEME)
    init_request_sessions(app)
    app.before_request(refuse_bad_json)  # before authentication, so before any policy
    app.before_request(refuse_null_characters)

    @app.after_request
    def _announce_version(response):
        if request.path.startswith("/api/"):
            response.headers["API-Version"] = NAUTOBOT_API_VERSION
        return response

    return api


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def refuse_null_characters() -> None:
    """Refuse NUL characters anywhere in an API request: no database column can store them."""
    if not request.path.startswith("/api/"):
        return
    if NUL in request.path:
        raise ValidationError({"path": [NUL_MESSAGE]})
    pairs = list(request.args.items(multi=True))
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        pairs += list(request.form.items(multi=True))
    elif request.is_json and isinstance(body := request.get_json(silent=True), dict | list):
        pairs += list(body.items()) if isinstance(body, dict) else [("non_field_errors", body)]
    for key, value in pairs:
        if _holds_nul(key) or _holds_nul(value):
            raise ValidationError({key.replace(NUL, "") or "non_field_errors": [NUL_MESSAGE]})


def db_session() -> Session:
    """Return this request's database session (shared with authentication), opening it on first use."""
    return request_session()


def commit(session: Session, *, unique_field: str | None = None) -> None:
    """Commit; a unique constraint broken by a concurrent writer becomes a 400 on ``unique_field``."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        if unique_field is None:
            raise
        raise ValidationError({unique_field: ["An object with this value already exists."]}) from exc


def get_or_404(session: Session, model: type, object_id: Any) -> Any:
    """Load ``model`` by UUID; raises NotFound for a missing row or a malformed id."""
    try:
        row = session.get(model, uuid.UUID(str(object_id)))
    except ValueError:
        row = None
    if row is None:
        raise NotFound(f"No {model.__name__} {object_id}.")
    return row


def api_url(path: str, object_id: Any = None) -> str:
    """Absolute URL of ``/api/<path>/`` (or of one object under it), as Nautobot's ``url`` fields are."""
    url = f"{request.url_root}api/{path.strip('/')}/"
    return f"{url}{object_id}/" if object_id is not None else url
