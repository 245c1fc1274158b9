"""``POST /api/extras/job-buttons/{id}/run/``: press a job button on one object (needs run_job).

Apart from the buttons' CRUD blueprint because running needs ``run_job``, not ``change_job``.
Answers 201 ``{"job_result": {...}}``; a type the button does not cover, a disabled button or
a job that is not an enabled button receiver is a 400 naming the problem.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from service.api.base import Blueprint, db_session, get_or_404
from service.api.results import JobResultSchema
from service.models import JobButton, User
from service.triggers.buttons import press_button
from service.web.app_runtime import current_runtime
from service.web.auth import current_principal

bp = Blueprint(
    "job-button-run",
    __name__,
    url_prefix="/api/extras/job-buttons",
    description="Press a job button on one object.",
)


class JobButtonRunSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    object_type = fields.String(required=True, metadata={"description": "e.g. dcim.device"})
    object_id = fields.Raw(required=True, metadata={"description": "The object's id (string or integer)."})
    object = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        allow_none=True,
        metadata={"description": "The object's data, given to the job as obj.data."},
    )


class JobButtonRunResponseSchema(ma.Schema):
    job_result = fields.Nested(JobResultSchema)


@bp.post("/<uuid:button_id>/run/")
@bp.arguments(JobButtonRunSchema)
@bp.response(201, JobButtonRunResponseSchema)
def run_button(body, button_id):
    """Run the button's job on the object given (needs run_job)."""
    session = db_session()
    button = get_or_404(session, JobButton, button_id)
    result = press_button(
        session,
        button,
        body["object_type"],
        body["object_id"],
        body.get("object"),
        session.get(User, current_principal().user_id),
        known_queues=current_runtime().settings.all_queues,
    )
    session.commit()
    return {"job_result": result}
