"""Build small replay sets of people.com.cn-style pages for engine tests, and run the CLI in a subprocess."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


DEFAULT_PAGES = {
    1: [("0901", 1, "09:12"), ("0830", 2, "10:00"), ("0825", 3, "08:00")],  # 0825: before the window
    2: [("0905", 4, "18:30"), ("0829", 5, "07:45")],
    3: [("0820", 6, "08:00"), ("0819", 7, "08:00")],
    4: [("0815", 8, "08:00")],
}


def build_replay(root: Path, pages: dict | None = None, etag: bool = False) -> dict:
    """List pages of (MMDD, number, HH:MM) items with their articles; by default pages 1 and 2 hold week
    articles, 3 only older ones, and page 4 exists but must not be fetched. `etag` gives list pages an ETag."""
    pages = pages or DEFAULT_PAGES
    manifest = []
    for page, items in pages.items():
        name = "index.html" if page == 1 else f"index{page}.html"
        links = "".join(f'<li><a href="{article_url(d, n)}" target="_blank">文章{n}</a></li>' for d, n, _ in items)
        (root / name).write_text(LIST.format(items=links, next=page + 1 if page > 1 else 2), encoding="utf-8")
        entry = {"url": f"http://health.people.com.cn/GB/408564/{name}", "file": name}
        if etag:
            entry["headers"] = {"ETag": f'"list-{page}"', "Content-Type": "text/html; charset=utf-8"}
        manifest.append(entry)
        for day, number, clock in items:
            charset, encoding = ("gb2312", "gb18030") if number % 2 else ("utf-8", "utf-8")
            html = ARTICLE.format(charset=charset, title=f"智慧医疗惠及百姓第{number}篇", day=f"2025-{day[:2]}-{day[2:]}",
                                  when=f"2025年{day[:2]}月{day[2:]}日{clock}", lead="记者胡喆报道：")
            file = f"a{number}.html"
            (root / file).write_bytes(html.encode(encoding))
            manifest.append({"url": article_url(day, number), "file": file})
    write_manifest(root, manifest)
    return pages


def read_manifest(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "MANIFEST.jsonl").read_text(encoding="utf-8").splitlines()]


def write_manifest(root: Path, manifest: list[dict]) -> None:
    (root / "MANIFEST.jsonl").write_text("\n".join(json.dumps(m) for m in manifest), encoding="utf-8")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=240)


def requested(log: Path) -> list[str]:
    """URLs the replay server answered, in order (from its --replay-log)."""
    return [json.loads(line)["url"] for line in log.read_text(encoding="utf-8").splitlines()]
