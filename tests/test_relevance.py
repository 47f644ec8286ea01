"""Relevance: the lexicon loads and validates, the score explains itself, and the labelled set stays above a floor."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from crawler.analyse.relevance import LexiconError, load_lexicon, parse_lexicon, score

REPO = Path(__file__).resolve().parent.parent
PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.9


def _bench():
    spec = importlib.util.spec_from_file_location("bench_relevance", REPO / "bench" / "relevance.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_shipped_lexicon_loads():
    lexicon = load_lexicon()
    assert lexicon.threshold > 0
    assert "医检互认" in lexicon.terms.both and "大模型" in lexicon.terms.informatization


def test_score_explains_itself_and_title_hits_weigh_more():
    body = "市卫生健康委推进医检互认和电子病历共享，患者在医院的检查结果可跨院调阅。\n医院信息化建设加快。"
    plain = score("一则消息", body)
    titled = score("医检互认惠及患者", body)
    assert plain.relevant and "医检互认" in plain.terms
    assert titled.score > plain.score
    hit = next(h for h in titled.hits if h.term == "医检互认")
    assert hit.title_hits == 1 and hit.body_hits == 1
    assert "医检互认 (title, body×1)" in titled.explain()


def test_both_axes_are_needed():
    assert not score("流感高发季 专家提醒及时接种疫苗", "医院门诊患者增多，医生提醒就医。").relevant
    assert not score("人工智能大模型产业大会开幕", "发布多款大模型和智能体，数据要素赋能。").relevant


def test_ascii_terms_match_whole_words_only():
    assert "AI" in score("医院上线AI助手", "").terms
    assert "AI" not in score("MAIL", "AIDS 防治").terms


def test_longest_term_wins_over_its_parts():
    result = score("", "互联网医院")
    assert result.terms == ["互联网医院"]


def test_focus_counts_paragraphs_that_speak_of_health():
    """Without health in the title, the share of health paragraphs, over focus_share, scales the score."""
    from crawler.analyse.relevance import default_lexicon

    share = default_lexicon().focus_share
    city = "数字政府建设持续推进，大数据平台上线。"
    assert score("数字城市建设", "\n".join([city] * 9 + ["互联网医院上线。"])).focus == round(min(1, 0.1 / share), 2)
    two_of_five = "\n\n".join([city] * 3 + ["互联网医院上线。"] * 2)  # blank lines are not paragraphs
    assert score("数字城市建设", two_of_five).focus == round(min(1, 0.4 / share), 2)
    assert score("互联网医院建设", city).focus == 1.0  # the title speaks of health
    assert score("数字城市建设", "").focus == 0.0


@pytest.mark.parametrize("text, message", [
    ("terms: [1, 2", "not valid YAML"),
    ("- a\n- b\n", "expected a mapping"),
    ("terms:\n  health: {医院: 1}\n", "informatization"),
    ("terms:\n  health: {医院: 0}\n  informatization: {AI: 1}\n", "must be > 0"),
    ("terms:\n  health: {医院: 1}\n  informatization: {医院: 1}\n", "listed under both"),
    ("threshold: -1\nterms:\n  health: {医院: 1}\n  informatization: {AI: 1}\n", "threshold"),
    ("colour: red\nterms:\n  health: {医院: 1}\n  informatization: {AI: 1}\n", "colour"),
    ('terms:\n  health: {"互联网\\n医院": 1}\n  informatization: {AI: 1}\n', "spans lines"),
])
def test_bad_lexicon_is_reported_with_file_and_field(text, message):
    with pytest.raises(LexiconError) as info:
        parse_lexicon(text, "lexicon.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("lexicon.yaml")


def test_bad_lexicon_names_the_line(tmp_path):
    file = tmp_path / "lexicon.yaml"
    file.write_text("version: 1\nterms:\n  health:\n    医院: -2\n  informatization: {AI: 1}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"lexicon.yaml:3: field terms.health"):
        load_lexicon(file)


def test_labelled_set_precision_and_recall_stay_above_the_floor(seeds, realpages):
    bench = _bench()
    cases = bench.labelled_set(seeds.parent)
    positives = [c for c in cases if c.label]
    assert sum(1 for c in positives if c.origin == "seed") == 10  # every article of the four issues
    assert sum(1 for c in cases if not c.label and c.origin == "realpage") >= 60
    result = bench.evaluate(cases)
    assert result.precision >= PRECISION_FLOOR, result
    assert result.recall >= RECALL_FLOOR, result
