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
