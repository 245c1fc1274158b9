"""Indexes for a year of history: the results list's orderings and a run's log by level.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (table, name, columns) created; the single-column indexes they cover are dropped.
CREATED = [
    ("job_results", "ix_job_results_created_id", ["created", "id"]),
    ("job_results", "ix_job_results_job_created", ["job_id", "created"]),
    ("job_results", "ix_job_results_status_created", ["status", "created"]),
    ("job_results", "ix_job_results_user_created", ["user_id", "created"]),
    ("job_log_entries", "ix_job_log_entries_result_created_id", ["job_result_id", "created", "id"]),
    ("job_log_entries", "ix_job_log_entries_result_level_created_id",
     ["job_result_id", "level", "created", "id"]),
]
DROPPED = [
    ("job_results", "ix_job_results_created", ["created"]),
    ("job_results", "ix_job_results_job_id", ["job_id"]),
    ("job_results", "ix_job_results_status", ["status"]),
    ("job_log_entries", "ix_job_log_entries_result_created", ["job_result_id", "created"]),
]


def upgrade() -> None:
    for table, name, columns in CREATED:
        op.create_index(name, table, columns)
    for table, name, _columns in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, columns in DROPPED:
        op.create_index(name, table, columns)
    for table, name, _columns in CREATED:
        op.drop_index(name, table_name=table)
