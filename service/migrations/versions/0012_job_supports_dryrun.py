"""jobs.supports_dryrun: whether a job really honours a dry run (a DryRunVar or run(data, commit))

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # False until the next sync rediscovers the job: a dry run then waives no approval, the safe side.
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("supports_dryrun", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("supports_dryrun")
