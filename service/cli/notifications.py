"""``jobsync notify``: notification rules and their deliveries."""

from __future__ import annotations

import click
from sqlalchemy import select

from service.cli.output import emit
from service.errors import NotFound
from service.models import NotificationDelivery, NotificationRule
from service.models.notification import CHANNELS, EVENTS
from service.notifications.manage import apply_rule_values, new_rule, shown_target


@click.group("notify")
def notify_group() -> None:
    """Manage notification rules and see their deliveries."""


@notify_group.command("add")
@click.argument("name")
@click.option("--event", "events", multiple=True, required=True, type=click.Choice(EVENTS),
              help="An event to notify about; repeat for several.")
@click.option("--channel", required=True, type=click.Choice(CHANNELS))
@click.option("--target", required=True,
              help="http(s) URL or a reference to one (env:NAME, file:/path); email: addresses.")
@click.option("--secret", default=None, help="HMAC secret reference (env:NAME, file:/path).")
@click.option("--job", default=None, help="Only runs of this job (class path).")
@click.option("--grouping", default=None, help="Only jobs of this grouping.")
@click.option("--repository", default=None, help="Only this repository (slug).")
@click.option("--queue", default=None, help="Only this queue (queue_without_workers).")
@click.option("--failures", type=int, default=3, show_default=True, help="consecutive_failures: N.")
@click.option("--idle-minutes", type=int, default=10, show_default=True,
              help="queue_without_workers: N minutes.")
@click.pass_obj
def notify_add(state, name: str, **values) -> None:
    """Create notification rule NAME."""
    values["events"] = list(values["events"])
    with state.runtime().db.session() as session:
        rule = apply_rule_values(new_rule(), {"name": name, **values})
        session.add(rule)
    click.echo(f"Created notification rule {name}")


@notify_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def notify_list(state, as_json: bool) -> None:
    """List notification rules."""
    with state.runtime().db.session() as session:
        rules = session.scalars(select(NotificationRule).order_by(NotificationRule.name)).all()
        rows = [{"name": rule.name, "enabled": rule.enabled, "events": ",".join(rule.events),
                 "channel": rule.channel, "target": shown_target(rule), "suppressed": rule.suppressed}
                for rule in rules]
    emit(rows, ("name", "enabled", "events", "channel", "target", "suppressed"), as_json=as_json)


@notify_group.command("delete")
@click.argument("name")
@click.pass_obj
def notify_delete(state, name: str) -> None:
    """Delete notification rule NAME and its delivery records."""
    with state.runtime().db.session() as session:
        rule = session.scalar(select(NotificationRule).where(NotificationRule.name == name))
        if rule is None:
            raise NotFound(f"No notification rule named {name!r}.")
        session.delete(rule)
    click.echo(f"Deleted notification rule {name}")


@notify_group.command("deliveries")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def notify_deliveries(state, limit: int, as_json: bool) -> None:
    """Show the latest notification deliveries."""
    with state.runtime().db.session() as session:
        deliveries = session.scalars(
            select(NotificationDelivery).order_by(NotificationDelivery.created.desc()).limit(limit)).all()
        rows = [{"created": d.created.isoformat(timespec="seconds"), "rule": d.rule.name, "event": d.event,
                 "status": d.status, "attempts": d.attempts, "last_error": d.last_error or ""}
                for d in deliveries]
    emit(rows, ("created", "rule", "event", "status", "attempts", "last_error"), as_json=as_json)


COMMANDS = [notify_group]
