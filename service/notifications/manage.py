"""Creating and changing notification rules: one validation for the API, the UI and the CLI."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from repos.credentials import validate_credentials_reference
from service.errors import ValidationError
from service.models import NotificationRule
from service.models.notification import CHANNELS, EVENTS
from service.notifications.delivery import forget_rules_cache

FIELDS = ("name", "enabled", "events", "job", "grouping", "repository", "queue", "failures", "idle_minutes",
          "channel", "target", "secret")
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+$")


def new_rule() -> NotificationRule:
    """A rule with the model's defaults set now, so validation sees them before any flush."""
    return NotificationRule(enabled=True, failures=3, idle_minutes=10, suppressed=0)


def apply_rule_values(rule: NotificationRule, values: dict[str, Any]) -> NotificationRule:
    """Set ``values`` on ``rule`` and check the result; raises ValidationError naming each bad field."""
    for name in FIELDS:
        if name in values:
            setattr(rule, name, values[name])
    errors = rule_errors(rule)
    if errors:
        raise ValidationError(errors)
    forget_rules_cache()
    return rule


def rule_errors(rule: NotificationRule) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not rule.name or not rule.name.strip():
        errors["name"] = ["This field may not be blank."]
    unknown = [event for event in rule.events or [] if event not in EVENTS]
    if not rule.events or unknown:
        errors["events"] = [f"Choose one or more of {', '.join(EVENTS)}."]
    if rule.channel not in CHANNELS:
        errors["channel"] = [f"Choose one of {', '.join(CHANNELS)}."]
    elif problem := target_problem(rule.channel, rule.target or ""):
        errors["target"] = [problem]
    if rule.secret:
        try:
            validate_credentials_reference(rule.secret)
        except ValidationError:
            errors["secret"] = ["Use env:NAME or file:/absolute/path (a reference, never the secret)."]
    for name in ("failures", "idle_minutes"):
        value = getattr(rule, name)
        if value is not None and (not isinstance(value, int) or value < 1):
            errors[name] = ["Must be a whole number of at least 1."]
    return errors


def target_problem(channel: str, target: str) -> str | None:
    if channel == "email":
        addresses = [part.strip() for part in target.split(",")]
        if not all(_EMAIL.match(address) for address in addresses):
            return "Give one or more email addresses, separated by commas."
        return None
    if target.startswith(("env:", "file:")):
        return None
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "Give an http(s) URL, or a reference to one (env:NAME, file:/path)."
    return None


def shown_target(rule: NotificationRule) -> str:
    """The target as the API and UI show it: a chat webhook's URL is its secret, so only its host."""
    if rule.channel in ("slack", "teams") and not rule.target.startswith(("env:", "file:")):
        parts = urlsplit(rule.target)
        return f"{parts.scheme}://{parts.netloc}/…"
    return rule.target
