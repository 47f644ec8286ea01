"""Golden tests (fundus style): expected fields per real article page and per project-written fixture page.

Expected values in tests/golden/<stem>.json were written by reading each page in ../shared/realpages;
fixtures/articles/<name>.json sit beside the pages we wrote ourselves (modelled on SITES.md templates).
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from crawler.config import load_sources
from crawler.extract.dates import SHANGHAI
from crawler.extract import extract
from crawler.extract.text import norm_space

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"
ARTICLES = REPO / "fixtures" / "articles"
SITES = {"people", "xinhua", "gmw", "cnr"}
NOW = datetime.fromisoformat("2026-11-20T00:00:00+00:00")


def _golden_files() -> list[Path]:
    return sorted(GOLDEN.glob("*.json"))


def _fixture_files() -> list[Path]:
    return sorted(ARTICLES.glob("*.json"))


def _rules_and_label(url: str):
    url = re.sub(r"^https?://web\.archive\.org/web/\d+[a-z_]*/", "", url or "")  # archived copies: the original site
    source = load_sources().source_for_url(url) if url else None
    return (source.rules if source else None), (source.label_for(url) if source else None), source


def check(got, expected: dict) -> list[str]:
    """Mismatches between an Extracted and an expected-JSON record (empty list: all good)."""
    problems = []

    def same(field, value):
        want = expected.get(field, "<absent>")
        if want == "<absent>":
            return
        have = norm_space(value) if isinstance(value, str) else value
        want_n = norm_space(want) if isinstance(want, str) else want
        if have != want_n:
            problems.append(f"{field}: got {have!r}, want {want_n!r}")

    same("title", got.title)
    same("subtitle", got.subtitle)
    same("author", got.author)
    same("editor", got.editor)
    same("original_source", got.original_source)
    want_date = expected.get("published_at")
    if want_date:
        if got.published_at is None:
            problems.append(f"published_at: got None, want {want_date}")
        elif expected.get("date_precision") == "day":
            day = got.published_at.astimezone(SHANGHAI).date().isoformat()
            if day != want_date[:10]:
                problems.append(f"published day (Shanghai): got {day}, want {want_date[:10]}")
        else:
            want = datetime.fromisoformat(want_date)
            if abs((got.published_at - want).total_seconds()) >= 60:
                problems.append(f"published_at: got {got.published_at.isoformat()}, want {want_date}")
            if got.published_at.utcoffset().total_seconds() != 0:
                problems.append("published_at is not UTC")
    if "date_precision" in expected and got.date_precision != expected["date_precision"]:
        # a finer precision than the one we read off the page is fine; a coarser one is a regression
        rank = {"day": 0, "minute": 1, "second": 2, None: -1}
        if rank[got.date_precision] < rank[expected["date_precision"]]:
            problems.append(f"date_precision: got {got.date_precision}, want {expected['date_precision']}")
    lines = got.body.split("\n") if got.body else [""]
    first, last = expected.get("body_first"), expected.get("body_last")
    if first and norm_space(first) not in lines[0]:
        problems.append(f"body first line {lines[0][:60]!r} lacks {first!r}")
    if last and norm_space(last) not in lines[-1]:
        problems.append(f"body last line {lines[-1][-60:]!r} lacks {last!r}")
    for bad in expected.get("body_must_not", []):
        if bad in got.body:
            problems.append(f"body contains {bad!r}")
    for good in expected.get("body_must", []):
        if good not in got.body:
            problems.append(f"body lacks {good!r}")
    for once in expected.get("body_once", []):  # a doubled (hidden / print / mobile) copy is not body twice
        if got.body.count(once) != 1:
            problems.append(f"body has {once!r} {got.body.count(once)} times, want once")
    if "doc_meta" in expected and got.doc_meta != expected["doc_meta"]:
        problems.append(f"doc_meta: got {got.doc_meta!r}, want {expected['doc_meta']!r}")
    if got.blocked:
        problems.append(f"marked blocked: {got.blocked}")
    return problems


# ---------------------------------------------------------------- real pages


@pytest.mark.realpages
def test_every_site_article_has_a_golden_file(manifest):
    wanted = {Path(e["file"]).name[:-5] for e in manifest if e["site"] in SITES and e["kind"] == "article"}
    have = {p.stem for p in _golden_files()}
    assert wanted - have == set(), f"article pages without a golden file: {sorted(wanted - have)}"


@pytest.mark.realpages
@pytest.mark.parametrize("golden", _golden_files(), ids=lambda p: p.stem)
def test_golden_real_page(golden, realpages, manifest):
    expected = json.loads(golden.read_text(encoding="utf-8"))
    entry = next(e for e in manifest if e["file"] == expected["page"])
    url = entry.get("url") or ""
    rules, _label, _ = _rules_and_label(url)
    got = extract((realpages / entry["file"]).read_bytes(), url, rules=rules, now=NOW)
    problems = check(got, expected)
    assert not problems, f"{golden.name}:\n  " + "\n  ".join(problems)


@pytest.mark.realpages
@pytest.mark.parametrize("golden", _golden_files(), ids=lambda p: p.stem)
def test_golden_source_label(golden, manifest):
    expected = json.loads(golden.read_text(encoding="utf-8"))
    entry = next(e for e in manifest if e["file"] == expected["page"])
    url = entry.get("url") or ""
    _rules, label, source = _rules_and_label(url)
    if expected.get("source_name") is None:
        assert not url or source is None or label
        return
    if source is None:
        pytest.skip(f"config/sources.yaml has no record for {url} yet")
    assert label == expected["source_name"]


# ---------------------------------------------------------------- project fixtures


def test_fixture_articles_exist():
    assert len(_fixture_files()) >= 8


@pytest.mark.parametrize("spec", _fixture_files(), ids=lambda p: p.stem)
def test_fixture_article(spec):
    expected = json.loads(spec.read_text(encoding="utf-8"))
    page = (ARTICLES / expected["page"]).read_bytes()
    rules, _label, _ = _rules_and_label(expected["url"])
    got = extract(page, expected["url"], rules=rules, content_type=expected.get("content_type"), now=NOW)
    problems = check(got, expected)
    if expected.get("encoding"):
        if got.encoding != expected["encoding"]:
            problems.append(f"encoding: got {got.encoding}, want {expected['encoding']}")
    assert not problems, f"{spec.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("spec", _fixture_files(), ids=lambda p: p.stem)
def test_fixture_article_without_site_rules(spec):
    """The generic path (no sources.yaml rules) still gets title, date and a clean body."""
    expected = json.loads(spec.read_text(encoding="utf-8"))
    page = (ARTICLES / expected["page"]).read_bytes()
    got = extract(page, expected["url"], rules=None, now=NOW)
    reduced = {k: expected[k] for k in ("title", "published_at", "date_precision", "body_first", "body_last",
                                         "body_must_not", "body_once", "doc_meta") if k in expected}
    problems = check(got, reduced)
    assert not problems, f"{spec.name} (generic path):\n  " + "\n  ".join(problems)
