"""Discovery health in the run ledger: per run and discovery page, the links found, those matching an article
pattern, those in the window and the new articles stored from it (table run_discovery, fed by the spider's
`discovery_read` signal and Scrapy's item_scraped through the RunLedger extension); `hiwatch status` names the
pages that gave no article link in their last runs."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crawler.db import connect
from crawler.db.models import RunDiscovery, RunSource
from replaykit import SOURCES, article_url, build_replay, read_manifest, run_cli, write_manifest

LIST = "http://health.people.com.cn/GB/408564/"
MOVED = "http://health.people.com.cn/GB/999999/index.html"  # not in the replay set: 404, a channel that moved
NAV = "http://health.people.com.cn/nav.html"  # a page with navigation links only: a template that changed


@pytest.fixture()
def replay(tmp_path):
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root)
    (root / "nav.html").write_text('<html><body><a href="http://www.people.com.cn/">首页</a>'
                                   '<a href="http://health.people.com.cn/GB/408565/index.html">行业热点</a>'
                                   '<a href="http://v.people.cn/n1/2025/0901/c1-1.html">视频</a></body></html>',
                                   encoding="utf-8")
    write_manifest(root, read_manifest(root) + [{"url": NAV, "file": "nav.html"}])
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES.format().replace("    rules:", f"      - type: list\n        urls: [{MOVED}, {NAV}]\n"
                                                         "    rules:"), encoding="utf-8")
    return root, sources


def crawl(root, sources, db_url):
    result = run_cli("crawl", "--replay", str(root), "--week", "2025-09-05", "--db", db_url, "--sources", str(sources))
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def test_each_discovery_page_has_its_figures(replay, db_url) -> None:
    root, sources = replay
    crawl(root, sources, db_url)
    with connect(db_url).session() as session:
        rows = {r.url: r for r in session.scalars(select(RunDiscovery))}
        totals = session.scalars(select(RunSource)).one()
    figures = {url: (r.fetches, r.links_found, r.links_matching, r.links_in_window, r.stored, r.http_status)
               for url, r in rows.items()}
    assert figures == {
        # page 1: 0901, 0830 in the window, 0825 before it, and the pager link
        f"{LIST}index.html": (1, 4, 3, 2, 2, None),
        f"{LIST}index2.html": (1, 3, 2, 1, 1, None),  # 0905 in, 0829 out: paging goes on
        f"{LIST}index3.html": (1, 3, 2, 0, 0, None),  # only older links: paging stops here
        MOVED: (1, 0, 0, 0, 0, 404),
        NAV: (1, 3, 0, 0, 0, None),  # the video link is no article (patterns), the others are navigation
    }
    assert rows[MOVED].error == "HTTP 404"
    assert sum(r.stored for r in rows.values()) == totals.stored == 3
    assert {r.source for r in rows.values()} == {"testsite"}


def test_status_names_the_pages_that_gave_no_article_link(replay, db_url) -> None:
    root, sources = replay
    crawl(root, sources, db_url)
    crawl(root, sources, db_url)  # the second night: everything already stored, the same two pages silent
    with connect(db_url).session() as session:
        second = session.scalars(select(RunDiscovery).where(RunDiscovery.run_id == 2,
                                                            RunDiscovery.url == f"{LIST}index.html")).one()
    assert (second.links_matching, second.stored) == (3, 0)  # known articles are not stored again
    status = run_cli("status", "--db", db_url, "--sources", str(sources), "--runs", "2")
    out = status.stdout
    assert status.returncode == 1, out
    assert "2 discovery page(s) gave no article link in their last runs:" in out
    assert f"testsite: {MOVED}  (the last 2 runs; HTTP 404)" in out
    assert f"testsite: {NAV}  (the last 2 runs; 3 links, none an article)" in out
    assert "408564/index.html" not in out


def test_a_page_silent_on_one_night_among_good_ones_waits(replay, db_url) -> None:
    """As with a silent source: one silent night after a good one is named with --runs 1, not with --runs 2."""
    root, sources = replay
    nav = root / "nav.html"
    quiet = nav.read_text(encoding="utf-8")
    nav.write_text(quiet.replace("</body>", f'<a href="{article_url("0901", 1)}">文章</a></body>'), encoding="utf-8")
    crawl(root, sources, db_url)
    nav.write_text(quiet, encoding="utf-8")
    crawl(root, sources, db_url)
    two = run_cli("status", "--db", db_url, "--sources", str(sources), "--runs", "2").stdout
    one = run_cli("status", "--db", db_url, "--sources", str(sources), "--runs", "1").stdout
    assert NAV not in two and f"testsite: {MOVED}  (the last 2 runs; HTTP 404)" in two
    assert f"testsite: {NAV}  (the last run; 3 links, none an article)" in one


def test_status_is_quiet_when_every_page_yields(tmp_path, db_url) -> None:
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root)
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES.format(), encoding="utf-8")
    crawl(root, sources, db_url)
    status = run_cli("status", "--db", db_url, "--sources", str(sources))
    assert status.returncode == 0, status.stdout
    assert "discovery page" not in status.stdout
