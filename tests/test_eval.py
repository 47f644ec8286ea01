"""Extraction quality gate: our averages on the shared real pages must not fall below config/eval_floor.json."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.extract.evaluate import bigram_f1, evaluate, format_report, snippet_f1
from crawler.extract.kind import KINDS, page_kind

REPO = Path(__file__).resolve().parent.parent
FLOOR = REPO / "config" / "eval_floor.json"
EVALPAGES = REPO / "fixtures" / "evalpages"


def _below_floor(block: dict, floor: dict, label: str) -> list[str]:
    """The means of one report block (overall or one kind) that fall below their floors."""
    ours = block["ours"]
    out = []
    for key in ("body_f1", "day_accuracy"):
        if key in floor and (ours[key] is None or ours[key] < floor[key]):
            out.append(f"{label}: {key} {ours[key]} < floor {floor[key]}")
    return out


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
def test_no_page_kind_falls_below_its_floor(report):
    floor = json.loads(FLOOR.read_text(encoding="utf-8"))
    assert set(report["per_kind"]) == set(KINDS)  # every kind is reported, an empty one too
    problems = []
    for kind, kind_floor in floor["kinds"].items():
        problems += _below_floor(report["per_kind"][kind], kind_floor, kind)
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def fixture_report():
    return evaluate(EVALPAGES)


def test_project_pages_of_every_kind_stay_above_their_floor(fixture_report):
    """fixtures/evalpages: the project's pages with reader comments, chrome, doubled bodies and government
    documents, scored like the real pages; per kind and overall, beside trafilatura."""
    floor = json.loads(FLOOR.read_text(encoding="utf-8"))["fixtures"]
    print(format_report(fixture_report))
    problems = _below_floor(fixture_report["overall"], floor, "overall")
    for kind, kind_floor in floor["kinds"].items():
        problems += _below_floor(fixture_report["per_kind"][kind], kind_floor, kind)
    assert not problems, "\n".join(problems)
    text = format_report(fixture_report)
    for kind in KINDS:
        assert f"kind {kind}" in text
    assert fixture_report["per_kind"]["government document"]["trafilatura"]["pages"] == 4


def test_the_classifier_names_the_kind_of_each_project_page():
    from crawler.extract.decode import decode

    entries = [json.loads(line) for line in (EVALPAGES / "MANIFEST.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {e["page_kind"] for e in entries} == set(KINDS) - {"e-paper"}
    for entry in entries:
        html, _ = decode((EVALPAGES / entry["file"]).read_bytes())
        assert page_kind(html, entry["url"]) == entry["page_kind"], entry["file"]
    # a manifest's own page_kind wins; an e-paper URL or 版面 navigation makes an e-paper
    assert page_kind("<p>正文</p>", "https://x.cn/a.html", "e-paper") == "e-paper"
    assert page_kind("<p>正文。</p>", "https://epaper.gmw.cn/gmrb/html/2025-02/12/nw.D110000gmrb_20250212_4-08.htm") \
        == "e-paper"


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
