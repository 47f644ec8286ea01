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
