"""UI test helpers: users with cheap password hashes, form posts with CSRF, jobs with real variable
schemas, runs and their logs."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.security import generate_password_hash

from service.jobs import (
    BooleanVar,
    ChoiceVar,
    FileVar,
    IntegerVar,
    JSONVar,
    MultiChoiceVar,
    MultiObjectVar,
    StringVar,
    TextVar,
)
from service.models import JobLogEntry
from tests.helpers.factories import make_job


def schema(**variables) -> list[dict[str, Any]]:
    """The stored schema of ``variables``, as discovery records it."""
    for name, variable in variables.items():
        variable.name = name
    return [variable.schema() for variable in variables.values()]


def every_kind_schema() -> list[dict[str, Any]]:
    return schema(
        hostname=StringVar(max_length=10, description="The **device** host name", label="Host name"),
        count=IntegerVar(min_value=1, max_value=5, default=3),
        verbose=BooleanVar(default=True, description="Log more"),
        site=ChoiceVar(choices=[("ams", "Amsterdam"), ("nyc", "New York")], default="nyc"),
        roles=MultiChoiceVar(choices=[("edge", "Edge"), ("core", "Core")], required=False),
        devices=MultiObjectVar(model="dcim.device", required=False),
        notes=TextVar(required=False),
        extra=JSONVar(required=False, default={"a": 1}),
        config=FileVar(required=False),
    )


def make_form_job(session, **fields):
    values = dict(
        name="Every kind",
        grouping="Showcase",
        variables=every_kind_schema(),
        field_order=["site", "hostname"],
        description="Try **every** input.\n\nMore text.",
    )
    values.update(fields)
    return make_job(session, "EveryKind", **values)


def add_log(session, result, *entries: tuple[str, str, str]) -> None:
    """Write ``(level, grouping, message)`` log entries for ``result``, in order."""
    for level, grouping, message in entries:
        session.add(JobLogEntry(job_result_id=result.id, level=level, grouping=grouping, message=message))
    session.flush()

PASSWORD = "correct horse"

#: A fast hash keeps each login cheap; check_password reads any method werkzeug knows.
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


USERS = {
    "admin": {"is_superuser": True},
    "alice": {"permissions": ["run_job"]},
    "bob": {"permissions": ["run_job", "approve_job"]},
    "viewer": {"permissions": []},
}


def csrf_token(client) -> str:
    """This client session's CSRF token (a page render creates it)."""
    with client.session_transaction() as session:
        token = session.get("csrf_token")
    if token is None:
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return token


def log_in(client, username: str, password: str = PASSWORD):
    client.get("/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)}
    )


def post(client, url: str, data: dict | None = None, **kwargs):
    """POST a form with this session's CSRF token, as a page's form would."""
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)
