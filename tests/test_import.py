"""`hiwatch articles import FILE.jsonl`: validated line by line, nothing written on error, upsert by URL."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from crawler.db.models import Article
from crawler.digest.cli import articles
from crawler.db.importer import ImportError_, parse_lines, parse_published

GOOD = {"url": "http://cq.people.com.cn/n2/2025/0831/c367698-41338013.html", "title": "医检互认数字化改革惠及百姓",
        "source_name": "人民网", "published_at": "2025-08-31",
        "body": "重庆推进医检互认，患者检查结果在医疗机构间共享。\n\n医院信息化让就医更便捷。"}


def _write(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    return path


def test_published_at_forms():
    assert parse_published("2025-08-31") == (datetime(2025, 8, 30, 16, tzinfo=timezone.utc), "day")
    assert parse_published("2025-08-31T09:30")[0] == datetime(2025, 8, 31, 1, 30, tzinfo=timezone.utc)
    assert parse_published("2025-08-31T09:30:00Z")[0] == datetime(2025, 8, 31, 9, 30, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        parse_published("31/08/2025")


def test_every_bad_line_is_reported_with_its_number():
    lines = [json.dumps(GOOD, ensure_ascii=False), "{not json", json.dumps({**GOOD, "url": "ftp://x", "title": ""}),
             json.dumps({**GOOD, "url": "http://b.example/1", "published_at": "yesterday", "colour": 1}), "[1]",
             json.dumps({**GOOD, "url": GOOD["url"] + "#top"})]
    with pytest.raises(ImportError_) as info:
        parse_lines(lines, "in.jsonl")
    text = str(info.value)
    assert "in.jsonl:2: not valid JSON" in text
    assert "in.jsonl:3: missing title" in text and "in.jsonl:3: url 'ftp://x' is not an http(s) URL" in text
    assert "in.jsonl:4: unknown field(s) colour" in text and "in.jsonl:4: published_at 'yesterday'" in text
    assert "in.jsonl:5: expected a JSON object" in text
    assert "in.jsonl:6: url repeats line 1" in text
    assert "in.jsonl:1" not in text


def test_import_upserts_by_url_and_scores(db, db_url, tmp_path):
    runner = CliRunner()
    file = _write(tmp_path / "a.jsonl", [GOOD, {**GOOD, "url": "https://www.news.cn/x.html", "title": "另一篇",
                                               "source_name": "新华网", "body": "完全无关的体育新闻。"}])
    result = runner.invoke(articles, ["import", str(file), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "2 new, 0 updated, 0 unchanged" in result.output
    result = runner.invoke(articles, ["import", str(_write(tmp_path / "b.jsonl", [
        {**GOOD, "title": "医检互认数字化改革惠及百姓（更新）"}, GOOD | {"url": "https://www.news.cn/x.html",
                                                           "title": "另一篇", "source_name": "新华网",
                                                           "body": "完全无关的体育新闻。"}])), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "0 new, 1 updated, 1 unchanged" in result.output
    with db.session() as session:
        rows = session.query(Article).order_by(Article.id).all()
        assert [r.title for r in rows] == ["医检互认数字化改革惠及百姓（更新）", "另一篇"]
        first = rows[0]
        assert first.origin == "import" and first.date_source == "import" and first.date_precision == "day"
        assert first.body == "重庆推进医检互认，患者检查结果在医疗机构间共享。\n医院信息化让就医更便捷。"
        assert first.site == "people"  # from config/sources.yaml
        assert first.relevance is not None and "医检互认" in first.relevance_terms
        assert first.minhash and first.cluster_id == first.id


def test_a_bad_file_imports_nothing(db, db_url, tmp_path):
    file = _write(tmp_path / "bad.jsonl", [GOOD, {"url": "http://b.example/1"}])
    result = CliRunner().invoke(articles, ["import", str(file), "--db", db_url])
    assert result.exit_code == 1
    assert "nothing imported" in result.output and "bad.jsonl:2: missing title" in result.output
    with db.session() as session:
        assert session.query(Article).count() == 0
