"""Service runners are stored by stable names, so moving their classes strands no waiting row.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Every module:QualName the service's own runners were stored under, and their stable names.
RENAMES = {
    "service.sync:SyncRepository": "jobsync.sync_repository",
    "service.sources.sync:SyncRepository": "jobsync.sync_repository",
    "service.housekeeping:Housekeeping": "jobsync.housekeeping",
    "service.runs.housekeeping:Housekeeping": "jobsync.housekeeping",
}

job_results = sa.table("job_results", sa.column("runner", sa.String), sa.column("class_path", sa.String))


def _rename(mapping: dict[str, str]) -> None:
    for old, new in mapping.items():
        op.execute(job_results.update().where(job_results.c.runner == old).values(runner=new, class_path=new))


def upgrade() -> None:
    _rename(RENAMES)


def downgrade() -> None:
    _rename({
        "jobsync.sync_repository": "service.sync:SyncRepository",
        "jobsync.housekeeping": "service.housekeeping:Housekeeping",
    })
