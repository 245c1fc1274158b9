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


def test_repositories_holding_old_credentials_references_are_told_to_name_a_credential(tmp_path):
    """0007 keeps the old reference (never resolved again) and says what the admin must do."""
    from sqlalchemy import text

    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    database.upgrade("0002")
    insert = text(
        "INSERT INTO git_repositories (id, name, slug, remote_url, branch, credentials, provided_contents,"
        " backend, backend_parameters, created, last_updated) VALUES (:id, :name, :name,"
        " 'https://github.com/acme/x.git', 'main', :credentials, '[\"jobs\"]', 'git', '{}',"
        " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    with database.engine.begin() as connection:
        for number, credentials in enumerate(["env:GIT_TOKEN", "file:/run/secrets/git", None]):
            row = {"id": f"{number:032x}", "name": f"r{number}", "credentials": credentials}
            connection.execute(insert, row)
        connection.execute(text(
            "INSERT INTO users (id, username, is_superuser, is_active, permissions, created)"
            " VALUES (:id, 'old', 0, 1, '[]', '2026-01-01 00:00:00')"), {"id": "f" * 32})
    database.upgrade()
    with database.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT credentials, sync_error FROM git_repositories ORDER BY id")).all()
        versions = connection.execute(text("SELECT session_version FROM users")).scalars().all()
    database.dispose()
    assert [credentials for credentials, _ in stored] == ["env:GIT_TOKEN", "file:/run/secrets/git", None]
    assert all("named credential" in error for _, error in stored[:2]) and stored[2][1] is None
    assert versions == [0]


def test_every_column_referencing_a_run_is_indexed(database_url):
    """Deleting a run looks up the rows pointing at it: without an index, housekeeping deleting
    750,000 runs would scan each referencing table once per run (migration 0015)."""
    from sqlalchemy import inspect

    database = Database(database_url)
    inspector = inspect(database.engine)
    unindexed = []
    for table in inspector.get_table_names():
        leading = {index["column_names"][0] for index in inspector.get_indexes(table)}
        leading |= {constraint["column_names"][0] for constraint in inspector.get_unique_constraints(table)}
        leading |= set(inspector.get_pk_constraint(table)["constrained_columns"][:1])
        for key in inspector.get_foreign_keys(table):
            if key["referred_table"] == "job_results" and key["constrained_columns"][0] not in leading:
                unindexed.append(f"{table}.{key['constrained_columns'][0]}")
    database.dispose()
    assert unindexed == []
