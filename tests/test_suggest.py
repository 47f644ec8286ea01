"""`hiwatch sources suggest`: patterns from link shapes, paging, rules, labels; a pasted draft crawls a real list."""
from __future__ import annotations

import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
import yaml

from crawler.config import SourcesFile
from crawler.suggest import paginate_for, rules_for, suggest
from crawler.urls import links_in, url_date
from tests.replaykit import requested, run_cli, write_manifest

MILPRO = "https://www.news.cn/milpro/"
XINHUA_ARTICLES = {  # the real milpro article pages in ../shared/realpages/xinhua
    "https://www.news.cn/milpro/20260915/0074c446a6e3424497388305302fd433/c.html": "cmw__article_globalhawk.html",
    "https://www.news.cn/milpro/20260915/05a19b0ae18740a3a00901d4ec9c5b02/c.html": "cmw__article_energy_targets.html",
    "https://www.news.cn/milpro/20260915/186f5c15e0a7468ba2fe64b9697ca8e6/c.html": "cmw__article_hormuz_transits.html",
    "https://www.news.cn/milpro/20260915/5f6458f153d94e58a2e0d22264e5252e/c.html": "cmw__article_mq1_downed.html",
}
# an article of the news.cn detail template, for the in-window links whose real page we do not hold
DETAIL = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}-新华网</title></head><body>
<div class="header"><div class="header-cont clearfix"><div class="header-time left">
<span class="year"><em> {y}</em></span><span class="day"><em> {m}</em>/<em>{d}</em></span><span class="time"> 10:{n:02d}:00</span>
</div><div class="source">来源：新华网</div><div class="head-line clearfix"><h1><span class="title">{title}</span></h1></div></div></div>
<div class="main clearfix"><div class="main-left left"><span id="detailContent">
<p>　　新华社北京电 第{n}篇报道：演训场上，无人机编队完成了多批次侦察任务，指挥信息系统实时汇总战场态势。</p>
<p>　　参演官兵表示，信息化条件下的联合训练正在走向常态化，保障链条也在持续优化。</p>
</span></div></div></body></html>"""

# (file, URL, an article link of the site as the test sees it, a channel/navigation link as the test sees it)
HOME_PAGES = [
    ("people/jcms__homepage_people.com.cn.html", "http://www.people.com.cn/",
     r"^http://(?!pic\.|tv\.|shipin\.|paper\.)[a-z0-9.]+people\.com\.cn/(?:\w+/)?n\d?/\d{4}/\d{4}/c\d+-\d+\.html$"),
    ("xinhua/jcms__homepage_news.cn.html", "http://www.news.cn/",
     r"^http://[a-z0-9.]*(?:news\.cn|xinhuanet\.com)/(?:(?!photo/|video/)\w+/)*\d{4}-\d{2}/\d{2}/c_\d+\.htm$"),
    ("cnr/jcms__homepage_cnr.cn.html", "http://www.cnr.cn/",
     r"^http://(?!pic\.|tv\.)[a-z0-9.]*cnr\.cn/(?:(?!pic/|picture/)\w+/)*\d{8}/t\d{8}_\d+\.s?html$"),
    ("gmw/jcms__homepage_gmw.cn.html", "http://www.gmw.cn/",
     r"^http://(?!en\.|photo\.|v\.|shipin\.|epaper\.)[a-z0-9.]*gmw\.cn/(?:\w+/)*\d{4}-\d{2}/\d{2}/content_\d+\.htm$"),
]
CHANNEL = re.compile(r"/$|/index\.s?html?$|/node_\d+(?:_\d+)?\.htm$|/GB/\d+/|\.(?:css|js|jpg|png|gif)$")


def _read(realpages: Path, name: str) -> bytes:
    return (realpages / name).read_bytes()


def _channel(url: str) -> str:
    return "/".join(url.split("/")[:4]) + "/index.html"


@pytest.mark.parametrize("url, want", [
    ("http://health.gmw.cn/2026-09/15/content_38254076.htm", date(2026, 9, 15)),
    ("https://www.news.cn/milpro/20260915/0074c446a6e3424497388305302fd433/c.html", date(2026, 9, 15)),
    ("http://cq.people.com.cn/n2/2025/0831/c365402-41334567.html", date(2025, 8, 31)),
    ("https://epaper.gmw.cn/gmrb/html/content_202605/21/content_10871.html", date(2026, 5, 21)),
    ("https://epaper.gmw.cn/gmrb/html/content/202605/21/content_10871.html", date(2026, 5, 21)),
    ("https://www.nhc.gov.cn/xcs/xwbd/202509/t20250903_123456.shtml", date(2025, 9, 3)),
    ("https://wjw.beijing.gov.cn/art/2025/9/3/art_1234_56789.html", date(2025, 9, 3)),
    ("https://www.gov.cn/zhengce/zhengceku/2025-09-03/content_7040000.htm", date(2025, 9, 3)),
    ("https://www.nda.gov.cn/sjj/zwgk/zcfb/0903/20250903201317566927066_pc.html", date(2025, 9, 3)),
])
def test_each_date_spelling_gives_a_pattern_that_dates_the_url(url: str, want: date) -> None:
    others = [url.replace("3", "4", 1) if "content_2026" not in url else url, url]
    s = suggest([("http://" + url.split("/")[2] + "/", "".join(
        f'<a href="{u}">x</a><a href="{_channel(u)}">c</a>' for u in others).encode())])
    assert s.patterns, s.left_out
    rx = [re.compile(p.pattern) for p in s.patterns]
    assert url_date(url, rx) == want
    assert not any(r.search(_channel(url)) for r in rx)


def test_month_only_paths_give_a_yyyymm_group_that_filters_nothing() -> None:
    urls = [f"http://www.nhc.gov.cn/yzygj/s7659/202509/{n:032x}.shtml" for n in (10, 11)]
    s = suggest([("http://www.nhc.gov.cn/yzygj/", "".join(f'<a href="{u}">x</a>' for u in urls).encode())])
    assert "(?P<yyyymm>\\d{6})/" in s.patterns[0].pattern, s.patterns
    assert url_date(urls[0], [re.compile(s.patterns[0].pattern)]) is None  # no day: every link is a candidate


def test_paginate_from_links_and_from_the_trs_pager_script() -> None:
    cnr = "http://health.cnr.cn/jkgdxw/index.html"
    assert paginate_for(cnr, "", ["http://health.cnr.cn/jkgdxw/index_1.html"]) == \
        {"template": "index_{n}.html", "first": 1, "max_pages": 5}
    people = "http://health.people.com.cn/GB/408564/index.html"
    assert paginate_for(people, "", ["http://health.people.com.cn/GB/408564/index3.html",
                                     "http://health.people.com.cn/GB/408564/index2.html"])["template"] == "index{n}.html"
    gmw = "https://health.gmw.cn/node_9583.htm"
    assert paginate_for(gmw, "", ["https://health.gmw.cn/node_9583_2.htm"])["template"] == "node_9583_{n}.htm"
    trs = 'createPageHTML(7, 0, "index", "shtml");'
    assert paginate_for("http://www.nhc.gov.cn/xcs/xwbd/list.shtml", trs, []) == \
        {"template": "index_{n}.shtml", "first": 1, "max_pages": 5}
    assert paginate_for(cnr, "", ["http://health.cnr.cn/other/index_1.html"]) is None


@pytest.mark.parametrize("file, url, article_rx", HOME_PAGES, ids=[h[0].split("/")[0] for h in HOME_PAGES])
def test_home_pages_yield_patterns_for_articles_not_channels(realpages: Path, file, url, article_rx) -> None:
    page = _read(realpages, file)
    links = links_in(page.decode("utf-8", "replace"), url)
    s = suggest([(url, page)])
    assert not s.problems, s.problems
    SourcesFile.model_validate({"sources": yaml.safe_load(s.yaml)})
    rx = [re.compile(p.pattern) for p in s.patterns]
    articles = [u for u in links if re.match(article_rx, u)]
    channels = [u for u in links if CHANNEL.search(u)]
    assert len(articles) > 50 and len(channels) > 10
    missed = [u for u in articles if not any(r.search(u) for r in rx)]
    assert len(missed) <= len(articles) * 0.05, missed[:10]
    wrong = [u for u in channels if any(r.search(u) for r in rx)]
    assert wrong == []
    never = [u for u in links if re.search(r"://(?:pic|photo|tv|v|en|shipin|epaper)\.|/(?:photo|video)/", u)]
    assert [u for u in never if any(r.search(u) for r in rx)] == []
    # what each pattern matched and left out is reported
    assert sum(len(p.matched) for p in s.patterns) >= len(articles) - len(missed)
    assert any(CHANNEL.search(u) for urls in s.left_out.values() for u in urls)


def test_label_is_guessed_and_marked(realpages: Path) -> None:
    s = suggest([("http://www.people.com.cn/", _read(realpages, "people/jcms__homepage_people.com.cn.html"))])
    assert s.record["label"] == "人民网"
    assert re.search(r"label: 人民网\s+# GUESSED", s.yaml)


def test_no_rules_when_the_built_in_template_extracts_the_article(realpages: Path) -> None:
    url, file = next(iter(XINHUA_ARTICLES.items()))
    rules, note = rules_for(_read(realpages, "xinhua/" + file), url)
    assert rules == {} and "built-in" in note


def test_rules_drafted_for_an_unknown_template() -> None:
    page = """<html><head><title>互联网医院监管平台上线_某某卫生健康委</title></head><body>
    <div class="nav"><a href="/">首页</a> <a href="/xw/">新闻</a></div>
    <div class="zwbox"><div class="zwtitle">互联网医院监管平台上线</div>
    <div class="zwinfo">发布时间：2025-09-03 来源：规划发展与信息化处</div>
    <div id="zoomcon"><p>为规范互联网诊疗服务，我委建设的互联网医院监管平台近日正式上线运行，全市医疗机构全部接入。</p>
    <p>平台对线上处方、问诊记录和电子病历进行实时监测，发现问题及时预警，保障患者安全。</p>
    <p>下一步，我委将推动监管数据与医保、药监部门共享，形成监管合力，提升数字健康治理能力。</p></div></div>
    <div class="footer">主办单位：某某卫生健康委员会</div></body></html>"""
    rules, note = rules_for(page.encode(), "http://wsjkw.example.gov.cn/xw/202509/t20250903_1.html")
    assert rules.get("body") == ["#zoomcon"], (rules, note)


def test_milpro_draft_pasted_unchanged_crawls_its_in_window_articles_only(realpages: Path, tmp_path: Path) -> None:
    """The news.cn 军事 listing: the drafted record, pasted into a sources file, crawls the week's articles of
    the list and nothing else (no photo pages, no links dated outside the week, no channel pages)."""
    listing = _read(realpages, "xinhua/cmw__listing.html")
    links = links_in(listing.decode("utf-8"), MILPRO)
    week = [f"202609{d}" for d in range(12, 19)]  # Saturday 2026-09-12 … Friday 2026-09-18
    want = sorted({u for u in links if re.match(r"^https?://www\.news\.cn/(?:(?!photo/)\w+/)*(\d{8})/[0-9a-f]{32}/c\.html$", u)
                   and re.search(r"/(\d{8})/", u).group(1) in week})
    assert len(want) > 20
    replay = tmp_path / "replay"
    replay.mkdir()
    (replay / "listing.html").write_bytes(listing)
    manifest = [{"url": MILPRO, "file": "listing.html"}]
    for n, url in enumerate(want):
        name = f"a{n}.html"
        if url in XINHUA_ARTICLES:
            (replay / name).write_bytes(_read(realpages, "xinhua/" + XINHUA_ARTICLES[url]))
        else:
            day = re.search(r"/(\d{8})/", url).group(1)
            (replay / name).write_text(DETAIL.format(title=f"联合演训信息化保障第{n}篇", y=day[:4], m=day[4:6],
                                                     d=day[6:], n=n), encoding="utf-8")
        manifest.append({"url": url, "file": name})
    # every other link of the list answers too, so a wrong pattern would store it
    for url in links:
        if url not in want and url.endswith("c.html"):
            manifest.append({"url": url, "file": "a0.html"})
    write_manifest(replay, manifest)

    drafted = run_cli("sources", "suggest", "--replay", str(replay), MILPRO, "--name", "milpro")
    assert drafted.returncode == 0, drafted.stderr
    assert "pattern 1 matches" in drafted.stderr and "left out" in drafted.stderr
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n" + drafted.stdout, encoding="utf-8")
    assert run_cli("sources", "validate", str(sources)).returncode == 0

    db, log = tmp_path / "c.sqlite3", tmp_path / "requests.jsonl"
    crawled = run_cli("crawl", "--replay", str(replay), "--week", "2026-09-18", "--db", f"sqlite:///{db}",
                      "--sources", str(sources), "--replay-log", str(log))
    assert crawled.returncode == 0, crawled.stdout + crawled.stderr
    asked = [u for u in requested(log) if not u.endswith("robots.txt")]
    assert sorted(set(asked) - {MILPRO}) == want
    with sqlite3.connect(db) as conn:
        stored = sorted(r[0] for r in conn.execute("SELECT url FROM articles"))
    assert stored == want


GOV_LISTS = {"bjwjw": "https://wjw.beijing.gov.cn/xwzx_20031/wnxw/", "nhsa": "https://www.nhsa.gov.cn/col/col14/index.html",
             "govcn": "https://www.gov.cn/zhengce/zuixin/home.htm",
             "natcm": "https://www.natcm.gov.cn/bangongshi/gongzuodongtai/",
             "nda": "https://www.nda.gov.cn/sjj/swdt/list/index_pc_1.html"}


@pytest.mark.parametrize("site", sorted(GOV_LISTS))
def test_government_list_pages_give_records_like_the_hand_written_ones(site: str) -> None:
    """On the government replay sets: the draft's patterns date the list's articles as the hand-written record
    does, its hosts are the office's own, its label is the office's 网站, and its rules extract the articles."""
    from crawler.config import load_sources
    from crawler.extract import extract
    from crawler.config import Rules
    from crawler.run.replay import ReplayServer
    from crawler.suggest import fetcher

    replay = Path(__file__).resolve().parent.parent / "fixtures" / "replay" / site
    expected = json.loads((replay / "expected.json").read_text(encoding="utf-8"))
    record = load_sources().get(site)
    with ReplayServer([replay]) as server:
        fetch = fetcher("hiwatch-test", server.url)
        listing = fetch(GOV_LISTS[site])
        s = suggest([(GOV_LISTS[site], listing)], name=site + "_draft", fetch=fetch)
        pages = {a["url"]: fetch(a["url"]) for a in expected["articles"]}
    assert not s.problems, s.problems
    assert s.record["label"] == expected["label"] or s.record["label"] == expected["label"].replace("网站", "") + "网站"
    assert all(record.owns(h) for h in s.record["hosts"])
    drafted = [re.compile(p.pattern) for p in s.patterns]
    links = [a["url"] for a in expected["articles"] if a["url"] in links_in(listing.decode("utf-8"), GOV_LISTS[site])]
    assert links
    for url in links:
        assert any(r.search(url) for r in drafted), url
        assert url_date(url, drafted) == url_date(url, record.compiled_patterns()), url
    rules = Rules(**s.record.get("rules", {}))
    for article in expected["articles"]:
        got = extract(pages[article["url"]], article["url"], rules)
        assert got.title == article["title"] and article["body_first"][:20] in got.body, (article["url"], got.title)
