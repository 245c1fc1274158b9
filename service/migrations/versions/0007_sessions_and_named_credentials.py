"""Session versions, login failures, and repositories moved off raw credentials references.

A repository's ``credentials`` now names a credential an admin defined in configuration (pinned to
hosts). Old ``env:NAME`` / ``file:/path`` references are kept, so the admin sees what was used, but
they are no longer resolved: such a repository says so in its sync error until an admin defines a
named credential and selects it.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import service.models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OLD_REFERENCE_ERROR = (
    "Credentials references (env:NAME, file:/path) are no longer used: an admin defines a named "
    "credential pinned to this remote's host under `credentials:` in the configuration and selects it "
    "on this repository."
)

repositories = sa.table("git_repositories", sa.column("credentials", sa.String),
                        sa.column("sync_error", sa.Text))


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", service.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures") as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_key"), ["key"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_at"), ["at"], unique=False)
    credentials = repositories.c.credentials
    old_reference = sa.or_(credentials.like("env:%"), credentials.like("file:%"))
    op.execute(repositories.update().where(old_reference).values(sync_error=OLD_REFERENCE_ERROR))


def downgrade() -> None:
    op.drop_table("login_failures")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("session_version")
