"""The crawl engine end to end on a small replay set built here: discovery, paging, window, store, re-run."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.db import connect
from crawler.db.models import Article, FetchFailure, RawPage, Run, RunSource
from crawler.store import raw_html

REPO = Path(__file__).resolve().parent.parent

ARTICLE = """<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}--健康·生活--人民网</title>
<meta name="publishdate" content="{day}"></head><body>
<div class="rm_txt cf"><div class="col col-1 fl"><h1>{title}</h1>
<div class="channel cf"><div class="col-1-1 fl">{when} | 来源：<a href="http://www.people.com.cn/">人民网－人民日报</a></div></div>
<div class="rm_txt_con cf" id="rm_txt_zw">
<p>　　{lead}互联网医院和电子病历共享让患者少跑腿，医检互认平台已接入全市医疗机构。</p>
<p>　　记者在现场看到，医生调阅外院影像只需几秒钟，数字化改革提高了诊疗效率，也减轻了群众负担。</p>
<p>　　下一步，当地将继续推进全民健康信息平台建设，让数据多跑路、群众少跑腿。</p>
<div class="edit cf">(责编：张三、李四)</div></div></div></div></body></html>"""

LIST = """<html><head><meta charset="utf-8"></head><body><div class="p2j_list"><ul>{items}</ul></div>
<div class="page_n"><a href="index{next}.html">下一页</a></div></body></html>"""

SOURCES = """
sources:
  - name: testsite
    label: 人民网
    hosts: [people.com.cn]
    article_patterns:
      - '^https?://[a-z0-9.-]*people\\.com\\.cn/n[12]/(?P<year>\\d{{4}})/(?P<month>\\d{{2}})(?P<day>\\d{{2}})/c\\d+-\\d+\\.html$'
    discovery:
      - type: list
        urls: [http://health.people.com.cn/GB/408564/index.html]
        paginate: {{template: "index{{n}}.html", first: 2, max_pages: 10}}
    rules:
      title: ['.rm_txt h1']
      body: ['#rm_txt_zw']
      date: ['.channel .col-1-1']
      editor: ['.edit']
      noise: ['.edit']
"""


def article_url(day: str, number: int) -> str:
    return f"http://health.people.com.cn/n1/2025/{day}/c14739-4100{number:04d}.html"


def build_replay(root: Path) -> dict:
    """Three list pages: 1 and 2 hold week articles, 3 only older ones; page 4 exists but must not be fetched."""
    pages = {
        1: [("0901", 1, "09:12"), ("0830", 2, "10:00"), ("0825", 3, "08:00")],  # 0825: before the window
        2: [("0905", 4, "18:30"), ("0829", 5, "07:45")],
        3: [("0820", 6, "08:00"), ("0819", 7, "08:00")],
        4: [("0815", 8, "08:00")],
    }
    manifest = []
    for page, items in pages.items():
        name = "index.html" if page == 1 else f"index{page}.html"
        links = "".join(f'<li><a href="{article_url(d, n)}" target="_blank">文章{n}</a></li>' for d, n, _ in items)
        (root / name).write_text(LIST.format(items=links, next=page + 1 if page > 1 else 2), encoding="utf-8")
        manifest.append({"url": f"http://health.people.com.cn/GB/408564/{name}", "file": name})
        for day, number, clock in items:
            charset, encoding = ("gb2312", "gb18030") if number % 2 else ("utf-8", "utf-8")
            html = ARTICLE.format(charset=charset, title=f"智慧医疗惠及百姓第{number}篇", day=f"2025-{day[:2]}-{day[2:]}",
                                  when=f"2025年{day[:2]}月{day[2:]}日{clock}", lead="记者胡喆报道：")
            file = f"a{number}.html"
            (root / file).write_bytes(html.encode(encoding))
            manifest.append({"url": article_url(day, number), "file": file})
    (root / "MANIFEST.jsonl").write_text("\n".join(json.dumps(m) for m in manifest), encoding="utf-8")
    return pages


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=240)


@pytest.fixture
def replay(tmp_path):
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root)
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES.format(), encoding="utf-8")
    return root, sources, tmp_path / "requests.jsonl"


def requested(log: Path) -> list[str]:
    return [json.loads(line)["url"] for line in log.read_text(encoding="utf-8").splitlines()]


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
    manifest = [json.loads(line) for line in (root / "MANIFEST.jsonl").read_text().splitlines()]
    for entry in manifest:
        if entry["url"] == article_url("0901", 1):
            entry["status"] = 403
        if entry["url"] == article_url("0830", 2):
            entry["status"] = 404
    (root / "MANIFEST.jsonl").write_text("\n".join(json.dumps(m) for m in manifest))
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
