"""`js: true` end to end: Chromium (Debian's, through scrapy-playwright) crawls a list built by script from JSON and
a site behind a script cookie challenge; without `js: true` the same pages give nothing and the ledger says why;
a crawl without `js: true` sources starts no browser."""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
import yaml

from tests.replaykit import REPO, requested, run_cli, write_manifest



@pytest.fixture(autouse=True)
def _chromium() -> None:
    """Debian's Chromium is needed; CI installs it (.ci/apt-packages), so there its absence fails the run."""
    if not Path("/usr/bin/chromium").exists():
        message = "/usr/bin/chromium is absent: apt-get install -y chromium (never `playwright install`)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


HOST = "http://wsjkw.demo.gov.cn"
LIST = f"{HOST}/xwdt/"
# the list page holds no article link: its script fetches list.json and writes the links into the page
LIST_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>工作动态_演示市卫生健康委员会</title></head>
<body><div class="list"><h2>工作动态</h2><ul id="items"><li class="loading">加载中…</li></ul></div>
<script>
fetch("list.json").then(function (r) { return r.json(); }).then(function (data) {
  var ul = document.getElementById("items");
  ul.innerHTML = data.items.map(function (item) {
    return "<li><a target=\\"_blank\\" href=\\"" + item.path + "\\">" + item.title + "</a><span>" + item.day + "</span></li>";
  }).join("");
});
</script></body></html>"""
ARTICLE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_演示市卫生健康委员会</title></head><body>
<div class="tit">{title}</div><div class="source"><span>发布时间：{day}</span><span>来源：演示市卫生健康委员会</span></div>
<div class="con" id="xw_box"><p>{title}。为推进全民健康信息化，本市依托全民健康信息平台推动电子病历和检查检验结果共享。</p>
<p>市卫生健康委表示，将加强数据安全保护，让群众就医少跑腿、数据多跑路。</p></div></body></html>"""
ITEMS = [("/xwdt/202509/t20250902_501.html", "本市互联网医院监管平台上线运行", "2025-09-02"),
         ("/xwdt/202509/t20250904_502.html", "社区卫生服务中心接入检查结果互认", "2025-09-04"),
         ("/xwdt/202508/t20250820_499.html", "八月的一条旧动态", "2025-08-20")]
RECORD = {"name": "jsdemo", "label": "演示市卫生健康委员会网站", "hosts": ["demo.gov.cn"],
          "article_patterns": [r"^https?://wsjkw\.demo\.gov\.cn/xwdt/\d{6}/t(?P<date>\d{8})_\d+\.html$"],
          "discovery": [{"type": "list", "urls": [LIST]}],
          "rules": {"title": [".tit"], "body": ["#xw_box"], "date": [".source span:first-child"]}}
WEEK = "2025-09-05"


