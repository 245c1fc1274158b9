"""Index every column that references a run, so deleting old runs never scans a whole table

Deleting a run makes PostgreSQL find the rows pointing at it (ON DELETE SET NULL / CASCADE). Without
an index on the referencing column each deleted run scans that table: housekeeping deleting 750,000
runs would scan scheduled_slots, webhook_deliveries and idempotency_keys 750,000 times each.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# (table, index name, column)
CREATED = [
    ("scheduled_slots", "ix_scheduled_slots_job_result_id", "job_result_id"),
    ("webhook_deliveries", "ix_webhook_deliveries_sync_result_id", "sync_result_id"),
    ("idempotency_keys", "ix_idempotency_keys_job_result_id", "job_result_id"),
]


def upgrade() -> None:
    for table, name, column in CREATED:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for table, name, _column in CREATED:
        op.drop_index(name, table_name=table)
