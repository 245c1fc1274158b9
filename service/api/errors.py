"""Map jobsync's exceptions to JSON responses, in one place for the whole app.

Body: ``{"error": {"code", "message", "fields"}}``, plus the fields at the top level for
validation errors (``{field: [messages]}``), the shape Nautobot clients read.
"""

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from service.errors import JobsyncError, ServiceError, ValidationError

STATUS_BY_CODE = {"invalid": 400, "registration": 400}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    if fields:
        body.update(fields)
    return body


def status_for(exc: JobsyncError) -> int:
    if isinstance(exc, ValidationError):
        return 400
    if isinstance(exc, ServiceError):
        return exc.status
    return getattr(exc, "status", None) or STATUS_BY_CODE.get(exc.code, 400)


def register_errors(app: Flask) -> None:
    @app.errorhandler(JobsyncError)
    def handle_jobsync_error(exc: JobsyncError):
        fields = exc.fields if isinstance(exc, ValidationError) else None
        return jsonify(error_body(exc.code, str(exc), fields)), status_for(exc)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        fields = None
        data = getattr(exc, "data", None)  # webargs/flask-smorest attach field messages here
        if isinstance(data, dict) and "messages" in data:
            fields = {}
            for location_messages in data["messages"].values():
                fields.update(location_messages if isinstance(location_messages, dict) else {})
        code = exc.name.lower().replace(" ", "_")
        response = jsonify(error_body(code, exc.description or exc.name, fields))
        return response, exc.code or 500
