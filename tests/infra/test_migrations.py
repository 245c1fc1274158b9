from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.infra.db import Database
from service.models import Base


def test_migrated_schema_equals_the_models(database_url):
    database = Database(database_url)
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    database.dispose()


def test_upgrade_is_idempotent(database_url):
    database = Database(database_url)
    database.upgrade()
    database.upgrade()
    with database.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is not None
    database.dispose()


def test_waiting_service_runs_keep_working_after_their_classes_moved(tmp_path):
    """Rows stored under a runner's old module:QualName are renamed to its stable runner_name."""
    from sqlalchemy import text

    from service.jobs.runner import find_runner, runner_path
    from service.runs.housekeeping import Housekeeping
    from service.sources.sync import SyncRepository

    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    database.upgrade("0001")
    insert = text(
        "INSERT INTO job_results (id, name, class_path, runner, status, queue, dryrun, created,"
        " cancel_requested, attempts, log_counts) VALUES (:id, 'x', :path, :path, 'PENDING', 'default',"
        " 0, '2026-01-01 00:00:00', 0, 0, '{}')"
    )
    with database.engine.begin() as connection:
        for number, path in enumerate(["service.sync:SyncRepository", "service.housekeeping:Housekeeping"]):
            connection.execute(insert, {"id": f"{number:032x}", "path": path})
    database.upgrade()
    with database.engine.connect() as connection:
        stored = connection.execute(text("SELECT runner, class_path FROM job_results ORDER BY id")).all()
    database.dispose()
    assert stored == [("jobsync.sync_repository",) * 2, ("jobsync.housekeeping",) * 2]
    assert [find_runner(runner) for runner, _ in stored] == [SyncRepository, Housekeeping]
    assert runner_path(SyncRepository) == "jobsync.sync_repository"
