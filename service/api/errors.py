"""Map jobsync's exceptions to JSON responses, in one place for the whole app.

Body: ``{"error": {"code", "message", "fields"}}``, plus the fields at the top level for
validation errors (``{field: [messages]}``, the shape Nautobot clients read) or, for any other
error, ``detail`` (Django REST framework's key).
"""

import redis
from dramatiq.errors import BrokerConnectionError as DramatiqConnectionError
from flask import Flask, g, jsonify
from marshmallow import ValidationError as SchemaError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from service.errors import AuthenticationFailed, JobsyncError, ServiceError, ValidationError
from service.infra.outage import DATABASE, as_service_error, outage_of, outages
from service.web.app_runtime import current_runtime

#: Third-party errors that say a backend is down; translated to a 503 (never a 500).
OUTAGE_ERRORS = (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError,
                 DramatiqConnectionError)

STATUS_BY_CODE = {"invalid": 400, "registration": 400}
#: Where a whole body (not one field) is refused, as Django REST framework names it.
NON_FIELD_ERRORS = "non_field_errors"


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    if fields:
        body.update(fields)
    else:
        body["detail"] = message
    return body


def status_for(exc: JobsyncError) -> int:
    if isinstance(exc, ValidationError):
        return 400
    if isinstance(exc, ServiceError):
        return exc.status
    return getattr(exc, "status", None) or STATUS_BY_CODE.get(exc.code, 400)


def field_messages(messages) -> dict:
    """marshmallow's messages as ``{field: [messages]}``; whole-body ones under ``non_field_errors``."""
    if not isinstance(messages, dict):
        messages = {"_schema": messages if isinstance(messages, list) else [messages]}
    fields = {key: value for key, value in messages.items() if key != "_schema"}
    if "_schema" in messages:
        fields[NON_FIELD_ERRORS] = [str(message) for message in messages["_schema"]]
    return fields


def location_messages(messages: dict) -> dict:
    """Flatten webargs' ``{location: messages}`` (json, query, ...) into one ``{field: [messages]}``."""
    fields: dict = {}
    for location in messages.values():
        fields.update(field_messages(location))
    return fields


def error_headers(exc: JobsyncError) -> dict:
    if isinstance(exc, AuthenticationFailed):
        return {"WWW-Authenticate": "Token"}
    if status_for(exc) == 503:  # a backend is down: tell clients when to try again
        return {"Retry-After": str(current_runtime().settings.outage_retry_after_seconds)}
    return {}


def register_errors(app: Flask) -> None:
    @app.errorhandler(JobsyncError)
    def handle_jobsync_error(exc: JobsyncError):
        fields = exc.fields if isinstance(exc, ValidationError) else None
        return jsonify(error_body(exc.code, str(exc), fields)), status_for(exc), error_headers(exc)

    def handle_outage(exc: Exception):
        """A backend is down: one log line per outage (not a traceback per request), and a 503."""
        outages.down(outage_of(exc), exc)
        return handle_jobsync_error(as_service_error(exc))

    for error_type in OUTAGE_ERRORS:
        app.register_error_handler(error_type, handle_outage)

    @app.after_request
    def note_database_back(response):
        # A request that used the database and did not fail proves it answers again.
        if response.status_code < 500 and "db_session" in g and outages.is_down(DATABASE):
            outages.up(DATABASE)
        return response

    @app.errorhandler(SchemaError)
    def handle_schema_error(exc: SchemaError):
        body = error_body("invalid", "Invalid input.", field_messages(exc.normalized_messages()))
        return jsonify(body), 400

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        fields = None
        data = getattr(exc, "data", None)  # webargs/flask-smorest attach field messages here
        if isinstance(data, dict) and "messages" in data:
            fields = location_messages(data["messages"])
        code = exc.name.lower().replace(" ", "_")
        message = "Invalid input." if fields else exc.description or exc.name
        response = jsonify(error_body(code, message, fields))
        return response, exc.code or 500
