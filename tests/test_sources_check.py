"""`hiwatch sources check`: the canary reports a healthy source and fails on a broken one."""
from __future__ import annotations

from sqlalchemy import func, select

from crawler.db import connect
from crawler.db.models import Article
from replaykit import SOURCES, build_replay, run_cli


def test_check_passes_a_healthy_source_and_fails_a_broken_one(tmp_path):
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root)
    broken = SOURCES.format().replace("name: testsite", "name: healthy") + SOURCES.format().split("sources:", 1)[1] \
        .replace("name: testsite", "name: broken").replace("/GB/408564/index.html", "/GB/000000/index.html")
    sources = tmp_path / "sources.yaml"
    sources.write_text(broken, encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'check.sqlite3'}"
    result = run_cli("sources", "check", "--replay", str(root), "--week", "2025-09-05", "--db", db_url,
                     "--sources", str(sources))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    healthy = next(i for i, line in enumerate(lines) if " healthy " in line)
    assert lines[healthy].startswith("ok") and "1 discovery pages, 3 article links" in lines[healthy]
    assert "sample http://health.people.com.cn/n1/2025/0901/" in lines[healthy + 1]
    assert "title='智慧医疗惠及百姓第1篇'" in lines[healthy + 2] and "editor" in lines[healthy + 2]
    broken_line = next(line for line in lines if " broken " in line)
    assert broken_line.startswith("FAIL") and "no article link found" in result.stdout
    database = connect(db_url)
    with database.session() as session:  # the canary stores nothing
        assert session.scalar(select(func.count(Article.id))) == 0
    database.dispose()

    only_healthy = run_cli("sources", "check", "--site", "healthy", "--replay", str(root), "--week", "2025-09-05",
                           "--db", db_url, "--sources", str(sources))
    assert only_healthy.returncode == 0, only_healthy.stdout + only_healthy.stderr
