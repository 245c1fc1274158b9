"""Git push deliveries: decide what each one asks for, record every one, and start few syncs.

A delivery id is claimed once per provider (a unique row): the same id again is recorded as a
duplicate and starts nothing. Rejected and duplicate deliveries are recorded without the claimed
id, so an unsigned request can never take a real delivery's id before it arrives.

Bursts coalesce: a push joins the sync already waiting for its repository, and a sync that
started less than ``webhook_coalesce_seconds`` ago makes the next one wait until that much
time has passed, so 50 pushes within that time cause at most two syncs. A sync fetches the
branch head when it runs, so the last one ends at the newest pushed commit.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from service.errors import NotFound
from service.infra.inserts import insert_once, insert_row
from service.models import GitRepository, JobResult, Status, WebhookDelivery
from service.sources.sync import SYNC_RUNNER, request_sync

ACCEPTED, IGNORED, REJECTED, DUPLICATE = "accepted", "ignored", "rejected", "duplicate"
#: Longest sender-chosen text (ids, refs, slugs) copied into a record.
MAX_ECHO = 200
EVENT_LENGTH = 100  # WebhookDelivery.event's width

_BY_SLUG = select(GitRepository).where(GitRepository.slug == bindparam("slug"))
#: The sync waiting for the repository ``waiting_for`` names: the one a push joins. Joining needs
#: no lock: a sync still waiting after the push landed fetches the branch later, so it sees it.
WAITING_SYNC = (
    select(JobResult.id)
    .where(
        JobResult.runner == SYNC_RUNNER,
        JobResult.status == Status.PENDING,
        JobResult.object_type == GitRepository.__tablename__,
        JobResult.object_id == bindparam("waiting_for"),
    )
    .order_by(JobResult.created)
    .limit(1)
    .scalar_subquery()
)


class Push(Protocol):
    """One ref a delivery reports moved (``webhooks.providers.PushEvent`` fits)."""

    ref: str
    after: str
    deleted: bool

    @property
    def branch(self) -> str | None: ...

    @property
    def is_tag(self) -> bool: ...


@dataclasses.dataclass(frozen=True)
class Decision:
    """What a verified delivery asks of a repository: a sync, or nothing and why."""

    outcome: str  # accepted or ignored
    reason: str | None
    ref: str | None = None
    sha: str | None = None

    @property
    def wants_sync(self) -> bool:
        return self.outcome == ACCEPTED


@dataclasses.dataclass(frozen=True)
class DeliveryOutcome:
    """What a delivery did: its record, its outcome and the sync it started or joined."""

    outcome: str
    reason: str | None
    record_id: uuid.UUID
    sync_result_id: uuid.UUID | None = None


def decide(branch: str, kind: str, event: str, pushes: Sequence[Push]) -> Decision:
    """Decide whether a delivery should sync a repository that follows ``branch``."""
    if kind == "ping":
        return Decision(IGNORED, "Ping: the webhook reaches jobsync; nothing to sync.")
    if kind != "push":
        return Decision(IGNORED, f"Event {clip(event)!r} is not a push; nothing to sync.")
    if not pushes:
        return Decision(IGNORED, "The push reports no ref changes.")
    ours = [push for push in pushes if push.branch == branch]
    if not ours:
        first = pushes[0]
        kind_of_ref = "Tag" if first.is_tag else "Ref"
        return Decision(
            IGNORED,
            f"{kind_of_ref} {clip(first.ref)} is not branch {branch!r}, the one synced.",
            first.ref,
            first.after,
        )
    push = ours[-1]
    if push.deleted:
        return Decision(
            IGNORED,
            f"Branch {branch!r} was deleted; the repository keeps its last synced head.",
            push.ref,
            None,
        )
    return Decision(ACCEPTED, None, push.ref, push.after)


def clip(text: str | None, limit: int = MAX_ECHO) -> str | None:
    """Shorten sender-chosen text before it is stored or echoed."""
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


def find_repository(session: Session, slug: str) -> GitRepository:
    """Return the repository with this slug; raises NotFound."""
    repository = session.scalar(_BY_SLUG, {"slug": slug})
    if repository is None:
        raise NotFound(f"No repository with slug {clip(slug, 100)!r}.")
    return repository


def receive_delivery(
    session: Session,
    repository: GitRepository,
    *,
    provider: str,
    delivery_id: str,
    event: str,
    decision: Decision,
    coalesce_seconds: float = 0.0,
) -> DeliveryOutcome:
    """Record a verified delivery once and, when it asks for one, join or queue a sync.

    All in ``session``'s transaction: the record and its sync commit together (the sync's message
    leaves on commit), so a failure leaves the delivery id free for the sender's retry. A delivery
    id seen before is recorded as a duplicate and starts nothing. See ``request_sync`` for
    ``coalesce_seconds``.
    """
    fields = dict(
        provider=provider,
        repository_id=repository.id,
        event=clip(event, EVENT_LENGTH),
        ref=clip(decision.ref),
        sha=decision.sha,
    )
    claim = dict(fields, delivery_id=clip(delivery_id), outcome=decision.outcome, reason=decision.reason)
    if decision.wants_sync:  # join the sync waiting for this repository in the same statement
        claim["waiting_for"] = str(repository.id)
    row = insert_once(
        session,
        WebhookDelivery,
        claim,
        unique=("provider", "delivery_id"),
        returning=("sync_result_id",),
        computed={"sync_result_id": WAITING_SYNC} if decision.wants_sync else None,
    )
    if row is None:
        reason = f"Delivery {clip(delivery_id)} was received before; nothing new is started."
        return DeliveryOutcome(DUPLICATE, reason, _add(session, fields, outcome=DUPLICATE, reason=reason))
    if not decision.wants_sync:
        return DeliveryOutcome(decision.outcome, decision.reason, row.id)
    sync_id = row.sync_result_id
    if sync_id is None:
        sync_id = request_sync(session, repository, coalesce_seconds=coalesce_seconds).id
        session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == row.id).values(sync_result_id=sync_id)
        )
    return DeliveryOutcome(ACCEPTED, None, row.id, sync_id)


def record_rejection(
    session: Session,
    *,
    provider: str,
    reason: str,
    repository_id: uuid.UUID | None = None,
    event: str | None = None,
) -> uuid.UUID:
    """Record a refused delivery (bad signature, unknown repository...); its body is never stored."""
    fields = dict(provider=provider, repository_id=repository_id, event=clip(event, EVENT_LENGTH))
    return _add(session, fields, outcome=REJECTED, reason=reason)


def _add(session: Session, fields: dict, *, outcome: str, reason: str) -> uuid.UUID:
    return insert_row(
        session, WebhookDelivery, dict(fields, delivery_id=None, outcome=outcome, reason=reason)
    )
