"""Retries: the job's retry policy; each run's attempt number and the first run it retries.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("retries", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("retry_backoff", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("retry_on", sa.JSON(), nullable=True))
    with op.batch_alter_table("job_results") as batch:
        batch.add_column(sa.Column("retry_of", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))
        batch.create_foreign_key(
            "fk_job_results_retry_of_job_results", "job_results", ["retry_of"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_job_results_retry_of", ["retry_of"])


def downgrade() -> None:
    with op.batch_alter_table("job_results") as batch:
        batch.drop_index("ix_job_results_retry_of")
        batch.drop_constraint("fk_job_results_retry_of_job_results", type_="foreignkey")
        batch.drop_column("attempt")
        batch.drop_column("retry_of")
    with op.batch_alter_table("jobs") as batch:
        for column in ("retry_on", "retry_backoff", "retries"):
            batch.drop_column(column)
