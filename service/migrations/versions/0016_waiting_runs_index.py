"""Index the runs waiting for a concurrency key (a partial index: only they have ``blocked_by``)

Every ending of a keyed run asks whether its key has waiters, and every keyed claim counts the
waiters ahead of it. By ``concurrency_key`` alone that walks the key's whole history; PostgreSQL
sometimes walked every PENDING run by status instead. Waiting runs are few: this index holds them only.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

WAITING = sa.text("blocked_by IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_job_results_waiting", "job_results", ["concurrency_key", "created"],
                    postgresql_where=WAITING, sqlite_where=WAITING)


def downgrade() -> None:
    op.drop_index("ix_job_results_waiting", table_name="job_results")
