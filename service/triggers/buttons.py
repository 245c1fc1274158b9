"""Job buttons: pressing one runs its job on one object, with that object's type, id and data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from service.errors import ValidationError
from service.models import JobButton, JobResult, User
from service.runs import approval
from service.runs.requests import enqueue_job
from service.triggers.content_types import KEY_LENGTH, covers


def press_button(
    session: Session,
    button: JobButton,
    object_type: str,
    object_id: Any,
    data: dict[str, Any] | None,
    user: User | None,
    *,
    known_queues: tuple[str, ...],
) -> JobResult:
    """Run a button's job on one object: ``receive_job_button(obj)`` gets its type, id and data.

    Raises ValidationError naming the problem: a disabled button, a type it does not cover, a job
    that is not an enabled, installed job button receiver, or a bad object.
    """
    object_type, object_id = _check_object(object_type, object_id, data)
    if not button.enabled:
        raise ValidationError({"button": [f"Job button {button.name!r} is disabled."]})
    if not covers(button.content_types, object_type):
        covered = ", ".join(button.content_types) or "no content types"
        raise ValidationError(
            {
                "object_type": [
                    f"Job button {button.name!r} does not apply to {object_type}; it covers {covered}."
                ]
            }
        )
    job = button.job
    problem = None if job.is_job_button_receiver else "is not a job button receiver"
    problem = problem or (None if job.installed else "is not installed")
    problem = problem or (None if job.enabled else "is disabled")
    if problem:
        raise ValidationError({"job": [f"Job {job.class_path} {problem}."]})
    if job.approval_required:  # it came to require approval after the button was made
        raise ValidationError({"job": [approval.receiver_problem(job, "button")]})
    obj = {"object_type": object_type, "object_id": object_id, "data": dict(data or {})}
    return enqueue_job(
        session,
        job,
        internal_data={"object": obj},
        known_queues=known_queues,
        user=user,
        object_type=object_type,
        object_id=str(object_id),
    )


def buttons_for(session: Session, content_type: str) -> list[JobButton]:
    """Return the buttons that apply to objects of ``content_type``, in display order."""
    buttons = session.scalars(
        select(JobButton)
        .options(joinedload(JobButton.job))
        .order_by(JobButton.group_name, JobButton.weight, JobButton.name)
    )
    return [button for button in buttons if covers(button.content_types, content_type)]


def _check_object(object_type: Any, object_id: Any, data: Any) -> tuple[str, Any]:
    errors: dict[str, list[str]] = {}
    if not isinstance(object_type, str) or not object_type.strip():
        errors["object_type"] = ["This field is required (e.g. dcim.device)."]
    elif len(object_type) > KEY_LENGTH:
        errors["object_type"] = [f"At most {KEY_LENGTH} characters."]
    if object_id is None or object_id == "" or isinstance(object_id, bool | dict | list | float):
        errors["object_id"] = ["This field is required: a string or an integer."]
    elif len(str(object_id)) > KEY_LENGTH:
        errors["object_id"] = [f"At most {KEY_LENGTH} characters."]
    if data is not None and not isinstance(data, dict):
        errors["object"] = ["Must be an object (the object's data)."]
    if errors:
        raise ValidationError(errors)
    return object_type.strip().lower(), object_id