def _js_list_set(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "list.html").write_text(LIST_PAGE, encoding="utf-8")
    data = {"items": [{"path": p, "title": t, "day": d} for p, t, d in ITEMS]}
    (root / "list.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    manifest = [{"url": LIST, "file": "list.html"}, {"url": f"{HOST}/xwdt/list.json", "file": "list.json"}]
    for n, (path, title, day) in enumerate(ITEMS):
        (root / f"a{n}.html").write_text(ARTICLE.format(title=title, day=day), encoding="utf-8")
        manifest.append({"url": HOST + path, "file": f"a{n}.html"})
    write_manifest(root, manifest)
    return root


def _sources(path: Path, records: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"sources": records}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _nhc(js: bool) -> dict:
    config = yaml.safe_load((REPO / "config" / "sources.yaml").read_text(encoding="utf-8"))
    record = next(r for r in config["sources"] if r["name"] == "nhc")
    assert record["js"] is True  # the real record: nhc answers scripts with a 412 challenge
    return {**record, "js": js}


def _chromium_spy(tmp_path: Path) -> tuple[Path, str]:
    """A chromium that notes each launch in a file, then runs Debian's; and the --set that makes Playwright use it."""
    log = tmp_path / "launches.txt"
    spy = tmp_path / "chromium"
    spy.write_text(f'#!/bin/sh\necho "$$" >> "{log}"\nexec /usr/bin/chromium "$@"\n', encoding="utf-8")
    spy.chmod(0o755)
    options = {"executable_path": str(spy), "headless": True,
               "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]}
    return log, "PLAYWRIGHT_LAUNCH_OPTIONS=" + json.dumps(options)


def _crawl(tmp_path: Path, name: str, replay: Path, sources: Path, *extra: str):
    db, log = tmp_path / f"{name}.sqlite3", tmp_path / f"{name}.jsonl"
    process = run_cli("crawl", "--replay", str(replay), "--week", WEEK, "--db", f"sqlite:///{db}",
                      "--sources", str(sources), "--replay-log", str(log), *extra)
    with sqlite3.connect(db) as conn:
        stored = sorted(r[0] for r in conn.execute("SELECT url FROM articles"))
        failures = conn.execute("SELECT url, kind, reason FROM fetch_failures").fetchall()
    return process, stored, failures, requested(log)


def test_a_list_built_by_script_from_json_is_crawled_in_chromium(tmp_path: Path) -> None:
    replay = _js_list_set(tmp_path / "replay")
    spy_log, launch = _chromium_spy(tmp_path)
    process, stored, failures, asked = _crawl(tmp_path, "js", replay, _sources(tmp_path / "js.yaml", [{**RECORD, "js": True}]),
                                              "--set", launch)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert stored == [HOST + p for p, _, d in ITEMS if d >= "2025-08-30"]
    assert f"{HOST}/xwdt/list.json" in asked  # the page's own script fetched its list
    assert HOST + ITEMS[2][0] not in asked  # dated before the week: found in the built list, never requested
    assert failures == []
    assert len(spy_log.read_text().split()) == 1  # one browser for the crawl


def test_the_same_list_without_js_finds_nothing_and_the_ledger_says_why(tmp_path: Path) -> None:
    replay = _js_list_set(tmp_path / "replay")
    spy_log, launch = _chromium_spy(tmp_path)
    process, stored, failures, asked = _crawl(tmp_path, "plain", replay,
                                              _sources(tmp_path / "plain.yaml", [{**RECORD, "js": False}]), "--set", launch)
    assert process.returncode == 1  # a source that found no article link
    assert stored == [] and f"{HOST}/xwdt/list.json" not in asked
    assert [(url, kind) for url, kind, _ in failures] == [(LIST, "empty")]
    reason = failures[0][2]
    assert "no article link" in reason and "script" in reason and "js: true" in reason
    assert "no article link found by: jsdemo" in process.stdout + process.stderr
    assert not spy_log.exists()  # no js: true source, no browser


def test_a_script_cookie_challenge_is_passed_by_chromium_and_named_without_it(tmp_path: Path) -> None:
    """The nhc replay set answers every page with a 412 challenge until the script's cookie is set."""
    replay = REPO / "fixtures" / "replay" / "nhc"
    expected = sorted(a["url"] for a in json.loads((replay / "expected.json").read_text(encoding="utf-8"))["articles"])
    process, stored, failures, asked = _crawl(tmp_path, "js", replay, _sources(tmp_path / "js.yaml", [_nhc(True)]))
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert stored == expected and failures == []
    log = [json.loads(line) for line in (tmp_path / "js.jsonl").read_text(encoding="utf-8").splitlines()]
    challenged = [e["url"] for e in log if e["status"] == 412]
    assert challenged and all(url.endswith("list.shtml") for url in challenged)  # the first pages met the challenge
    for url in challenged:  # … and were reloaded with the cookie the script set
        assert any(e["url"] == url and e["status"] == 200 for e in log), url

    process, stored, failures, _ = _crawl(tmp_path, "plain", replay, _sources(tmp_path / "plain.yaml", [_nhc(False)]))
    assert process.returncode == 1 and stored == []
    assert {kind for _, kind, _ in failures} == {"blocked"} and len(failures) == 3
    assert all("HTTP 412" in reason and "JavaScript challenge" in reason and "js: true" in reason
               for _, _, reason in failures)


def test_a_crawl_without_js_sources_starts_no_browser(tmp_path: Path) -> None:
    """Two replay sets of plain sites: no Chromium launch, no scrapy-playwright handler."""
    spy_log, launch = _chromium_spy(tmp_path)
    db = tmp_path / "plain.sqlite3"
    process = run_cli("crawl", "--replay", str(REPO / "fixtures" / "replay" / "natcm"), "--replay",
                      str(REPO / "fixtures" / "replay" / "bjwjw"), "--week", WEEK, "--db", f"sqlite:///{db}",
                      "--site", "natcm", "--site", "bjwjw", "--set", launch, "-v")
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 4
    assert not spy_log.exists()
    assert "scrapy-playwright" not in process.stderr and "Starting download handler" not in process.stderr


def test_chromium_is_debians() -> None:
    """The browser is Debian's package (listed in .ci/apt-packages), never a `playwright install` download."""
    assert "chromium" in (REPO / ".ci" / "apt-packages").read_text().split()
    from crawler import settings

    assert settings.PLAYWRIGHT_LAUNCH_OPTIONS["executable_path"] == "/usr/bin/chromium"


def test_without_a_browser_js_sources_are_skipped_with_a_reason(tmp_path: Path) -> None:
    """A machine without Chromium (a user's laptop running `./run.sh demo`): the js: true source is left out with a
    reason, the other sites are crawled and the run is not failed for it."""
    options = {"executable_path": str(tmp_path / "no-chromium-here"), "headless": True}
    db = tmp_path / "nobrowser.sqlite3"
    process = run_cli("crawl", "--replay", str(REPO / "fixtures" / "replay" / "nhc"), "--replay",
                      str(REPO / "fixtures" / "replay" / "natcm"), "--week", WEEK, "--db", f"sqlite:///{db}",
                      "--site", "nhc", "--site", "natcm", "--set", "PLAYWRIGHT_LAUNCH_OPTIONS=" + json.dumps(options))
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert "nhc need a browser (js: true)" in process.stderr and "apt-get install chromium" in process.stderr
    with sqlite3.connect(db) as conn:
        sites = {row[0] for row in conn.execute("SELECT site FROM articles")}
        failures = conn.execute("SELECT count(*) FROM fetch_failures").fetchone()[0]
    assert sites == {"natcm"} and failures == 0
