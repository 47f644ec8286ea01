"""What kind of page this is, for the evaluation's per-kind figures: news article, e-paper, government document,
or portal with comments (a news page carrying a reader-comment area)."""
from __future__ import annotations

import re

from crawler.extract.generic import COMMENT_HEAD, is_comment_meta
from crawler.extract.govdoc import find_meta_block, is_document
from crawler.extract.html import _drop, _lines, _parse

NEWS, EPAPER, GOVDOC, COMMENTS = "news article", "e-paper", "government document", "portal with comments"
KINDS = (NEWS, EPAPER, GOVDOC, COMMENTS)
_EPAPER_URL = re.compile(r"epaper|/paper/|//paper\.|dzb|szb|/html/\d{4}-\d{2}/\d{2}/|/layout/|/pc/content/|"
                         r"/content/\d{6}/\d{2}/content_", re.I)
_EPAPER_TEXT = re.compile(r"第\s*0?\d{1,3}\s*版[:：]|版面导航|上一版|下一版|返回目录|本版新闻|往期回顾|版面概览")


def page_kind(html: str, url: str = "", declared: str | None = None) -> str:
    """The kind named by the manifest when it names one of KINDS, else read off the page: a metadata table →
    government document; e-paper URL or 版面 navigation → e-paper; a comment heading with comment user/IP/vote
    lines, or several such lines → portal with comments; otherwise a news article."""
    if declared in KINDS:
        return declared
    root = _parse(html or "")
    if root is None:
        return NEWS
    if is_document(html):
        block, _fields = find_meta_block(root)
        if block is not None:
            return GOVDOC
    for bad in root.xpath("//script|//style|//noscript|//template"):
        _drop(bad)
    lines = _lines(root)
    if _EPAPER_URL.search(url or "") or len({m.group(0) for line in lines for m in _EPAPER_TEXT.finditer(line)}) >= 2:
        return EPAPER
    heads = sum(1 for line in lines if len(line) <= 60 and COMMENT_HEAD.search(line))
    metas = sum(1 for line in lines if is_comment_meta(line))
    if heads and metas or metas >= 3:
        return COMMENTS
    return NEWS
