"""Lock leases: one sync per repository at a time across hosts, freed when a holder dies.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import service.models.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lock_leases",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", service.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lock_leases")),
        sa.UniqueConstraint("name", name=op.f("uq_lock_leases_name")),
    )


def downgrade() -> None:
    op.drop_table("lock_leases")
