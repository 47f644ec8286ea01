"""Each faster path of the line and page checks answers what the plain form it replaced answered."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from crawler.extract import generic, sniff, text
from crawler.extract.html import _lines, _parse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# the single alternation is_boilerplate_line searched before it was split into a start part and an anywhere part
BOILER_AS_ONE = re.compile(
    r"^(?:[\[【]?\s*(?:纠错|打印|关闭|关闭窗口|返回顶部|收藏|字号|字体|推荐|评论|举报|分享|打印本页|我要纠错|收藏本文)\s*[\]】]?\s*)+$"
    r"|^\s*分享到|分享让更多人看到|^\s*(?:扫一扫|扫描二维码|手机看新闻|关注新华网|下载客户端)"
    r"|^[【\[]?\s*(?:上一篇|下一篇|上一页|下一页|返回首页|查看原文|阅读原文)\s*[】\]]?"
    r"|^(?:相关新闻|相关阅读|相关链接|延伸阅读|推荐阅读|热点推荐|更多精彩|猜你喜欢|相关文章|往期回顾)\s*[:：]?\s*$"
    r"|^[^。！？]{0,30}版权所有[^。！？]{0,30}$|Copyright\s*(?:©|\(c\))|©\s*\d{4}"
    r"|^[^。！？]{0,20}未经.{0,12}(?:授权|许可).{0,10}(?:转载|使用)[^。！？]{0,20}$"
    r"|ICP[备证]\d"
    r"|^(?:字号|字体)[:：]\s*[大中小\s]+$|^[大中小]\s*[大中小]\s*[大中小]$"
    r"|^(?:来源|作者|编辑|时间)[:：]\s*$"
    r"|^原标题\s*[:：]|^点击(?:进入|查看|阅读|这里).{0,30}(?:>>|》》|>)\s*$"
    r"|^(?:[\[【]\s*\d{1,2}\s*[\]】]\s*|\d{1,2}\s+|(?:上一页|下一页|首页|尾页)\s*)+$"
    r"|^(?:作者|出品|摄影|图片来源|撰文|编译|翻译|策划|制图|设计|视频)\s*[:：︱|丨/／]\s*[^\s，。！？；]{1,30}(?:\s[^\s，。！？；]{1,12})?$",
    re.I,
)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# the regular expression the government-document gate ran over the whole text before it looked by character
_PAD = r"(?:\s|\u3000|&nbsp;|&#160;)*"
GATE = re.compile(rf"索{_PAD}引{_PAD}号|成文日期|生成日期|发文机关|发文字号|主题分类|发布机构|印发日期")


def fixture_lines() -> list[str]:
    out = []
    for page in sorted(FIXTURES.glob("*/*.html")):
        root = _parse(page.read_text(encoding="utf-8", errors="replace"))
        if root is not None:
            out += _lines(root)
    return out


LINES = fixture_lines()
SAMPLES = [
    "分享到：", "【纠错】 【打印】", "上一篇：某某", "相关阅读", "本网版权所有 未经授权禁止转载", "Copyright © 2024 人民网",
    "京ICP备12345号", "©2023", "字号：大 中 小", "来源：", "原标题：某某", "点击进入专题>>", "[1] [2] [3]", "1 2 3 下一页",
    "作者：张三 李四", "摄影/王五", "这是一段正文，提到分享让更多人看到的倡议。", "2024年1月1日，记者在北京看到……",
    "正文[1]【2】 ", "正文 [12] [3]\u3000", "末尾 [1]", "[1][2]文字",
]


def is_boilerplate_as_one(line: str) -> bool:
    return bool(BOILER_AS_ONE.search(line)) or bool(text._EDITOR_LINE.match(line))


def test_the_fixture_pages_give_lines():
    assert len(LINES) > 300


def test_boilerplate_split_in_two_answers_as_the_one_alternation_on_every_fixture_line():
    differ = [line for line in LINES + SAMPLES if text.is_boilerplate_line(line) != is_boilerplate_as_one(line)]
    assert differ == []
    assert sum(map(text.is_boilerplate_line, SAMPLES)) >= 15  # the samples do reach both parts


def test_boilerplate_split_in_two_answers_as_the_one_alternation_on_every_line_of_the_real_pages(realpages):
    lines = []
    for page in sorted(realpages.rglob("*.html")):
        root = _parse(page.read_text(encoding="utf-8", errors="replace"))
        lines += _lines(root) if root is not None else []
    assert len(lines) > 10000
    assert [line for line in lines if text.is_boilerplate_line(line) != is_boilerplate_as_one(line)] == []
    assert sum(map(text.is_boilerplate_line, lines)) > 100


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("分享到让更多人看见ICP备证1२ 2\u3000\n【】[]版权所有未经授权转载©cC上一篇作者：:/。")),
               max_size=40))
def test_boilerplate_split_in_two_on_random_lines(line):
    assert text.is_boilerplate_line(line) == is_boilerplate_as_one(line)


@pytest.mark.parametrize("line", SAMPLES + LINES[::5])
def test_a_pager_tail_is_cut_only_where_it_can_end(line):
    kept, _dropped, _editor = text.tidy_lines([line])
    plain = text._PAGER_TAIL.sub("", line)
    assert kept in ([], [plain]) or (text._EDITOR_INLINE.search(plain) and len(kept) <= 1)


def test_a_pager_tail_is_cut():
    assert text.tidy_lines(["正文结束。[1] [2]", "正文结束。【1】【2】\u3000"])[0] == ["正文结束。", "正文结束。"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*map(chr, range(0, 0x20)), "\x7f", "a", "中", "\ud800", "\u3000", "\ufffd"]),
               max_size=600))
def test_control_characters_counted_as_utf8_bytes_as_by_the_regular_expression(sample):
    many = len(CONTROL.findall(sample[:65536])) > max(8, len(sample[:65536]) // 500)
    assert (sniff.binary_text(sample) == "binary data (control characters)") == many


def test_chrome_cut_the_same_when_the_last_sentence_is_found_from_the_end():
    lines = ["首页", "新闻", "政务", "正文第一段，讲了很多很多的事情，一共有二十五个汉字以上的内容。", "版权所有 某某网",
             "正文第二段。这是一段很长的句子，包含句号和足够多的中文字符。", "主办单位：某某委员会", "网站标识码1234", "ICP备5678号"]
    assert generic.cut_chrome(lines) == lines[3:4] + lines[5:6]


HEAD_TEXTS = etree.XPath('//text()[contains(., "评") or contains(., "帖") or contains(., "留言") or contains(., "参与")]')


def heads_by_xpath(root) -> list:
    """The comment headings as drop_comment_blocks found them before: text nodes by XPath, then the pattern."""
    return [t.getparent() for t in HEAD_TEXTS(root) if t.is_text and t.getparent() is not None
            and len(t.strip()) <= 40 and generic.COMMENT_HEAD.search(text.norm_space(t))]


def test_comment_headings_found_by_the_element_loop_are_those_the_xpath_found(realpages):
    pages = sorted(FIXTURES.glob("*/*.html")) + sorted(realpages.rglob("*.html"))
    found = 0
    for page in pages:
        root = _parse(page.read_text(encoding="utf-8", errors="replace"))
        if root is None:
            continue
        heads = generic.comment_heads(root)
        assert heads == heads_by_xpath(root), page.name
        found += len(heads)
    assert found > 50


def test_raw_pages_gzipped_by_isal_read_back_with_any_gzip_reader_and_old_rows_still_read():
    import gzip

    from crawler.analyse.prepare import gunzip_page, gzip_page

    page = (FIXTURES / "articles" / "cnr_health.html").read_bytes()
    stored = gzip_page(page)
    assert gzip.decompress(stored) == page  # what a downstream tool reading raw_pages.html_gz does
    assert gunzip_page(stored) == page
    assert gunzip_page(gzip.compress(page, 3)) == page  # rows stored before, by zlib
    assert len(stored) < len(page) / 1.5


MIXED = list("中文，。：（）！？；…％／～１２ａＢ\u3000 \n\taeAE") + ["\u0301", "\u0308", "\u0327", "\u1100", "\u1161", "\u11a8",
                                                         "\uac00", "\u2460", "\ufb01", "\u00bd", "\u212b", "\u0344",
                                                         "\u0f73", "\u1e9b", "\U0001d400", "\U0002f800", "\ufdfa"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(MIXED), max_size=30).map("".join))
def test_nfkc_folded_first_is_nfkc(sample):
    import unicodedata

    from crawler.analyse.minhash import nfkc

    assert nfkc(sample) == unicodedata.normalize("NFKC", sample)


def test_nfkc_folded_first_is_nfkc_for_every_character_alone_and_before_a_combining_mark():
    import unicodedata

    from crawler.analyse.minhash import nfkc

    chars = [chr(point) for point in range(0x110000) if not 0xD800 <= point < 0xE000]
    assert [c for c in chars if nfkc(c) != unicodedata.normalize("NFKC", c)] == []
    marked = [c + mark for c in chars[:0x3400] for mark in ("\u0301", "\u0323\u0302")]
    assert [s for s in marked if nfkc(s) != unicodedata.normalize("NFKC", s)] == []


def test_tagged_elements_from_the_index_are_those_a_walk_finds_before_and_after_drops(realpages):
    from crawler.extract.css import PageIndex
    from crawler.extract.html import _drop

    pages = sorted(FIXTURES.glob("*/*.html")) + sorted(realpages.rglob("*.html"))[:40]
    for page in pages:
        root = _parse(page.read_text(encoding="utf-8", errors="replace"))
        if root is None:
            continue
        index = PageIndex(root)
        for tags in (("meta",), ("title",), ("h1",), ("script", "style", "noscript", "template"), ("p", "div")):
            assert index.tagged(root, *tags) == list(root.iter(*tags)), (page.name, tags)
        for el in list(root.iter("noscript", "template", "ul"))[:5]:  # drops, as extraction makes them
            _drop(el)
        for tags in (("h1",), ("title",), ("li", "a"), ("script", "style")):
            assert index.tagged(root, *tags) == list(root.iter(*tags)), (page.name, tags, "after drops")
        body = root.find("body")
        if body is not None:  # another root: a walk
            assert index.tagged(body, "a") == list(body.iter("a"))


def test_the_document_gate_found_by_character_answers_as_the_regular_expression(realpages):
    from crawler.extract.decode import decode
    from crawler.extract.govdoc import is_document

    bodies = [p.read_bytes() for p in sorted(FIXTURES.glob("*/*.html")) + sorted(realpages.rglob("*.html"))]
    snippets = ["<p>索 引 号：000013610/2025-00123</p>", "成文日期", "日期", "文机关", "发文字号在开头", "<p>机构 结构 主题分类</p>", "<td>索&nbsp;引&#160;号</td>", "<p>搜索 引号 号码</p>",
                "<p>发布机构：某某委员会</p>", "<p>印发日期 2025年1月1日</p>", "<p>发文字号：国卫办〔2025〕1号</p>",
                "<p>主题分类</p>", "<p>搜索</p>", "<p>成文日期</p>", "<p>生成 日期</p>", "<p>無關的文字</p>"]
    for snippet in snippets:
        for codec in ("utf-8", "gb18030", "big5hkscs"):
            try:
                bodies.append(f"<html><head><meta charset={codec}></head><body>{snippet}</body></html>".encode(codec))
            except UnicodeEncodeError:
                continue
    gated = 0
    for raw in bodies:
        html, codec = decode(raw)
        expected = GATE.search(html) is not None
        assert is_document(html) == expected, (html[:200], codec)
        gated += expected
    assert gated >= 10


@pytest.mark.parametrize("text", ["成文日期", "x成文日期", "日期", "文日期", "索引号", "索\u3000引&nbsp;号", "索 引", "索引", "号索引号",
                                  "发布机构发布机", "", "期", "主题分", "题分类"])
def test_the_document_gate_at_the_edges_of_the_text(text):
    from crawler.extract.govdoc import is_document

    assert is_document(text) == (GATE.search(text) is not None)
