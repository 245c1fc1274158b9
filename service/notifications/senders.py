"""Channels: a signed JSON webhook, Slack- and Teams-style incoming webhooks, and SMTP email.

Each sender raises NotificationFailed with a text naming the failure (an HTTP status, a refused
connection) but never the target URL, which for chat webhooks is itself the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage

from repos.credentials import resolve_credentials
from service.errors import NotificationFailed
from service.notifications.messages import render_text

SIGNATURE_HEADER = "X-Jobsync-Signature-256"
EVENT_HEADER = "X-Jobsync-Event"


def reveal(value: str) -> str:
    """A target given as a reference (env:NAME, file:/path) is read now; a plain one is itself."""
    if value.startswith(("env:", "file:")):
        return resolve_credentials(value).secret.strip()
    return value


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(rule, message: dict, settings) -> None:
    """Deliver ``message`` through ``rule``'s channel; raises NotificationFailed."""
    try:
        if rule.channel == "email":
            send_email(rule.target, message, settings)
        elif rule.channel == "webhook":
            body = json.dumps(message, sort_keys=True).encode()
            headers = {EVENT_HEADER: message["event"]}
            if rule.secret:
                headers[SIGNATURE_HEADER] = sign(body, reveal(rule.secret))
            post_json(reveal(rule.target), body, headers, settings.notify_timeout_seconds)
        else:  # slack and teams incoming webhooks both take {"text": ...}
            body = json.dumps({"text": render_text(message)}).encode()
            post_json(reveal(rule.target), body, {}, settings.notify_timeout_seconds)
    except NotificationFailed:
        raise
    except Exception as exc:  # a reference that cannot be read, a malformed target
        raise NotificationFailed(f"{rule.channel} channel: {type(exc).__name__}") from None


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https only)
            response.read()
    except urllib.error.HTTPError as exc:
        raise NotificationFailed(f"HTTP {exc.code} from the webhook") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NotificationFailed(f"webhook unreachable: {type(reason).__name__}: {_strip(reason)}") from None


def _strip(reason) -> str:
    text = getattr(reason, "strerror", None) or str(reason)
    return text.split("//")[0][:200]  # never a URL


def send_email(recipients: str, message: dict, settings) -> None:
    if not settings.smtp_host:
        raise NotificationFailed("email channel: smtp_host is not configured")
    email = EmailMessage()
    email["Subject"] = message["title"]
    email["From"] = settings.smtp_from
    email["To"] = recipients
    email.set_content(render_text(message))
    try:
        timeout = settings.notify_timeout_seconds
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, reveal(settings.smtp_password or ""))
            smtp.send_message(email)
    except smtplib.SMTPResponseException as exc:
        raise NotificationFailed(f"SMTP {exc.smtp_code} from the mail server") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise NotificationFailed(f"mail server unreachable: {type(exc).__name__}") from None
