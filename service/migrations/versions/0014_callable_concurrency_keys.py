"""jobs.concurrency_key_callable: the job's concurrency key is a function the worker calls per run

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # False for every job until the next sync rediscovers it: until then it keeps its template (if any).
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("concurrency_key_callable", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("concurrency_key_callable")
