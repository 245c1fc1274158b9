"""Push deliveries as each git provider sends them: its real header names, body shape and signature."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable

ZERO = "0" * 40
SECRET = "It's a Secret to Everybody"
VALID, WRONG, MISSING = "valid", "wrong", "missing"


def hex_hmac(body: bytes, secret: str = SECRET, digest=hashlib.sha256) -> str:
    return hmac.new(secret.encode(), body, digest).hexdigest()


def _simple_push(ref: str, after: str, before: str) -> dict:
    return {"ref": ref, "before": before, "after": after}


def _cloud_push(ref: str, after: str, before: str) -> dict:
    kind, name = (
        ("tag", ref.removeprefix("refs/tags/"))
        if ref.startswith("refs/tags/")
        else ("branch", ref.removeprefix("refs/heads/"))
    )
    new = None if after == ZERO else {"type": kind, "name": name, "target": {"hash": after}}
    old = {"type": kind, "name": name, "target": {"hash": before}}
    return {"push": {"changes": [{"new": new, "old": old, "forced": False, "closed": new is None}]}}


def _server_push(ref: str, after: str, before: str) -> dict:
    change_type = "DELETE" if after == ZERO else "UPDATE"
    return {
        "eventKey": "repo:refs_changed",
        "changes": [
            {"ref": {"id": ref}, "refId": ref, "fromHash": before, "toHash": after, "type": change_type}
        ],
    }


@dataclasses.dataclass(frozen=True)
class Provider:
    """One git host's webhook dialect, from the sender's side."""

    name: str
    event_headers: dict[str, str]
    delivery_header: str
    signature_header: str
    sign: Callable[[bytes, str], str]
    push_body: Callable[[str, str, str], dict]
    ping_headers: dict[str, str] | None = None

    def body(self, ref: str = "refs/heads/main", after: str = "a" * 40, before: str = "b" * 40) -> bytes:
        return json.dumps(self.push_body(ref, after, before)).encode()

    def headers(
        self,
        body: bytes,
        *,
        signature: str = VALID,
        delivery_id: str | None = None,
        secret: str = SECRET,
        event_headers: dict[str, str] | None = None,
    ) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            **(event_headers or self.event_headers),
            self.delivery_header: delivery_id or str(uuid.uuid4()),
        }
        if signature == VALID:
            headers[self.signature_header] = self.sign(body, secret)
        elif signature == WRONG:
            headers[self.signature_header] = self.sign(body, secret + "-not")
        return headers


PROVIDERS = {
    "github": Provider(
        "github",
        {"X-GitHub-Event": "push"},
        "X-GitHub-Delivery",
        "X-Hub-Signature-256",
        lambda body, secret: "sha256=" + hex_hmac(body, secret),
        _simple_push,
        ping_headers={"X-GitHub-Event": "ping"},
    ),
    "gitlab": Provider(
        "gitlab",
        {"X-Gitlab-Event": "Push Hook"},
        "Idempotency-Key",
        "X-Gitlab-Token",
        lambda body, secret: secret,
        _simple_push,
    ),
    "gitea": Provider(
        "gitea",
        {"X-GitHub-Event": "push", "X-Gitea-Event": "push"},
        "X-Gitea-Delivery",
        "X-Gitea-Signature",
        lambda body, secret: hex_hmac(body, secret),
        _simple_push,
    ),
    "forgejo": Provider(
        "gitea",
        {"X-GitHub-Event": "push", "X-Gitea-Event": "push", "X-Forgejo-Event": "push"},
        "X-Forgejo-Delivery",
        "X-Forgejo-Signature",
        lambda body, secret: hex_hmac(body, secret),
        _simple_push,
    ),
    "bitbucket-cloud": Provider(
        "bitbucket-cloud",
        {"X-Event-Key": "repo:push", "X-Hook-UUID": "{cedbe0f1-0a4b-4d47-8a57-9ec9a8f3c5b8}"},
        "X-Request-UUID",
        "X-Hub-Signature",
        lambda body, secret: "sha256=" + hex_hmac(body, secret),
        _cloud_push,
    ),
    "bitbucket-server": Provider(
        "bitbucket-server",
        {"X-Event-Key": "repo:refs_changed"},
        "X-Request-Id",
        "X-Hub-Signature",
        lambda body, secret: "sha256=" + hex_hmac(body, secret),
        _server_push,
        ping_headers={"X-Event-Key": "diagnostics:ping"},
    ),
    "generic": Provider(
        "generic",
        {"X-Jobsync-Event": "push"},
        "X-Jobsync-Delivery",
        "X-Jobsync-Signature",
        lambda body, secret: "sha256=" + hex_hmac(body, secret),
        _simple_push,
        ping_headers={"X-Jobsync-Event": "ping"},
    ),
}
GITHUB = PROVIDERS["github"]
