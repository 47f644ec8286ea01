"""`hiwatch crawl --record DIR` / `hiwatch sources check --record DIR`: every response received is written as a
replay set (crawler/run/record.py, a downloader middleware); replayed with --replay DIR it stores the same
articles and asks for nothing the set cannot answer."""
from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

from crawler.run.record import Recorder, decoded_body, file_name
from crawler.run.replay import load_manifest, replay_key
from replaykit import SOURCES, article_url, build_replay, read_manifest, run_cli, write_manifest

REPO = Path(__file__).resolve().parent.parent
SETS = sorted(p.parent for p in (REPO / "fixtures" / "replay").glob("*/MANIFEST.jsonl"))


def articles(db: Path) -> dict[str, tuple]:
    with sqlite3.connect(db) as conn:
        return {row[0]: row[1:] for row in conn.execute(
            "SELECT url, title, published_at, source_name, length(body) FROM articles")}


def requests(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_recorded_crawl_of_the_replay_set_replays_to_the_same_articles(tmp_path) -> None:
    record = tmp_path / "night"
    live = ["crawl", "--week", "2025-09-05", "--db", f"sqlite:///{tmp_path}/live.sqlite3", "--record", str(record),
            "--replay-log", str(tmp_path / "live.jsonl")]
    for folder in SETS:
        live += ["--replay", str(folder)]
    first = run_cli(*live)
    assert first.returncode in (0, 1), first.stderr[-3000:]
    assert f"recorded every response into {record}" in first.stderr
    answered = requests(tmp_path / "live.jsonl")
    index = load_manifest([record])
    # everything the "live" side answered is in the set, with its status (robots.txt and 404s included)
    assert {replay_key(r["url"]) for r in answered} == set(index)
    assert "health.people.com.cn/robots.txt" in index
    statuses = {replay_key(r["url"]): r["status"] for r in answered}
    assert all(index[key].status == status for key, status in statuses.items())

    second = run_cli("crawl", "--week", "2025-09-05", "--db", f"sqlite:///{tmp_path}/replayed.sqlite3",
                     "--replay", str(record), "--replay-log", str(tmp_path / "replayed.jsonl"))
    assert second.returncode == first.returncode, second.stderr[-3000:]
    stored = articles(tmp_path / "live.sqlite3")
    expected = {a["url"] for folder in SETS
                for a in json.loads((folder / "expected.json").read_text(encoding="utf-8"))["articles"]}
    assert set(stored) == expected  # the recording crawl is an ordinary crawl: it stores the week
    assert articles(tmp_path / "replayed.sqlite3") == stored
    asked = requests(tmp_path / "replayed.jsonl")
    assert [r["url"] for r in asked if replay_key(r["url"]) not in index] == []
    # the same pages asked for; a page behind a JavaScript challenge (nhc, js: true) was asked twice live (412, then
    # 200 once the script set its cookie) and is recorded once, as the browser finally saw it
    assert {replay_key(r["url"]) for r in asked} == {replay_key(r["url"]) for r in answered}
    challenged = {replay_key(r["url"]) for r in answered if r["status"] == 412}
    assert challenged and all(index[key].status == 200 for key in challenged)


def test_record_keeps_redirects_and_replays_them(tmp_path) -> None:
    """A moved article (302 → its new URL) is recorded as the 302 with its Location and as the page it leads to."""
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root)
    manifest = read_manifest(root)
    moved = article_url("0901", 1)
    target = moved.replace(".html", "-new.html")
    for entry in manifest:
        if entry["url"] == moved:
            entry["url"] = target
    manifest.append({"url": moved, "file": None, "status": 302, "headers": {"Location": target}})
    write_manifest(root, manifest)
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES.format(), encoding="utf-8")
    record = tmp_path / "rec"
    first = run_cli("crawl", "--replay", str(root), "--week", "2025-09-05", "--sources", str(sources),
                    "--db", f"sqlite:///{tmp_path}/a.sqlite3", "--record", str(record))
    assert first.returncode == 0, first.stderr
    index = load_manifest([record])
    assert index[replay_key(moved)].status == 302
    assert index[replay_key(moved)].headers["Location"] == target
    assert index[replay_key(target)].status == 200
    second = run_cli("crawl", "--replay", str(record), "--week", "2025-09-05", "--sources", str(sources),
                     "--db", f"sqlite:///{tmp_path}/b.sqlite3")
    assert second.returncode == 0, second.stderr
    assert articles(tmp_path / "b.sqlite3") == articles(tmp_path / "a.sqlite3")
    assert len(articles(tmp_path / "b.sqlite3")) == 3


def test_sources_check_records_too(tmp_path) -> None:
    record = tmp_path / "check"
    result = run_cli("sources", "check", "--site", "cnr", "--week", "2025-09-05", "--replay",
                     str(REPO / "fixtures" / "replay" / "cnr"), "--db", f"sqlite:///{tmp_path}/c.sqlite3",
                     "--record", str(record))
    assert "cnr" in result.stdout, result.stderr[-2000:]
    index = load_manifest([record])
    assert "health.cnr.cn/jkgdxw/index.html" in index and "health.cnr.cn/robots.txt" in index
    assert any(entry.url.endswith(".shtml") for entry in index.values())  # the sample article


def test_recorder_files_headers_and_encodings(tmp_path) -> None:
    recorder = Recorder(tmp_path)
    page = "<html>健康</html>".encode("utf-8")
    name = recorder.write("https://www.news.cn/health/", 200,
                          {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip",
                           "Content-Length": "99", "ETag": '"v1"'}, gzip.compress(page))
    assert name == "www.news.cn/health/index.html"
    assert (tmp_path / name).read_bytes() == page  # stored as a reader sees it
    other = recorder.write("https://www.news.cn/health/index.html", 200, {}, b"other")
    assert other != name and (tmp_path / name).read_bytes() == page  # two URLs never share a file
    query = recorder.write("http://x.cn/list.json?page=2&t=1", 200, {}, b"{}")
    assert query.startswith("x.cn/list.json__")
    lines = [json.loads(line) for line in (tmp_path / "MANIFEST.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines[0]["headers"] == {"Content-Type": "text/html; charset=utf-8", "ETag": '"v1"'}
    assert lines[0]["status"] == 200
    index = load_manifest([tmp_path])
    assert index[replay_key("http://www.news.cn/health/")].file.read_bytes() == page
    assert file_name("http://a.cn/../../etc/passwd") == "a.cn/etc/passwd"  # never outside the folder
    body, headers = decoded_body(b"not gzip", {"Content-Encoding": "gzip"})
    assert body == b"not gzip" and headers == {"Content-Encoding": "gzip"}


def test_recording_keeps_the_projects_downloader_middlewares(tmp_path) -> None:
    """--record adds its middleware to hiwatch's own (conditional fetches, backoff, browser status), never instead."""
    from crawler import settings as base
    from crawler.run.record import PRIORITY, record_settings

    middlewares = record_settings(tmp_path / "night")["DOWNLOADER_MIDDLEWARES"]
    assert {name: middlewares[name] for name in base.DOWNLOADER_MIDDLEWARES} == base.DOWNLOADER_MIDDLEWARES
    assert middlewares["crawler.run.record.RecordMiddleware"] == PRIORITY
    assert PRIORITY < base.DOWNLOADER_MIDDLEWARES["crawler.browser.BrowserStatusMiddleware"]
