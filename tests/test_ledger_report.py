"""`hiwatch runs` and `status` tell what the ledger knows: counts of an interrupted run, how many failures are
not listed, and every time in one format, Asia/Shanghai (issue 14, item 10)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from crawler.cli import main as hiwatch
from crawler.db import connect
from crawler.db.models import Article, FetchFailure, Run, RunSource

STARTED = datetime(2025, 9, 5, 2, 0, 7, tzinfo=timezone.utc)  # 10:00:07 in Shanghai
FINISHED = datetime(2025, 9, 5, 2, 30, 0, tzinfo=timezone.utc)
ISO_LIKE = re.compile(r"\d{4}-\d\d-\d\dT\d\d|\d\d:\d\dZ|\+00:00")
SOURCES = """
sources:
  - name: people
    label: 人民网
    hosts: [people.com.cn]
    article_patterns: ['^https?://health\\.people\\.com\\.cn/n1/.*$']
    discovery:
      - type: list
        urls: [http://health.people.com.cn/GB/408564/index.html]
"""


@pytest.fixture
def ledger(tmp_path):
    """Run 1 ok with its counts; run 2 interrupted before its ledger was written, 3 articles carry its id and
    23 URLs failed."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    database = connect(url)
    with database.session() as session:
        ok = Run(kind="crawl", started_at=STARTED, finished_at=FINISHED, status="ok", sources=["people"], args={})
        cut = Run(kind="crawl", started_at=STARTED.replace(day=6), finished_at=None, status="interrupted",
                  sources=["people", "xinhua"], args={}, message="interrupted (the process was killed)")
        session.add_all([ok, cut])
        session.flush()
        session.add(RunSource(run_id=ok.id, source="people", discovery_pages=1, links_found=4, fetched=4, stored=4))
        for n, site in enumerate(["people", "people", "xinhua"]):
            session.add(Article(url=f"http://{site}.example/n1/{n}.html", site=site, source_name=site, title=f"t{n}",
                                body="b", fetched_at=STARTED, updated_at=STARTED, first_run_id=cut.id))
        for n in range(23):
            session.add(FetchFailure(run_id=cut.id, source="people", url=f"http://people.example/n1/f{n:02d}.html",
                                     kind="error", reason="HTTP 500", http_status=500, at=STARTED))
    database.dispose()
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    return url, sources


def cli(*args: str):
    result = CliRunner().invoke(hiwatch, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _table_rows(output: str) -> dict[str, list[str]]:
    """The first table's rows: source name → its cells."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0] and cells[0] != "source":
            rows.setdefault(cells[0], cells[1:])
    return rows


def test_an_interrupted_run_shows_the_articles_that_carry_its_id(ledger):
    url, _ = ledger
    data = json.loads(cli("runs", "--json", "--db", url).output)
    cut = data[0]
    assert cut["status"] == "interrupted" and cut["sources_from_articles"] is True
    assert cut["sources"] == {"people": {"stored": 2}, "xinhua": {"stored": 1}}
    assert data[1]["sources"]["people"]["stored"] == 4 and data[1]["sources_from_articles"] is False
    text = cli("runs", "--db", url, "--last", "1").output
    rows = _table_rows(text)  # columns: pages links fetched stored outside seen blocked errors
    assert rows == {"people": ["?", "?", "?", "2", "?", "?", "?", "?"],
                    "xinhua": ["?", "?", "?", "1", "?", "?", "?", "?"]}, text
    assert "counted from the articles" in text


def test_the_text_view_says_how_many_failures_it_does_not_list(ledger):
    url, _ = ledger
    output = cli("runs", "--db", url).output
    listed = re.findall(r"people\.example/n1/f\d\d\.html", output)
    assert len(listed) == 10
    assert "… and 13 more failures (hiwatch runs --failures all)" in output
    everything = cli("runs", "--db", url, "--failures", "all").output
    assert len(re.findall(r"people\.example/n1/f\d\d\.html", everything)) == 23 and "more failures" not in everything
    five = cli("runs", "--db", url, "--failures", "5").output
    assert len(re.findall(r"f\d\d\.html", five)) == 5 and "and 18 more failures" in five
    wrong = cli("runs", "--db", url, "--failures", "some")
    assert wrong.exit_code == 2 and "'some'" in wrong.output


def test_runs_and_status_show_one_time_format_in_shanghai(ledger):
    url, sources = ledger
    runs = cli("runs", "--db", url).output
    assert "run 1 ok  2025-09-05 10:00:07 +0800 → 2025-09-05 10:30:00 +0800" in runs, runs
    assert "run 2 interrupted  2025-09-06 10:00:07 +0800 → …" in runs, runs
    status = cli("status", "--db", url, "--sources", str(sources)).output
    assert "last run: #2 interrupted, started 2025-09-06 10:00:07 +0800" in status, status
    assert "last successful run finished: 2025-09-05 10:30:00 +0800" in status, status
    for output in (runs, status):
        assert not ISO_LIKE.search(output), output  # no UTC ISO text where a person reads


def test_the_last_save_of_a_run_waits_doubling_within_its_budget():
    """HIWATCH_CLOSE_SAVE_RETRY bounds how long a crawl's end waits for a database that went away."""
    from crawler.extensions import close_save_waits

    assert close_save_waits(23) == [1, 2, 4, 8, 8]
    assert close_save_waits(3) == [1, 2]
    assert close_save_waits(2.5) == [1, 1.5]
    assert close_save_waits(0) == []
    assert sum(close_save_waits(100)) == 100 and max(close_save_waits(100)) == 8
