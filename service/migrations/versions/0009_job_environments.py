"""Per-repository dependencies: environments by key, and the key each job and run uses.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

import service.models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_environments",
        sa.Column("key", sa.String(length=64), primary_key=True),
        sa.Column("requirements", sa.Text(), nullable=False),
        sa.Column("packages", sa.JSON(), nullable=False),
        sa.Column("platform", sa.String(length=200), nullable=False),
        sa.Column("created", service.models.base.UTCDateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("environment_key", sa.String(length=64), nullable=True))
    with op.batch_alter_table("job_results") as batch:
        batch.add_column(sa.Column("environment_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_results") as batch:
        batch.drop_column("environment_key")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("environment_key")
    op.drop_table("job_environments")
