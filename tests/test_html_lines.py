"""Visible lines: the libxslt walk gives what the Python walk gives, on every element of every fixture page."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from crawler.extract import html as H
from crawler.extract.text import cjk_count, latin_count, wordish_count

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PAGES = sorted(FIXTURES.glob("articles/*.html")) + sorted(FIXTURES.glob("evalpages/*.html"))


def walked(node) -> list[str]:
    """The Python walk over the whole node (an `enough` no text reaches never stops it early)."""
    return H._lines(node, sys.maxsize)


def test_the_fixture_pages_are_there():
    assert len(PAGES) >= 20


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_libxslt_lines_are_the_walked_lines_on_every_element(page):
    root = H._parse(page.read_text(encoding="utf-8", errors="replace"))
    elements = [root, *root.iter(etree.Element)]
    for el in elements:
        assert H._flat_text(el) is not None or not isinstance(el.tag, str)
        assert H._lines(el) == walked(el), (page.name, el.tag, el.get("class"))


TRICKY = """<html><head><title>不显示</title><style>p {}</style></head><body>
<div>前文<!-- 注释 -->注释后<?pi 处理指令?>指令后<script>var a = "脚本";</script>脚本尾
<span>行内<b>加粗</b>尾</span><br>换行后<p>段落<select><option>选项</option></select>选择尾</p>段尾
<table><tr><td>单元格一</td><td>单元格二</td></tr></table>
<p>空白\u3000\u00a0 全角  与\u200b零宽</p><p> \t </p><p>……——</p><ul><li>条目A</li><li>条目B</li></ul>
<svg><text>图形文字</text></svg>图形尾<template><p>模板</p></template>模板尾</div>尾部文字</body></html>"""


def test_libxslt_lines_on_comments_scripts_inline_blocks_and_whitespace():
    root = H._parse(TRICKY)
    div = root.find(".//div")
    assert H._lines(root) == walked(root)
    assert H._lines(div) == walked(div)
    assert H._lines(div) == ["前文注释后指令后脚本尾", "行内加粗尾", "换行后", "段落选择尾", "段尾", "单元格一", "单元格二",
                             "空白 全角 与 零宽", "条目A", "条目B", "图形尾模板尾"]
    assert "尾部文字" not in " ".join(H._lines(div))  # the node's own tail is not its text
    for skipped in ("script", "style", "select", "svg", "template"):
        el = root.find(f".//{skipped}")
        assert H._lines(el) == walked(el) == []


def test_libxslt_lines_reach_the_parsers_nesting_limit():
    depth = H.MAX_DEPTH - 10
    root = H._parse("<html><body>" + "<div>" * depth + "深处的正文" + "</div>" * depth + "尾巴</body></html>")
    assert H._flat_text(root) is not None
    assert H._lines(root) == walked(root) == ["深处的正文", "尾巴"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("中文字ab Z9 \u3000\u00a0\n\t，。!？_-ⅷ㐀豈\U00020000")), max_size=80))
def test_counts_by_runs_are_counts_by_character(text):
    assert cjk_count(text) == len(re.findall(r"[\u3400-\u9fff\uf900-\ufaff]", text))
    assert wordish_count(text) == len(re.findall(r"[\u3400-\u9fffA-Za-z0-9]", text))
    assert latin_count(text) == len(re.findall(r"[A-Za-z]", text))
    assert H._finish([text]) == [line.strip() for line in re.sub(
        r"[ \t\r\f\v\u00a0\u2002\u2003\u2009\u200b\u3000\ufeff]+", " ", text).split("\n")
        if line.strip() and re.search(r"[\u3400-\u9fffA-Za-z0-9]", line)]
