"""``POST /webhooks/events``: object change events (jobsync's, NetBox's or Nautobot's body) -> job hooks.

The sender proves who it is with an API token (``Authorization: Token <key>``, needing the
``run_job`` permission) or with an HMAC of the raw body under the ``events_secret`` setting:
NetBox's and Nautobot's ``X-Hook-Signature`` (SHA-512) or our ``X-Jobsync-Signature: sha256=``.
A signature sent while a secret is set is always verified, even beside a token.

Answers 202 with the event's id, its runs and, per matching hook, the run or why it was
skipped; 200 "duplicate" for an event seen before. See ``service.triggers.hooks`` for how hook jobs'
own changes are kept from firing hooks again.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid

from flask import Blueprint, jsonify, request

from repos.credentials import resolve_credentials
from repos.errors import RepositoryError
from service.errors import AuthenticationFailed
from service.models import User
from service.observability import metrics
from service.triggers.hooks import DUPLICATE, ChangeRecord, record_change_event
from service.web.app_runtime import current_runtime
from service.web.auth import Policy, authenticate, authorise
from webhooks.bodies import read_body
from webhooks.changes import (
    ChangeEvent,
    parse_change_event,
    verify_jobsync_signature,
    verify_netbox_signature,
)
from webhooks.errors import SignatureMissing
from webhooks.providers.payloads import lower_keys

logger = logging.getLogger(__name__)

bp = Blueprint("webhooks_events", __name__, url_prefix="/webhooks")

EVENTS_POLICY = Policy(write="run_job")
_SIGNATURES = {"x-hook-signature": verify_netbox_signature, "x-jobsync-signature": verify_jobsync_signature}
_HEADER_NAMES = {"x-hook-signature": "X-Hook-Signature", "x-jobsync-signature": "X-Jobsync-Signature"}


@dataclasses.dataclass(frozen=True)
class Sender:
    name: str
    user_id: uuid.UUID | None = None


@bp.post("/events")
def receive_event():
    """Authenticate the sender, store the event once and start the matching hooks' runs."""
    runtime = current_runtime()
    settings = runtime.settings
    body = read_body(request, settings.webhook_max_bytes)
    sender = authenticate_sender(runtime.db, lower_keys(request.headers), body, settings.events_secret)
    change = change_record(parse_change_event(body))
    with runtime.db.session() as session:  # the runs' messages leave when this commits
        user = session.get(User, sender.user_id) if sender.user_id else None
        outcome = record_change_event(
            session,
            change,
            sender=sender.name,
            user=user,
            known_queues=settings.all_queues,
            loop_users=settings.hook_loop_users,
        )
    metrics.change_event(outcome.outcome, len(outcome.runs))
    answer = {
        "outcome": outcome.outcome,
        "reason": outcome.reason,
        "event_id": str(outcome.event_id) if outcome.event_id else None,
        "job_results": [str(run) for run in outcome.runs],
        "matched": outcome.matched,
    }
    return jsonify(answer), 200 if outcome.outcome == DUPLICATE else 202


def authenticate_sender(db, headers: dict[str, str], body: bytes, secret_reference: str | None) -> Sender:
    """Return who sent the event, by signature or API token.

    Raises SignatureMissing or SignatureMismatch, AuthenticationFailed or PermissionDenied.
    """
    secret = events_secret(secret_reference)
    signed_by = next((name for name in _SIGNATURES if headers.get(name)), None)
    if secret and signed_by:
        _SIGNATURES[signed_by](headers, body, secret)
    if headers.get("authorization"):
        with db.session() as session:  # commits the token's last use
            principal = authenticate(session, headers["authorization"], None)
        authorise(principal, EVENTS_POLICY, "POST")
        return Sender(principal.username, principal.user_id)
    if secret and signed_by:
        return Sender(f"signed with {_HEADER_NAMES[signed_by]}")
    if secret:
        raise SignatureMissing("Send Authorization: Token <key>, X-Hook-Signature or X-Jobsync-Signature.")
    raise AuthenticationFailed("Send Authorization: Token <key> (no events_secret is set for signatures).")


def events_secret(reference: str | None) -> str | None:
    """Return the secret the ``events_secret`` setting names, or None when unset or unreadable."""
    if not reference:
        return None
    try:
        return resolve_credentials(reference).secret
    except RepositoryError as exc:  # an unset variable or unreadable file: signatures cannot be checked
        logger.warning("events_secret cannot be read, so signed events are refused: %s", exc)
        return None


def change_record(event: ChangeEvent) -> ChangeRecord:
    """Translate a parsed event into the service's change record."""
    fields = {field.name: getattr(event, field.name) for field in dataclasses.fields(event)}
    return ChangeRecord(**fields, is_noop_update=event.is_noop_update)
