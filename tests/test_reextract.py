"""hiwatch reextract: the workers get the stored pages still compressed and send back only what changed."""
from __future__ import annotations

import gzip
from concurrent.futures import Future

from sqlalchemy import select, update

from crawler.config import load_sources
from crawler.db import connect
from crawler.db.models import Article, RawPage
from crawler.db.store import FetchedPage, enrich, store
from crawler.extract import extract
from crawler.run import reextract as R
from replaykit import ARTICLE, SOURCES, article_url


class InlinePool:
    """A stand-in for the extraction pool: runs each task at once, in this process, and keeps what it was sent."""

    def __init__(self):
        self.tasks = []

    def submit(self, function, *args):
        self.tasks.append((function, args))
        future = Future()
        future.set_result(function(*args))
        return future


def _page(number: int, title: str) -> bytes:
    return ARTICLE.format(charset="utf-8", title=title, day="2025-09-01", when="2025年09月01日09:12",
                          lead=f"第{number}篇：").encode("utf-8")


def _database(tmp_path, sources):
    database = connect(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    rules = sources.get("testsite").rules
    for number in range(1, 6):
        url = article_url("0901", number)
        body = _page(number, f"智慧医疗惠及百姓第{number}篇")
        extracted = extract(body, url, rules, "text/html; charset=utf-8")
        assert extracted.body and not extracted.blocked
        pages = [FetchedPage(url=url, body=body, headers={"Content-Type": "text/html; charset=utf-8"})]
        store(database, url, extracted, "testsite", pages if number != 5 else [], after_save=enrich())
    with database.session() as session:
        session.execute(update(Article).where(Article.url == article_url("0901", 1)).values(title="damaged"))
        session.execute(update(Article).where(Article.url == article_url("0901", 2))
                        .values(editor=None, body="old body"))
        page = session.scalar(select(RawPage).join(Article).where(Article.url == article_url("0901", 3)))
        page.html_gz = gzip.compress(b"<html><body><p>x</p></body></html>")  # no body any more: kept as is
    return database


def test_reextract_ships_compressed_pages_and_reports_what_changed(tmp_path, monkeypatch):
    sources = load_sources_text(tmp_path)
    database = _database(tmp_path, sources)
    pool = InlinePool()
    monkeypatch.setattr(R, "get_pool", lambda workers=None: pool)
    report = R.reextract(database, sources, batch=2)

    assert (report.examined, report.changed, report.unchanged, report.failed) == (4, 2, 1, 1)
    assert dict(report.fields) == {"title": 1, "body": 1, "editor": 1}
    first, second = article_url("0901", 1), article_url("0901", 2)
    assert report.examples[0] == (1, first, "title", "damaged", "智慧医疗惠及百姓第1篇")
    assert [(e[0], e[2], e[3]) for e in report.examples[1:]] == [(2, "body", "old body"), (2, "editor", "None")]
    # every task is the worker's compare job, given gzip bytes: nothing was decompressed in this process
    assert pool.tasks and all(function is R.compare_many for function, _ in pool.tasks)
    shipped = [page for _, (jobs,) in pool.tasks for job in jobs for page in job[2]]
    assert len(shipped) == 4 and all(html_gz[:2] == b"\x1f\x8b" for html_gz, _url, _type in shipped)
    with database.session() as session:
        rows = dict(session.execute(select(Article.url, Article.title)).all())
        assert rows[first] == "智慧医疗惠及百姓第1篇"
        second_article = session.scalar(select(Article).where(Article.url == second))
        assert second_article.body.startswith("第2篇：") and second_article.editor
        assert second_article.relevance is not None
    database.dispose()


def test_reextract_dry_run_writes_nothing(tmp_path, monkeypatch):
    sources = load_sources_text(tmp_path)
    database = _database(tmp_path, sources)
    monkeypatch.setattr(R, "get_pool", lambda workers=None: InlinePool())
    report = R.reextract(database, sources, dry_run=True)
    assert (report.examined, report.changed) == (4, 2)
    with database.session() as session:
        assert session.scalar(select(Article.title).where(Article.url == article_url("0901", 1))) == "damaged"
    database.dispose()


def test_compare_returns_only_the_changed_fields(tmp_path):
    from crawler.analyse.rerun import FIELDS, compare

    url = article_url("0901", 1)
    body = _page(1, "标题一")
    rules = load_sources_text(tmp_path).get("testsite").rules
    new = extract(body, url, rules, "text/html")
    old = [getattr(new, name) for name in FIELDS]
    page = [(gzip.compress(body), url, "text/html")]
    assert compare(url, rules, page, old) == ({}, new.extractor)
    old[FIELDS.index("title")] = "旧标题"
    assert compare(url, rules, page, old) == ({"title": "标题一"}, new.extractor)
    assert compare(url, rules, [(gzip.compress(b"<html></html>"), url, None)], old) is None


def load_sources_text(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES.format(), encoding="utf-8")
    return load_sources(path)



def test_reextract_in_the_worker_processes_gives_what_extracting_in_this_process_gives(tmp_path, monkeypatch):
    """The real pool (two forkserver workers, several tasks in flight, batches read ahead) reports and writes the
    same fields, article by article, as the same run done task by task in this process."""
    from crawler.analyse.pool import shutdown

    sources = load_sources_text(tmp_path)
    results = []
    for name in ("inline", "pool"):
        (tmp_path / name).mkdir()
        database = _database(tmp_path / name, sources)
        if name == "inline":
            monkeypatch.setattr(R, "get_pool", lambda workers=None: InlinePool())
        else:
            monkeypatch.undo()
        try:
            report = R.reextract(database, sources, batch=2, workers=2)
        finally:
            shutdown()
        with database.session() as session:
            rows = session.execute(select(Article.url, Article.extractor, Article.relevance,
                                          *[getattr(Article, f) for f in R.FIELDS]).order_by(Article.url)).all()
        database.dispose()
        results.append(((report.examined, report.changed, report.unchanged, report.failed), dict(report.fields),
                        report.examples, [tuple(row) for row in rows]))
    assert results[0][0] == (4, 2, 1, 1)
    assert results[1] == results[0]
