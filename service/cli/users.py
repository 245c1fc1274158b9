"""``jobsync user`` and ``jobsync token``: accounts and API keys."""

import click

from service import users
from service.models import PERMISSIONS


@click.group("user")
def user_group() -> None:
    """Manage users."""


@user_group.command("create")
@click.argument("name")
@click.option("--superuser", is_flag=True, help="Grant every permission.")
@click.option("--password", is_flag=True, help="Prompt for a password (for the web UI).")
@click.option("--permission", "permissions", multiple=True,
              type=click.Choice(list(PERMISSIONS)),
              help="Grant a permission; repeat for several.")
@click.pass_obj
def user_create(state, name: str, superuser: bool, password: bool, permissions: tuple[str, ...]) -> None:
    """Create user NAME."""
    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    with state.runtime().db.session() as session:
        user = users.create_user(session, name, password=secret, is_superuser=superuser,
                                 permissions=list(permissions))
        click.echo(f"Created user {user.username}" + (" (superuser)" if superuser else ""))


@user_group.command("set-password")
@click.argument("name")
@click.pass_obj
def user_set_password(state, name: str) -> None:
    """Prompt for a new password for user NAME; their open web sessions end."""
    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with state.runtime().db.session() as session:
        users.set_password(session, users.get_user(session, name), secret)
    click.echo(f"Password changed for {name}; their sessions have ended.")


@click.group("token")
def token_group() -> None:
    """Manage API tokens."""


@token_group.command("create")
@click.argument("name")
@click.option("--description", default="", help="What the token is for.")
@click.option("--read-only", is_flag=True, help="Refuse writes made with this token.")
@click.pass_obj
def token_create(state, name: str, description: str, read_only: bool) -> None:
    """Create an API token for user NAME and print its key once (only a hash is stored)."""
    with state.runtime().db.session() as session:
        user = users.get_user(session, name)
        _, key = users.create_token(session, user, description=description, write_enabled=not read_only)
    click.echo(key)


COMMANDS = [user_group, token_group]
