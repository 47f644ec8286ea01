"""The schema migrates on both backends and the tables downstream tools read exist."""
from crawler.db import connect, current_tables, upgrade



def downgrade(engine, revision: str) -> None:
    """Step a database back to `revision` through the migrations' own downgrades, as an older install has it."""
    from alembic import command
    from alembic.config import Config

    from crawler.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

def test_migrations_create_documented_tables(db):
    tables = set(current_tables(db.engine))
    assert {"articles", "raw_pages", "runs", "run_sources", "fetch_failures", "discovery_pages",
            "digests", "digest_items", "crawl_lock", "alembic_version"} <= tables


def test_upgrade_is_idempotent(db_url):
    database = connect(db_url)
    upgrade(database.engine)
    upgrade(database.engine)
    database.dispose()


def test_head_revision_is_alembics_head_and_connect_skips_a_migrated_database(db_url, monkeypatch):
    """connect() runs Alembic only when the schema is behind HEAD_REVISION, which must be the newest script."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import crawler.db as db_module

    cfg = Config()
    cfg.set_main_option("script_location", str(db_module.MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == db_module.HEAD_REVISION
    connect(db_url).dispose()  # migrated (the fixture database may be fresh)
    ran = []
    monkeypatch.setattr(db_module, "upgrade", lambda engine, revision="head": ran.append(engine))
    database = connect(db_url)
    assert db_module.at_head(database.engine) and ran == []
    with database.engine.begin() as connection:  # a database one migration behind is migrated
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0003'")
    assert not db_module.at_head(database.engine)
    connect(db_url).dispose()
    assert len(ran) == 1
    with database.engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{db_module.HEAD_REVISION}'")
    database.dispose()


def test_models_and_migrations_agree(db):
    """Every model change comes with its Alembic migration: autogenerate finds nothing to add."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crawler.db.models import Base

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_upgrade_from_0007_adds_the_document_columns(db_url):
    """Revision 0007 adds articles.issuing_body and articles.doc_number to a 0006 database, rows kept."""
    from sqlalchemy import inspect, text

    from crawler.db import make_engine

    connect(db_url).dispose()
    engine = make_engine(db_url)
    downgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO articles (url, site, source_name, title, body, status, origin, fetched_at, "
                          "updated_at) VALUES ('http://a.example/1', 'x', '国家卫生健康委员会网站', '通知', '正文', 'ok', "
                          "'import', '2025-09-01', '2025-09-01')"))
    assert "issuing_body" not in {c["name"] for c in inspect(engine).get_columns("articles")}
    upgrade(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("articles")}
    assert {"issuing_body", "doc_number"} <= columns
    with engine.connect() as conn:
        assert conn.execute(text("SELECT issuing_body, doc_number FROM articles")).all() == [(None, None)]
    engine.dispose()


def test_upgrade_from_0002_backfills_the_lsh_bands(db_url):
    """Articles stored before revision 0003 get their MinHash bands from the stored signatures."""
    from datetime import datetime, timezone

    from sqlalchemy import func, select, text

    from crawler.db import make_engine
    from crawler.db.models import MinhashBand
    from crawler.db.cluster import BANDS, signature

    connect(db_url).dispose()  # at head: step back to 0002, as an older install is
    engine = make_engine(db_url)
    downgrade(engine, "0002")
    now = datetime(2025, 9, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO articles (url, site, source_name, title, body, minhash, status, origin, "
                          "fetched_at, updated_at) VALUES ('http://a.example/1', 'x', '人民网', '标题', '正文', :sig, "
                          "'ok', 'import', :now, :now)"), {"sig": signature("标题", "正文"), "now": now})
    upgrade(engine)
    database = connect(db_url)
    with database.session() as session:
        assert session.scalar(select(func.count(MinhashBand.id))) == BANDS
    database.dispose()
    engine.dispose()


def test_upgrade_from_0003_re_signs_every_article(db_url):
    """Revision 0004: version 1 signatures (and their bands) are replaced by version 2 from title and body."""
    from datetime import datetime, timezone

    from sqlalchemy import select, text

    from crawler.db import make_engine
    from crawler.db.models import Article, MinhashBand
    from crawler.db.cluster import band_keys, signature

    connect(db_url).dispose()  # at head: step back to 0003, as an install of that revision is
    engine = make_engine(db_url)
    old = bytes(range(256)) * 2  # a version-1 signature: other values
    now = datetime(2025, 9, 1, tzinfo=timezone.utc)
    downgrade(engine, "0003")
    with engine.begin() as conn:
        for n in range(3):
            article_id = conn.execute(text(
                "INSERT INTO articles (url, site, source_name, title, body, minhash, status, origin, fetched_at, "
                "updated_at) VALUES (:url, 'x', '人民网', :title, '正文内容' || :n, :sig, 'ok', 'import', :now, :now) "
                "RETURNING id"), {"url": f"http://a.example/{n}", "title": f"标题{n}", "n": str(n), "sig": old,
                                  "now": now}).scalar_one()
            conn.execute(text("INSERT INTO minhash_bands (article_id, band_key) VALUES (:a, 1), (:a, 2)"),
                         {"a": article_id})
    upgrade(engine)
    database = connect(db_url)
    with database.session() as session:
        for article in session.scalars(select(Article)):
            assert article.minhash == signature(article.title, article.body) != old
            keys = session.scalars(select(MinhashBand.band_key).where(MinhashBand.article_id == article.id)).all()
            assert sorted(keys) == sorted(band_keys(article.minhash))
    database.dispose()
    engine.dispose()


def test_upgrade_from_0005_adds_digests_built_by(db_url):
    """Revision 0006: issues stored before it keep built_by NULL (not recorded); new builds say cli or page."""
    from datetime import date, datetime, timezone

    from sqlalchemy import select, text

    from crawler.db import make_engine
    from crawler.db.models import Digest

    connect(db_url).dispose()
    engine = make_engine(db_url)
    now = datetime(2025, 9, 1, tzinfo=timezone.utc)
    downgrade(engine, "0005")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO digests (number, friday, window_start, window_end, organisation, status, "
                          "built_at, created_at) VALUES (639, :f, :s, :f, 'x', 'draft', :now, :now)"),
                     {"f": date(2025, 8, 29), "s": date(2025, 8, 23), "now": now})
    upgrade(engine)
    database = connect(db_url)
    with database.session() as session:
        assert session.scalars(select(Digest)).one().built_by is None
    database.dispose()
    engine.dispose()


def test_a_runs_articles_are_found_by_index_not_by_reading_every_stored_article(db, db_url):
    """The end of every crawl counts and lists what its run stored (crawler.run.report.print_crawl_summary) and
    `hiwatch runs` derives a killed run's counts the same way: with years of history a scan of articles grows
    with it (1.7 s at 250,000 articles on SQLite). The planner must be able to answer by the index."""
    from sqlalchemy import func, select, text

    from crawler.db.models import Article

    query = select(func.count(Article.id)).where(Article.first_run_id == 7)
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "sqlite":
            compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
            assert "ix_articles_first_run" in plan, plan
        else:
            names = connection.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'articles'")).scalars()
            assert any("(first_run_id)" in definition for definition in names)
