"""Extraction quality gate: our averages on the shared real pages must not fall below config/eval_floor.json."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.extract.evaluate import bigram_f1, evaluate, format_report, snippet_f1

FLOOR = Path(__file__).resolve().parent.parent / "config" / "eval_floor.json"


def test_bigram_f1_basics():
    assert bigram_f1("健康中国", "健康中国") == 1.0
    assert bigram_f1("健康，中国。", "健康 中国") == 1.0  # whitespace and punctuation ignored
    assert bigram_f1("", "") == 1.0 and bigram_f1("健康", "") == 0.0
    assert 0 < bigram_f1("健康中国建设", "健康中国") < 1


def test_snippet_f1():
    assert snippet_f1("甲乙丙丁", ["甲乙"], ["戊己"]) == 1.0
    assert snippet_f1("甲乙丙丁戊己", ["甲乙"], ["戊己"]) == 0.0
    assert snippet_f1("丙丁", ["甲乙", "丙丁"], []) == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def report(realpages):
    return evaluate(realpages)


@pytest.mark.realpages
def test_averages_stay_above_the_floor(report):
    floor = json.loads(FLOOR.read_text(encoding="utf-8"))
    ours = report["overall"]["ours"]
    print(format_report(report))
    assert ours["pages"] >= 20
    assert ours["body_f1"] >= floor["body_f1"], f"body F1 {ours['body_f1']} < floor {floor['body_f1']}"
    assert ours["day_accuracy"] >= floor["day_accuracy"], \
        f"day accuracy {ours['day_accuracy']} < floor {floor['day_accuracy']}"


@pytest.mark.realpages
def test_we_beat_trafilatura_on_the_same_pages(report):
    ours, theirs = report["overall"]["ours"], report["overall"]["trafilatura"]
    assert ours["body_f1"] >= theirs["body_f1"]
    assert ours["day_accuracy"] >= theirs["day_accuracy"]


@pytest.mark.realpages
def test_report_lists_every_truth_page(report, manifest):
    with_truth = [e for e in manifest if e.get("ground_truth")]
    assert len(report["pages"]) == len(with_truth)
    text = format_report(report)
    assert "OVERALL" in text and "trafilatura"[:5] in text
