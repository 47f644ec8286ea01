"""Coverage of the shipped sources.yaml: `each_host` templates, every province of the five sites, and the nightly
plan (`hiwatch crawl --plan` / `hiwatch sources plan`) pinned on the shipped config."""
from __future__ import annotations

import textwrap
from datetime import date
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.config import ListDiscovery, SourcesError, load_sources
from crawler.run.plan import build_plan, plan_totals
from crawler.window import Window

WEEK = Window.week(date(2025, 9, 5))

SITE = """\
sources:
  - name: demo
    label: 演示
    hosts: [example.cn]
    article_patterns: ['^https?://[a-z.]*example\\.cn/\\d{{8}}/a\\d+\\.html$']
    discovery:
{discovery}
"""


def write(tmp_path, discovery: str):
    path = tmp_path / "sources.yaml"
    path.write_text(SITE.format(discovery=textwrap.indent(textwrap.dedent(discovery), " " * 6)), encoding="utf-8")
    return path


def test_each_host_expands_templates_host_by_host(tmp_path) -> None:
    path = write(tmp_path, """\
        - type: list
          each_host: [a.example.cn, {host: b.example.cn, node: "7"}]
          urls: ['http://{host}/', 'http://{host}/news/']
        """)
    entry = load_sources(path).get("demo").discovery[0]
    assert entry.urls == ["http://a.example.cn/", "http://a.example.cn/news/", "http://b.example.cn/",
                          "http://b.example.cn/news/"]
    assert entry.url_templates == ["http://{host}/", "http://{host}/news/"]
    assert [h["host"] for h in entry.each_host] == ["a.example.cn", "b.example.cn"]


def test_each_host_extra_placeholders_and_anchors(tmp_path) -> None:
    path = write(tmp_path, """\
        - type: list
          each_host: &provinces [{host: zj.example.cn, node: "1"}, {host: gd.example.cn, node: "2"}]
          urls: ['http://{host}/GB/{node}/index.html']
          paginate: {template: "index{n}.html"}
        - type: rss
          each_host: *provinces
          urls: ['http://{host}/rss.xml']
        """)
    first, second = load_sources(path).get("demo").discovery
    assert first.urls == ["http://zj.example.cn/GB/1/index.html", "http://gd.example.cn/GB/2/index.html"]
    assert second.urls == ["http://zj.example.cn/rss.xml", "http://gd.example.cn/rss.xml"]


@pytest.mark.parametrize("discovery, message", [
    ("- type: list\n  each_host: [a.example.cn]\n  urls: ['http://{host}/{node}/']\n", "gives no ['node']"),
    ("- type: list\n  each_host: [a.example.cn]\n  urls: ['http://www.example.cn/']\n", "does not use {host}"),
    ("- type: list\n  each_host: [{node: '1'}]\n  urls: ['http://{host}/']\n", "mapping with `host`"),
    ("- type: list\n  each_host: [a.example.cn, a.example.cn]\n  urls: ['http://{host}/']\n", "comes out twice"),
])
def test_each_host_mistakes_name_the_site_and_line(tmp_path, discovery: str, message: str) -> None:
    path = write(tmp_path, discovery)
    with pytest.raises(SourcesError) as error:
        load_sources(path)
    text = str(error.value)
    assert message in text and "site 'demo'" in text and f"{path}:7" in text, text
    result = CliRunner().invoke(main, ["sources", "validate", str(path)])
    assert result.exit_code == 2 and message in result.output


def test_sources_list_shows_expanded_urls(tmp_path) -> None:
    path = write(tmp_path, """\
        - type: list
          each_host: [a.example.cn, b.example.cn]
          urls: ['http://{host}/']
        """)
    result = CliRunner().invoke(main, ["sources", "list", "--sources", str(path)])
    assert result.exit_code == 0, result.output
    assert "list: 2 URLs  (http://{host}/ × 2 hosts)" in result.output
    assert "      http://a.example.cn/\n      http://b.example.cn/" in result.output


