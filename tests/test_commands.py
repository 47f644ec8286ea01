"""reextract, add, status and runs: the commands an operator and an analyst use beside the crawl."""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest
from sqlalchemy import select, update

from crawler.db import connect
from crawler.db.models import Article
from replaykit import SOURCES, article_url, build_replay, run_cli


def _crawl(root, db_url):
    """The replay set built in `root` and crawled into `db_url`: (replay dir, sources file)."""
    replay = root / "replay"
    replay.mkdir()
    build_replay(replay)
    sources = root / "sources.yaml"
    sources.write_text(SOURCES.format(), encoding="utf-8")
    result = run_cli("crawl", "--replay", str(replay), "--week", "2025-09-05", "--db", db_url, "--sources", str(sources))
    assert result.returncode == 0, result.stderr
    return replay, sources


@pytest.fixture(scope="module")
def crawled_sqlite(tmp_path_factory):
    """One real crawl of the replay set into a SQLite file, shared by the tests that start from it (each gets a copy)."""
    root = tmp_path_factory.mktemp("crawled")
    replay, sources = _crawl(root, f"sqlite:///{root / 'template.sqlite3'}")
    return root / "template.sqlite3", replay, sources


def _crawled(tmp_path, db_url, template=None):
    """A database holding the crawl of the replay set: a copy of the module's crawl for a SQLite file, else a crawl."""
    if template is None or not db_url.startswith("sqlite:///"):
        return _crawl(tmp_path, db_url)
    database_file, replay, sources = template
    with closing(sqlite3.connect(database_file)) as source, closing(sqlite3.connect(db_url[len("sqlite:///"):])) as copy:
        source.backup(copy)  # a consistent copy, WAL included
    return replay, sources


def test_reextract_restores_fields_from_raw_html_without_network(db_url, tmp_path, crawled_sqlite):
    root, sources = _crawled(tmp_path, db_url, crawled_sqlite)
    database = connect(db_url)
    with database.session() as session:
        session.execute(update(Article).where(Article.url == article_url("0901", 1)).values(title="damaged"))
    dry = run_cli("reextract", "--db", db_url, "--sources", str(sources), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "3 articles: 1 would change" in dry.stdout and "title: 1" in dry.stdout
    with database.session() as session:
        assert session.scalar(select(Article.title).where(Article.url == article_url("0901", 1))) == "damaged"
    real = run_cli("reextract", "--db", db_url, "--sources", str(sources), "--site", "testsite", "--since", "2025-08-30")
    assert "1 changed" in real.stdout, real.stdout + real.stderr
    with database.session() as session:
        assert session.scalar(select(Article.title).where(Article.url == article_url("0901", 1))) == "智慧医疗惠及百姓第1篇"
    database.dispose()


def test_add_stores_an_article_outside_the_window_and_reports_errors(tmp_path, crawled_sqlite):
    root, sources = _crawled(tmp_path, db_url := f"sqlite:///{tmp_path / 'a.sqlite3'}", crawled_sqlite)
    old = article_url("0825", 3)  # before the window: the crawl never fetched it
    result = run_cli("add", old, "--replay", str(root), "--db", db_url, "--sources", str(sources))
    assert result.returncode == 0, result.stderr
    assert "added #4 [人民网] 2025-08-25 08:00:00 +0800 智慧医疗惠及百姓第3篇" in result.stdout
    missing = run_cli("add", "http://health.people.com.cn/n1/2025/0901/c1-1.html", "--replay", str(root),
                      "--db", db_url, "--sources", str(sources))
    assert missing.returncode == 1 and "HTTP 404" in missing.stderr
    database = connect(db_url)
    with database.session() as session:
        assert session.scalar(select(Article.origin).where(Article.url == old)) == "add"
    database.dispose()


def test_status_and_runs_report_the_last_runs(tmp_path, crawled_sqlite):
    db_url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    empty_sources = tmp_path / "empty.yaml"
    replay, sources = _crawled(tmp_path, db_url, crawled_sqlite)
    status = run_cli("status", "--db", db_url, "--sources", str(sources))
    assert status.returncode == 0, status.stdout + status.stderr
    assert "last run: #1 ok" in status.stdout
    runs = run_cli("runs", "--json", "--db", db_url)
    data = json.loads(runs.stdout)
    assert data[0]["status"] == "ok" and data[0]["sources"]["testsite"]["stored"] == 3
    # a source whose list pages hold no article link: the crawl exits 1 and status flags it
    empty_sources.write_text(SOURCES.format().replace("/GB/408564/index.html", "/GB/999/index.html"), encoding="utf-8")
    silent = run_cli("crawl", "--replay", str(replay), "--week", "2025-09-05", "--db", db_url,
                     "--sources", str(empty_sources))
    assert silent.returncode == 1 and "no article link found by: testsite" in silent.stdout
    flagged = run_cli("status", "--db", db_url, "--sources", str(empty_sources))
    assert flagged.returncode == 0  # one silent run among the last three is not yet "lately"
