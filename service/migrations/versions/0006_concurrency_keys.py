"""Concurrency keys: the job's key template, limit and policy; each run's key; the slots held.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import service.models.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("concurrency_key", sa.String(300), nullable=True))
        batch.add_column(sa.Column("concurrency_limit", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(
            sa.Column("concurrency_policy", sa.String(20), nullable=False, server_default="queue")
        )
    with op.batch_alter_table("job_results") as batch:
        batch.add_column(sa.Column("concurrency_key", sa.String(300), nullable=True))
        batch.add_column(sa.Column("concurrency_limit", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("concurrency_policy", sa.String(20), nullable=True))
        batch.add_column(sa.Column("blocked_by", sa.Uuid(), nullable=True))
        batch.create_index("ix_job_results_concurrency_key", ["concurrency_key"])
    op.create_table(
        "concurrency_slots",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("job_result_id", sa.Uuid(), nullable=False),
        sa.Column("acquired", service.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_result_id"], ["job_results.id"],
            name="fk_concurrency_slots_job_result_id_job_results", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "slot", name="pk_concurrency_slots"),
    )
    op.create_index("ix_concurrency_slots_job_result_id", "concurrency_slots", ["job_result_id"])


def downgrade() -> None:
    op.drop_index("ix_concurrency_slots_job_result_id", table_name="concurrency_slots")
    op.drop_table("concurrency_slots")
    with op.batch_alter_table("job_results") as batch:
        batch.drop_index("ix_job_results_concurrency_key")
        for column in ("blocked_by", "concurrency_policy", "concurrency_limit", "concurrency_key"):
            batch.drop_column(column)
    with op.batch_alter_table("jobs") as batch:
        for column in ("concurrency_policy", "concurrency_limit", "concurrency_key"):
            batch.drop_column(column)
