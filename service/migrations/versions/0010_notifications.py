"""Notification rules and their deliveries.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from service.models.base import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("job", sa.String(600), nullable=True),
        sa.Column("grouping", sa.String(200), nullable=True),
        sa.Column("repository", sa.String(100), nullable=True),
        sa.Column("queue", sa.String(100), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("idle_minutes", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("target", sa.String(1000), nullable=False),
        sa.Column("secret", sa.String(300), nullable=True),
        sa.Column("last_sent", UTCDateTime(), nullable=True),
        sa.Column("suppressed", sa.Integer(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_notification_rules_name")),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("completed", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["rule_id"], ["notification_rules.id"], ondelete="CASCADE",
                                name=op.f("fk_notification_deliveries_rule_id_notification_rules")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
    )
    op.create_index(op.f("ix_notification_deliveries_rule_id"), "notification_deliveries", ["rule_id"])
    op.create_index(op.f("ix_notification_deliveries_created"), "notification_deliveries", ["created"])


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("notification_rules")
