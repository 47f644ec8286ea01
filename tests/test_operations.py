"""Nightly operation: one crawl at a time, conditional discovery requests, resume after SIGKILL, SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from crawler.db import connect
from crawler.db.models import Article, RawPage, Run
from crawler.db.lock import DatabaseLock, LockHeld
from replaykit import REPO, SOURCES, article_url, build_replay, read_manifest, requested, run_cli, write_manifest


@pytest.fixture
def sources_file(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES.format(), encoding="utf-8")
    return path


def test_a_second_crawl_is_refused_while_one_holds_the_lock(db_url, tmp_path, sources_file):
    database = connect(db_url)
    with DatabaseLock(database):
        result = run_cli("crawl", "--db", db_url, "--sources", str(sources_file), "--week", "2025-09-05")
        assert result.returncode == 4, result.stderr
        assert "another crawl is running" in result.stderr and f"pid {os.getpid()}" in result.stderr
        with pytest.raises(LockHeld):
            DatabaseLock(database).acquire()
    with DatabaseLock(database):  # released: can be taken again
        pass
    database.dispose()


def test_a_killed_holder_does_not_block_the_next_crawl(db_url):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from crawler.db import connect; from crawler.db.lock import DatabaseLock\n"
        f"lock = DatabaseLock(connect({db_url!r})); lock.acquire(); print('held', flush=True); time.sleep(120)")],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    database = connect(db_url)
    with pytest.raises(LockHeld):
        DatabaseLock(database).acquire()
    holder.kill()
    holder.wait()
    deadline = time.time() + 10
    while True:  # PostgreSQL notices the dead session almost at once; SQLite's file lock goes with the process
        try:
            with DatabaseLock(database):
                break
        except LockHeld:
            assert time.time() < deadline, "lock of a killed process still held"
            time.sleep(0.2)
    database.dispose()


def test_unchanged_list_pages_answer_304_and_missing_articles_are_still_fetched(tmp_path, sources_file):
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root, etag=True)
    manifest = read_manifest(root)
    broken = article_url("0905", 4)
    for entry in manifest:
        if entry["url"] == broken:
            entry["status"] = 500  # fails in the first run
    write_manifest(root, manifest)
    db_url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    log = tmp_path / "log.jsonl"
    args = ["crawl", "--replay", str(root), "--replay-log", str(log), "--week", "2025-09-05", "--db", db_url,
            "--sources", str(sources_file)]
    assert run_cli(*args).returncode == 0
    for entry in manifest:
        entry.pop("status", None)
    write_manifest(root, manifest)
    log.unlink()
    assert run_cli(*args).returncode == 0
    import json

    answers = [json.loads(line) for line in log.read_text().splitlines()]
    lists = [a for a in answers if "/GB/" in a["url"]]
    assert lists and all(a["status"] == 304 for a in lists)
    assert [a["url"] for a in answers if "/n1/" in a["url"]] == [broken]  # only the one not stored yet
    database = connect(db_url)
    with database.session() as session:
        assert session.scalar(select(func.count(Article.id))) == 3
    database.dispose()


def _many_pages(count: int) -> dict:
    """One list page holding `count` articles spread over the week."""
    days = ["0830", "0831", "0901", "0902", "0903", "0904", "0905"]
    return {1: [(days[i % 7], 100 + i, f"{8 + i % 10:02d}:{i % 60:02d}") for i in range(count)]}


def _crawl_process(db_url, root, sources_file, log=None) -> subprocess.Popen:
    args = [sys.executable, "-m", "crawler.cli", "crawl", "--replay", str(root), "--week", "2025-09-05",
            "--db", db_url, "--sources", str(sources_file), "--polite",
            "--set", "DOWNLOAD_DELAY=0.15", "--set", "DOWNLOAD_DELAY_JITTER=0", "--set", "AUTOTHROTTLE_ENABLED=False",
            "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    if log:
        args += ["--replay-log", str(log)]
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_articles(database, at_least: int, process: subprocess.Popen, timeout: float = 60) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with database.session() as session:
            count = session.scalar(select(func.count(Article.id))) or 0
        if count >= at_least:
            return count
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} articles stored in {timeout}s")


def test_sigkill_mid_crawl_then_resume_stores_everything_once(db_url, tmp_path, sources_file):
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root, _many_pages(30))
    database = connect(db_url)
    first = _crawl_process(db_url, root, sources_file)
    stored_before_kill = _wait_for_articles(database, 5, first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    with database.session() as session:
        assert session.scalar(select(func.count(Article.id))) < 30, "the crawl finished before the kill"
        assert session.scalars(select(Run)).one().status == "running"
        # every stored article is whole: its raw page was written in the same transaction
        assert session.scalar(select(func.count(Article.id)).where(~Article.pages.any())) == 0
    log = tmp_path / "resume.jsonl"
    second = _crawl_process(db_url, root, sources_file, log)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    with database.session() as session:
        urls = session.scalars(select(Article.url)).all()
        assert len(urls) == len(set(urls)) == 30
        assert session.scalar(select(func.count(RawPage.id))) == 30
        runs = session.scalars(select(Run).order_by(Run.id)).all()
        assert [r.status for r in runs] == ["interrupted", "ok"]
        assert "killed" in runs[0].message
    refetched = [u for u in requested(log) if "/n1/" in u]
    assert 0 < len(refetched) <= 30 - stored_before_kill  # what was stored before the kill is not fetched again
    database.dispose()


def test_sigterm_stops_gracefully_and_records_interrupted(tmp_path, sources_file):
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root, _many_pages(30))
    db_url = f"sqlite:///{tmp_path / 't.sqlite3'}"
    database = connect(db_url)
    process = _crawl_process(db_url, root, sources_file)
    _wait_for_articles(database, 3, process)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    with database.session() as session:
        run = session.scalars(select(Run)).one()
        assert run.status == "interrupted" and run.finished_at is not None
        stored = session.scalar(select(func.count(Article.id)))
        assert 3 <= stored < 30
    assert process.returncode != 0
    database.dispose()
