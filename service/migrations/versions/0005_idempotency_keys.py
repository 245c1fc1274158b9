"""Idempotency keys: a retried run request returns the run its first attempt started.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from service.models.base import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("job_result_id", sa.Uuid(), nullable=True),
        sa.Column("scheduled_job_id", sa.Uuid(), nullable=True),
        sa.Column("created", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_idempotency_keys_job_id_jobs"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_result_id"], ["job_results.id"],
                                name=op.f("fk_idempotency_keys_job_result_id_job_results"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["scheduled_job_id"], ["scheduled_jobs.id"],
                                name=op.f("fk_idempotency_keys_scheduled_job_id_scheduled_jobs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_idempotency_keys_user_id_key")),
    )
    op.create_index(op.f("ix_idempotency_keys_created"), "idempotency_keys", ["created"])


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotency_keys_created"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
