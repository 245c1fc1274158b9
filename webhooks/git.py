"""``POST /webhooks/git/<repo-slug>``: git push deliveries from any provider start a (coalesced) sync.

Order matters: the declared size is checked before anything else, the signature over the raw
body before any parsing, and every delivery, refused or not, is recorded (bodies never are).

==========================================  ======  ==================================
request                                     status  outcome
==========================================  ======  ==================================
push to the repository's branch             202     accepted, with the sync JobResult
push to another branch, a tag, a deletion   202     ignored, with the reason
an event that is not a push                 202     ignored
ping                                        200     ignored ("ping")
a delivery id seen before                   200     duplicate: nothing started
no or a wrong signature                     401     rejected
repository without a webhook secret         403     rejected (closed by default)
no repository with that slug                404     not recorded (counted, logged at debug)
over ``webhook_requests_per_minute``        429     not recorded (per source address)
body over ``webhook_max_bytes``             413     rejected, before the body is read
malformed body, missing ``ref``/``after``   400     rejected, naming the fields
==========================================  ======  ==================================
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from repos.credentials import resolve_credentials
from repos.errors import RepositoryError
from service.errors import NotFound, PermissionDenied
from service.models import GitRepository
from service.observability import metrics
from service.sources.deliveries import (
    DUPLICATE,
    clip,
    decide,
    find_repository,
    receive_delivery,
    record_rejection,
)
from service.web.app_runtime import current_runtime
from webhooks.bodies import read_body
from webhooks.errors import WebhookError
from webhooks.limits import AddressRateLimit, UnknownSlugCounter
from webhooks.providers import detect_provider, parse_delivery, verify_signature
from webhooks.providers.payloads import first_header, lower_keys

logger = logging.getLogger(__name__)

bp = Blueprint("webhooks_git", __name__, url_prefix="/webhooks/git")

_EVENT_HEADERS = (
    "x-github-event",
    "x-gitea-event",
    "x-forgejo-event",
    "x-gitlab-event",
    "x-event-key",
    "x-jobsync-event",
)
_REFUSED = (WebhookError, NotFound, PermissionDenied, RequestEntityTooLarge)
#: Deliveries for unknown slugs since this process started (anyone can send them: never stored).
unknown_slugs = UnknownSlugCounter()


@bp.post("/<slug>")
def receive_push(slug: str):
    """Verify, record and act on one push delivery for the repository ``slug``."""
    runtime = current_runtime()
    _rate_limit(runtime.settings.webhook_requests_per_minute).check(request.remote_addr)
    headers = lower_keys(request.headers)
    provider, repository, refused = _provider_or_unknown(headers), None, None
    # One transaction records the delivery with the sync it joins or queues; the body is read
    # (size-checked) before the session takes a database connection.
    with runtime.db.session() as session:
        try:
            body = read_body(request, runtime.settings.webhook_max_bytes)
            repository = find_repository(session, slug)
            secret = webhook_secret(repository)
            provider = detect_provider(headers)
            verify_signature(provider, headers, body, secret)
            delivery = parse_delivery(provider, headers, body)
        except _REFUSED as exc:
            refused = exc
            repository = repository or _known_repository(session, slug)
            if repository is None:
                count = unknown_slugs.add()
                logger.debug("Webhook for an unknown repository slug refused (%d so far)", count)
                metrics.webhook_delivery(provider, "rejected")  # counted, never stored
                raise
            record_rejection(
                session,
                provider=provider,
                reason=_reason(exc),
                repository_id=repository.id if repository else None,
                event=first_header(headers, _EVENT_HEADERS),
            )
        else:
            decision = decide(repository.branch, delivery.kind, delivery.event, delivery.pushes)
            outcome = receive_delivery(
                session,
                repository,
                provider=provider,
                delivery_id=delivery.delivery_id,
                event=delivery.event,
                decision=decision,
                coalesce_seconds=runtime.settings.webhook_coalesce_seconds,
            )
    if refused is not None:
        metrics.webhook_delivery(provider, "rejected")
        raise refused  # recorded above; answered by the app's error handlers
    metrics.webhook_delivery(provider, outcome.outcome)
    answer = {
        "outcome": outcome.outcome,
        "reason": outcome.reason,
        "provider": provider,
        "delivery_id": clip(delivery.delivery_id),
        "record_id": str(outcome.record_id),
        "job_result_id": str(outcome.sync_result_id) if outcome.sync_result_id else None,
    }
    return jsonify(answer), 200 if outcome.outcome == DUPLICATE or delivery.kind == "ping" else 202


def _rate_limit(per_minute: int) -> AddressRateLimit:
    """This app's limiter (kept with the app, so each app counts on its own)."""
    return current_app.extensions.setdefault("webhook_rate_limit", AddressRateLimit(per_minute))


def _known_repository(session, slug: str) -> GitRepository | None:
    try:
        return find_repository(session, slug)
    except NotFound:
        return None


def webhook_secret(repository: GitRepository) -> str:
    """Return the repository's webhook secret; raises PermissionDenied without one (closed by default)."""
    refused = PermissionDenied(
        f"Repository {repository.slug!r} accepts no webhooks until it has a webhook secret."
    )
    if not repository.webhook_secret:
        raise refused
    try:
        credentials = resolve_credentials(repository.webhook_secret)
    except RepositoryError as exc:  # the reference names an unset variable or an unreadable file
        logger.warning("Repository %s: its webhook secret cannot be read: %s", repository.slug, exc)
        raise refused from None
    return credentials.secret


def _provider_or_unknown(headers: dict[str, str]) -> str:
    try:
        return detect_provider(headers)
    except WebhookError:
        return "unknown"


def _reason(exc: Exception) -> str:
    if isinstance(exc, RequestEntityTooLarge):
        return exc.description or "Body too large."
    return f"{type(exc).__name__}: {exc}"
