"""What a notification says: a plain dict (stored with the delivery) and its text rendering.

What failed, where to look (a link to the run), the commit and the first error line; never the
run's input, so a sensitive variable cannot leak into a channel or a delivery record.
"""

from __future__ import annotations

from datetime import datetime

from service.notifications.rules import Event


def build_message(event: Event, *, suppressed: int, public_url: str | None, now: datetime) -> dict:
    """The message for ``event``; ``suppressed`` counts events the rule's throttle held back."""
    run_url = None
    if event.run_id and public_url:
        run_url = f"{public_url.rstrip('/')}/job-results/{event.run_id}/"
    message = {
        "event": event.kind,
        "title": event.title,
        "job": event.job,
        "job_name": event.job_name,
        "grouping": event.grouping,
        "repository": event.repository,
        "queue": event.queue,
        "run_id": event.run_id,
        "run_url": run_url,
        "status": event.status,
        "commit": event.commit,
        "error": event.error,
        "failures": event.failures,
        "minutes": event.minutes,
        "suppressed": suppressed,
        "time": now.isoformat(),
    }
    return {key: value for key, value in message.items() if value is not None}


def render_text(message: dict) -> str:
    """A few human lines for chat and email."""
    lines = [message["title"]]
    for label, key in (("Job", "job_name"), ("Repository", "repository"), ("Queue", "queue"),
                       ("Commit", "commit"), ("Error", "error"), ("Run", "run_url")):
        if message.get(key):
            lines.append(f"{label}: {message[key]}")
    if message.get("run_id") and not message.get("run_url"):
        lines.append(f"Run: {message['run_id']}")
    if message.get("suppressed"):
        lines.append(f"(and {message['suppressed']} more event(s) since the last message)")
    return "\n".join(lines)
