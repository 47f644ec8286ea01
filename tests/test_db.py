"""The schema migrates on both backends and the tables downstream tools read exist."""
from crawler.db import connect, current_tables, upgrade


def test_migrations_create_documented_tables(db):
    tables = set(current_tables(db.engine))
    assert {"articles", "raw_pages", "runs", "run_sources", "fetch_failures", "discovery_pages",
            "digests", "digest_items", "crawl_lock", "alembic_version"} <= tables


def test_upgrade_is_idempotent(db_url):
    database = connect(db_url)
    upgrade(database.engine)
    upgrade(database.engine)
    database.dispose()


def test_models_and_migrations_agree(db):
    """Every model change comes with its Alembic migration: autogenerate finds nothing to add."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crawler.db.models import Base

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
