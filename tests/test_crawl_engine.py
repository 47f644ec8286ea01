"""The crawl engine end to end on a small replay set built here: discovery, paging, window, store, re-run."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crawler.db import connect
from crawler.db.models import Article, FetchFailure, RawPage, Run, RunSource
from crawler.db.store import raw_html
from replaykit import SOURCES, article_url, build_replay, read_manifest, requested, run_cli, write_manifest


@pytest.fixture
def replay(tmp_path):
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root)
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES.format(), encoding="utf-8")
    return root, sources, tmp_path / "requests.jsonl"


def test_crawl_stores_the_week_once_and_never_requests_outside(db_url, replay):
    root, sources, log = replay
    args = ["crawl", "--replay", str(root), "--replay-log", str(log), "--week", "2025-09-05", "--db", db_url,
            "--sources", str(sources)]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr + first.stdout
    database = connect(db_url)
    with database.session() as session:
        articles = session.scalars(select(Article).order_by(Article.url)).all()
        assert [a.url for a in articles] == sorted(article_url(d, n) for d, n in [("0901", 1), ("0830", 2), ("0905", 4)])
        by_number = {int(a.url[-9:-5]): a for a in articles}
        one = by_number[1]
        assert one.title == "智慧医疗惠及百姓第1篇"
        assert one.source_name == "人民网"
        assert "胡喆" in one.body and "责编" not in one.body
        assert one.published_at.isoformat() == "2025-09-01T01:12:00+00:00"  # 09:12 Shanghai
        assert one.date_precision == "minute"
        # scored and clustered in the same transaction (the test pages share their text: one cluster)
        assert one.relevance > 0 and "互联网医院" in " ".join(one.relevance_terms)
        assert {a.cluster_id for a in articles} == {by_number[2].id}  # the earliest (08-30) names the cluster
        assert raw_html(session.scalars(select(RawPage).where(RawPage.article_id == one.id)).one()).startswith(b"<!DOC")
        runs = session.scalars(select(Run)).all()
        assert [r.status for r in runs] == ["ok"]
        stats = session.scalars(select(RunSource)).one()
        assert (stats.stored, stats.fetched, stats.discovery_pages, stats.links_found) == (3, 3, 3, 7)
        assert stats.skipped_window == 4  # 0825, 0829, 0820, 0819: dated outside by their URL, never requested
    urls = requested(log)
    assert "http://health.people.com.cn/GB/408564/index4.html" not in urls  # page 3 held nothing fresh
    assert not {article_url("0825", 3), article_url("0829", 5), article_url("0820", 6)} & set(urls)

    # A second run over the unchanged pages fetches no article and stores nothing new.
    log.unlink()
    second = run_cli(*args)
    assert second.returncode == 0, second.stderr
    assert not [u for u in requested(log) if "/n1/" in u]
    with database.session() as session:
        assert session.scalar(select(func.count(Article.id))) == 3
        last = session.scalars(select(RunSource).order_by(RunSource.id.desc())).first()
        assert (last.stored, last.skipped_seen) == (0, 3)
    database.dispose()


def test_failures_are_recorded_with_reasons(tmp_path, replay):
    root, sources, log = replay
    manifest = read_manifest(root)
    for entry in manifest:
        if entry["url"] == article_url("0901", 1):
            entry["status"] = 403
        if entry["url"] == article_url("0830", 2):
            entry["status"] = 404
    write_manifest(root, manifest)
    db_url = f"sqlite:///{tmp_path / 'f.sqlite3'}"
    result = run_cli("crawl", "--replay", str(root), "--week", "2025-09-05", "--db", db_url, "--sources", str(sources))
    assert result.returncode == 0, result.stderr
    database = connect(db_url)
    with database.session() as session:
        failures = {f.url: (f.kind, f.http_status) for f in session.scalars(select(FetchFailure))}
        assert failures == {article_url("0901", 1): ("blocked", 403), article_url("0830", 2): ("error", 404)}
        assert session.scalars(select(Run)).one().status == "partial"
        assert session.scalar(select(func.count(Article.id))) == 1
    database.dispose()


def test_malformed_sources_file_exits_2_and_crawls_nothing(tmp_path):
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - name: broken\n    label: 人民网\n    hosts: [people.com.cn]\n"
                   "    article_patterns: ['(unclosed']\n    discovery:\n      - type: list\n        urls: []\n",
                   encoding="utf-8")
    result = run_cli("crawl", "--sources", str(bad), "--db", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert result.returncode == 2
    assert str(bad) in result.stderr and "site 'broken'" in result.stderr
    assert "article_patterns" in result.stderr and ":5:" in result.stderr
    assert not (tmp_path / "x.sqlite3").exists()


def test_a_sidebar_of_current_links_does_not_keep_paging_going(tmp_path):
    """Every list page repeats today's top stories in a sidebar: paging still stops at the first page whose own
    items are all older than the window."""
    root = tmp_path / "replay"
    root.mkdir()
    pages = {1: [("0901", 1, "09:12")], 2: [("0831", 2, "10:00")], 3: [("0820", 3, "08:00")],
             4: [("0819", 4, "08:00")], 5: [("0818", 5, "08:00")]}
    build_replay(root, pages)
    sidebar = f'<div class="sidebar"><a href="{article_url("0901", 1)}">头条</a></div>'
    for name in ("index.html", "index2.html", "index3.html", "index4.html", "index5.html"):
        page = root / name
        page.write_text(page.read_text(encoding="utf-8").replace("</body>", sidebar + "</body>"), encoding="utf-8")
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES.format(), encoding="utf-8")
    log = tmp_path / "log.jsonl"
    result = run_cli("crawl", "--replay", str(root), "--replay-log", str(log), "--week", "2025-09-05",
                     "--db", f"sqlite:///{tmp_path / 's.sqlite3'}", "--sources", str(sources))
    assert result.returncode == 0, result.stderr
    asked = requested(log)
    assert "http://health.people.com.cn/GB/408564/index3.html" in asked
    assert "http://health.people.com.cn/GB/408564/index4.html" not in asked


def test_a_host_that_keeps_blocking_is_backed_off(tmp_path):
    """Three 403s in a row from a host: after the requests already on their way to the downloader, its remaining
    articles are recorded as blocked and never requested."""
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root, {1: [("0901", n, f"09:{n:02d}") for n in range(1, 31)]})
    manifest = read_manifest(root)
    for entry in manifest:
        if "/n1/" in entry["url"]:
            entry["status"] = 403
    write_manifest(root, manifest)
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES.format(), encoding="utf-8")
    log, db_url = tmp_path / "log.jsonl", f"sqlite:///{tmp_path / 'b.sqlite3'}"
    result = run_cli("crawl", "--replay", str(root), "--replay-log", str(log), "--week", "2025-09-05", "--db", db_url,
                     "--sources", str(sources), "--set", "CONCURRENT_REQUESTS=2")
    assert result.returncode == 0, result.stderr
    sent = len([u for u in requested(log) if "/n1/" in u])
    assert 3 <= sent <= 10  # the blocks, plus what was already on its way to the downloader; never the other 20+
    database = connect(db_url)
    with database.session() as session:
        failures = session.scalars(select(FetchFailure)).all()
        assert len(failures) == 30 and {f.kind for f in failures} == {"blocked"}
        assert sum("not requested" in f.reason for f in failures) == 30 - sent
    database.dispose()


def test_every_request_of_a_kind_carries_the_same_callback(tmp_path):
    """Scrapy reads each callback's source (inspect.getsource + ast.parse, to warn about a generator returning a
    value) once per bound-method object, cached weakly: the spider hands out one object per callback for the run,
    not a fresh `self.parse_article` per request that made Scrapy read the source again and again."""
    from scrapy.utils.misc import is_generator_with_return_value
    from scrapy.utils.test import get_crawler

    from crawler.config import load_sources
    from spiders.source import spider_for

    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES.format(), encoding="utf-8")
    spider_class = spider_for(load_sources(sources).sources[0])
    spider = spider_class.from_crawler(get_crawler(spider_class), week="2025-09-05")
    _, requests = spider._follow_articles([article_url("0901", 1), article_url("0902", 2)],
                                          "http://health.people.com.cn/GB/408564/index.html")
    assert len(requests) == 2
    assert requests[0].callback is requests[1].callback is spider.parse_article
    assert requests[0].errback is requests[1].errback is spider.on_error
    assert spider.parse_article.__name__ == "parse_article" and spider.parse_article.__self__ is spider
    assert not is_generator_with_return_value(requests[0].callback)


def test_the_crawl_tunes_the_garbage_collector_and_puts_it_back():
    """During the crawl the objects alive at its start are frozen out of the collector's passes (garbage is
    collected first, not frozen) and young objects wait for YOUNG_THRESHOLD net allocations; afterwards the
    collector is as it was."""
    import gc
    import weakref

    from crawler.run.crawl import YOUNG_THRESHOLD, crawl_gc

    class Node:
        pass

    before = gc.get_threshold()
    cycle = Node()
    cycle.me = cycle
    dead = weakref.ref(cycle)
    del cycle
    with crawl_gc():
        assert dead() is None
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_the_workers_start_before_the_replay_server_reads_its_manifests(tmp_path, replay, monkeypatch):
    """The extraction workers (a second of imports each) start before anything else of the crawl that takes time:
    the replay server's manifests (a second per 10,000 pages) and Scrapy's start overlap them, and the first article
    does not wait for a worker. A crawl that fails at its start (here, Scrapy's) is recorded as failed."""
    from crawler.analyse import pool
    from crawler.config import load_sources
    from crawler.run import crawl as crawl_module
    from crawler.window import Window

    root, sources, _ = replay
    order: list[str] = []

    class Stop(Exception):
        pass

    class Server(crawl_module.ReplayServer):
        def start(self):
            order.append("replay server")
            return super().start()

    def refuse(settings):
        order.append("scrapy")
        raise Stop()

    monkeypatch.setattr(pool, "warm_up", lambda workers=None, nice=0: order.append(f"workers {workers} nice {nice}"))
    monkeypatch.setattr(crawl_module, "ReplayServer", Server)
    monkeypatch.setattr(crawl_module, "CrawlerProcess", refuse)
    database = connect(f"sqlite:///{tmp_path}/order.sqlite3")
    try:
        with pytest.raises(Stop):
            crawl_module.run_crawl(database, load_sources(sources), Window.resolve("2025-09-05", None, None, crawl=True),
                                   replay_dirs=[root], extra_settings={"HIWATCH_EXTRACT_WORKERS": "1"})
        assert order == ["workers 1 nice 19", "replay server", "scrapy"]
        with database.session() as session:
            assert session.scalars(select(Run.status)).all() == ["failed"]
    finally:
        database.dispose()


def test_a_replay_directory_without_a_manifest_fails_the_run_it_started(tmp_path, replay):
    """The run row is written before the replay server reads its manifests: when they cannot be read, the run is
    recorded as failed with the reason, not left `running` for the next crawl to call interrupted."""
    from crawler.config import load_sources
    from crawler.run.crawl import run_crawl
    from crawler.window import Window

    _, sources, _ = replay
    (tmp_path / "empty").mkdir()
    database = connect(f"sqlite:///{tmp_path}/nomanifest.sqlite3")
    try:
        with pytest.raises(FileNotFoundError):
            run_crawl(database, load_sources(sources), Window.resolve("2025-09-05", None, None, crawl=True),
                      replay_dirs=[tmp_path / "empty"])
        with database.session() as session:
            (status, message), = session.execute(select(Run.status, Run.message)).all()
        assert status == "failed" and "MANIFEST.jsonl" in message
    finally:
        database.dispose()