# ---- the shipped config covers every province ----------------------------------------------------------------
def _list_urls(site: str) -> list[str]:
    return [u for e in load_sources().get(site).discovery if isinstance(e, ListDiscovery) for u in e.urls]


PROVINCES_PEOPLE = ("bj tj he sx nm ln jl hlj sh js zj ah fj jx sd henan hb hn gd gx hi cq sc gz yn xz sn gs qh nx "
                    "xj bt").split()
PROVINCES_XINHUA = ("bj tj he sx nmg ln jl hlj sh js zj ah fj jx sd ha hb hn gd gx hq cq sc gz yn tibet sn gs qh nx "
                    "xj bt").split()


def test_every_people_province_home_page() -> None:
    urls = _list_urls("people")
    assert len(PROVINCES_PEOPLE) == 32
    for code in PROVINCES_PEOPLE:
        assert f"http://{code}.people.com.cn/" in urls, code
    for central in ("http://health.people.com.cn/GB/408564/index.html", "http://scitech.people.com.cn/GB/1057/index.html",
                    "http://it.people.com.cn/"):
        assert central in urls


def test_every_xinhua_province_in_both_host_styles() -> None:
    urls = _list_urls("xinhua")
    for code in PROVINCES_XINHUA:
        assert f"https://{code}.news.cn/" in urls, code
    old = {urlsplit(u).hostname for u in urls if u.startswith("http://")}
    assert {"www.gs.xinhuanet.com", "www.sd.xinhuanet.com", "www.hq.xinhuanet.com", "bt.xinhuanet.com"} <= old
    assert len(old) == 31  # 西藏 has only tibet.news.cn
    pages = [e.from_page for e in load_sources().get("xinhua").discovery if getattr(e, "from_page", None)]
    assert pages == ["https://www.news.cn/health/", "https://www.news.cn/tech/"]


def test_cnr_provinces_by_subdomain_and_by_path() -> None:
    urls = _list_urls("cnr")
    assert "http://zj.cnr.cn/" in urls and "http://www.cnr.cn/hebei/" in urls
    provincial = [u for u in urls if u.count("/") == 3 and urlsplit(u).hostname not in ("health.cnr.cn",)
                  or u.startswith("http://www.cnr.cn/")]
    assert len(provincial) == 30


# ---- the plan -------------------------------------------------------------------------------------------------
def test_plan_of_the_shipped_config_is_pinned() -> None:
    plans = build_plan(load_sources(), WEEK, today=date(2025, 9, 6))
    totals = plan_totals(plans)
    assert {name: (s["hosts"], s["discovery_urls"]) for name, s in totals["per_site"].items()} == {
        "people": (36, 43), "xinhua": (64, 65), "gmw": (3, 5), "gmrb": (1, 7), "bjd": (1, 1), "bjrb": (1, 2),
        "bjwb": (1, 2), "cnr": (15, 35), "nhc": (1, 3), "ndcpa": (1, 2), "nhsa": (1, 2), "natcm": (1, 1),
        "nda": (1, 2), "govcn": (1, 1), "bjwjw": (1, 2)}
    assert (totals["hosts"], totals["discovery_urls"]) == (128, 173)  # media 121 / 160, government 7 / 13
    # the figures docs/sources.md states: 9.5 min a night (8 new articles per page), 32.6 min for a first night
    # on an empty database (30 per page), the 光明日报 e-paper's week of 版面 pages setting the pace
    assert round(totals["seconds"] / 60, 1) == 9.5
    assert round(plan_totals(plans, articles_per_page=30)["seconds"] / 60, 1) == 32.6
    assert max(totals["per_site"].items(), key=lambda kv: kv[1]["seconds"])[0] == "gmrb"


