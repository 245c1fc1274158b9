"""Chains: the jobs a job starts when its run succeeds or fails; the run that started each run.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("on_success_run", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("on_failure_run", sa.JSON(), nullable=True))
    with op.batch_alter_table("job_results") as batch:
        batch.add_column(sa.Column("triggered_by", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_job_results_triggered_by_job_results", "job_results", ["triggered_by"], ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_job_results_triggered_by", ["triggered_by"])


def downgrade() -> None:
    with op.batch_alter_table("job_results") as batch:
        batch.drop_index("ix_job_results_triggered_by")
        batch.drop_constraint("fk_job_results_triggered_by_job_results", type_="foreignkey")
        batch.drop_column("triggered_by")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("on_failure_run")
        batch.drop_column("on_success_run")