def test_crawl_plan_prints_without_fetching(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HIWATCH_DATABASE_URL", f"sqlite:///{tmp_path}/never.sqlite3")
    result = CliRunner().invoke(main, ["crawl", "--plan", "--week", "2025-09-05", "--site", "cnr"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "cnr (央广网): 35 discovery URLs on 15 hosts; per host at most 2 at a time, 1 s apart" in out
    assert "  www.cnr.cn (18)\n    list    http://www.cnr.cn/ah/" in out
    assert "list    http://health.cnr.cn/jkgdxw/index.html  [+ up to 4 follow-on pages (index_{n}.html)" in out
    assert "total: 1 sites, 15 hosts, 35 discovery URLs" in out and "estimated wall time:" in out
    assert not (tmp_path / "never.sqlite3").exists()  # no database, no network: nothing was run
    sources_plan = CliRunner().invoke(main, ["sources", "plan", "--week", "2025-09-05", "--site", "cnr"])
    assert sources_plan.output == out


def test_plan_epaper_and_json_entries() -> None:
    plans = {p.name: p for p in build_plan(load_sources(), WEEK, ["gmrb", "bjrb", "xinhua"], today=date(2025, 9, 6))}
    gmrb = [u.url for h in plans["gmrb"].hosts.values() for u in h.urls]
    assert gmrb[0] == "https://epaper.gmw.cn/gmrb/html/layout/202508/30/node_01.html" and len(gmrb) == 7
    bjrb = [u.url for h in plans["bjrb"].hosts.values() for u in h.urls]
    assert bjrb == ["https://bjrbdzb.bjd.com.cn/bjrb/period/202508/period.js",
                    "https://bjrbdzb.bjd.com.cn/bjrb/period/202509/period.js"]
    locators = [u for u in plans["xinhua"].hosts["www.news.cn"].urls]
    assert [u.what for u in locators] == ["locator", "locator"]


# ---- the operator's case: a channel added in YAML alone is crawled ----------------------------------------------
def test_a_province_added_in_yaml_alone_is_crawled(tmp_path) -> None:
    """One more host in people's each_host list (无锡, a city site) and its front page is crawled, its in-window
    article stored — no code change."""
    import json
    import sqlite3

    from replaykit import ARTICLE, REPO, requested, run_cli

    text = (REPO / "config" / "sources.yaml").read_text(encoding="utf-8")
    anchor = "          - bt.people.com.cn       # 新疆生产建设兵团\n"
    assert anchor in text
    sources = tmp_path / "sources.yaml"
    sources.write_text(text.replace(anchor, anchor + "          - wuxi.people.com.cn\n"), encoding="utf-8")
    extra = tmp_path / "wuxi"
    extra.mkdir()
    article = "http://wuxi.people.com.cn/n2/2025/0903/c382512-41340555.html"
    (extra / "front.html").write_text(f'<html><body><ul><li><a href="{article}">无锡智慧医院</a></li>'
                                      '<li><a href="http://tv.people.com.cn/n1/2025/0903/c1-2.html">视频</a></li>'
                                      '</ul></body></html>', encoding="utf-8")
    (extra / "a.html").write_text(ARTICLE.format(charset="utf-8", title="无锡智慧医院建设提速", day="2025-09-03",
                                                 when="2025年09月03日10:00", lead="记者报道："), encoding="utf-8")
    (extra / "MANIFEST.jsonl").write_text("\n".join(json.dumps(e) for e in [
        {"url": "http://wuxi.people.com.cn/", "file": "front.html"}, {"url": article, "file": "a.html"}]),
        encoding="utf-8")
    listed = run_cli("sources", "list", "--sources", str(sources))
    assert "list: 33 URLs  (http://{host}/ × 33 hosts)" in listed.stdout
    log, db = tmp_path / "log.jsonl", tmp_path / "db.sqlite3"
    result = run_cli("crawl", "--site", "people", "--week", "2025-09-05", "--sources", str(sources),
                     "--replay", str(REPO / "fixtures" / "replay" / "people"), "--replay", str(extra),
                     "--db", f"sqlite:///{db}", "--replay-log", str(log))
    assert result.returncode == 0, result.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        titles = dict(conn.execute("SELECT url, title FROM articles WHERE url LIKE 'http://wuxi.%'").fetchall())
    assert titles == {article: "无锡智慧医院建设提速"}
    assert "http://tv.people.com.cn/n1/2025/0903/c1-2.html" not in requested(log)
