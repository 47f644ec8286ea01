"""Parsing and walking the page tree: lxml parse, selectors through the page index, visible text as lines."""
from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import lxml.html
from lxml import etree

from crawler.extract.css import PageIndex
from crawler.extract.text import _WS  # noqa: PLC2701 - the same whitespace norm_space collapses
from crawler.extract.text import norm_space

_SKIP = {"script", "style", "noscript", "iframe", "select", "button", "textarea", "input", "svg", "template",
         "audio", "video", "object", "embed", "canvas", "map", "head", "title", "meta", "link"}
_BLOCK = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "tbody", "section",
          "article", "blockquote", "dd", "dt", "dl", "center", "pre", "figure", "figcaption", "header", "footer",
          "nav", "aside", "form", "td", "th", "hr", "main", "fieldset", "address"}
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_PAGE = threading.local()  # the index of the page being extracted (crawler.extract.css), built once after parsing


def _select(root, selector: str) -> list:
    """Elements under `root` (itself included) matching `selector`, in document order, as lxml's CSSSelector
    gives them: through the page's index (crawler.extract.css) when there is one."""
    index = getattr(_PAGE, "index", None)
    try:
        if index is not None:
            return index.select(root, selector)
        return PageIndex(root).select(root, selector)
    except Exception:
        return []


def _tagged(root, *tags: str) -> list:
    """root.iter(*tags) as a list, from the page's index when there is one (no walk of the tree)."""
    index = getattr(_PAGE, "index", None)
    return index.tagged(root, *tags) if index is not None else list(root.iter(*tags))


def _first(root, selectors: Sequence[str]):
    for selector in selectors:
        found = _select(root, selector)
        for el in found:
            if norm_space(_content(el)):
                return el, selector
    return None, None


# a line holding at least one word character, whole: `_WS` keeps "\n", so lines are what lies between them
_WORDY_LINE = re.compile(r"(?m)^[^\n\u3400-\u9fffA-Za-z0-9]*+[\u3400-\u9fffA-Za-z0-9][^\n]*")


def _finish(parts: list[str]) -> list[str]:
    return [line.strip() for line in _WORDY_LINE.findall(_WS.sub(" ", "".join(parts)))]


# The same walk as _lines() below, in libxslt: a newline around every block element, nothing of the skipped ones
# (their tails stay: a tail is a text node of its own), comments and processing instructions dropped.
_LINES_XSL = f"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:output method="text" encoding="UTF-8"/>
<xsl:template match="{'|'.join(sorted(_SKIP))}|comment()|processing-instruction()"/>
<xsl:template match="{'|'.join(sorted(_BLOCK))}"><xsl:text>&#10;</xsl:text><xsl:apply-templates/><xsl:text>&#10;</xsl:text></xsl:template>
</xsl:stylesheet>"""
_XSLT = threading.local()


def _flat_text(node) -> str | None:
    """The visible text of `node` with a newline at each block boundary, by libxslt; None if it refuses."""
    transform = getattr(_XSLT, "lines", None)
    if transform is None:
        transform = _XSLT.lines = etree.XSLT(etree.XML(_LINES_XSL))
    try:
        return str(transform(node))
    except (etree.XSLTError, ValueError):
        return None


def _lines(node, enough: int | None = None) -> list[str]:
    """Visible text of `node` as lines, one per block element / <br>, whitespace normalised, empties dropped.

    With `enough`, stop at the first block boundary where the lines so far join to at least that many
    characters: those lines are exactly the first lines of the whole result (a boundary completes every line)."""
    if enough is None and isinstance(node.tag, str) and node.tag.lower() not in _SKIP:
        flat = _flat_text(node)  # the walk below in C, twice as fast; the walk stays for `enough` and refusals
        if flat is not None:
            return _finish([flat])
    parts: list[str] = []
    append = parts.append
    skipped = None
    size, check_at = 0, enough
    walker = etree.iterwalk(node, events=("start", "end", "comment", "pi"))
    for event, el in walker:
        tag = el.tag
        if event == "comment" or event == "pi":  # never shown; the text after it is
            if el is not node and el.tail:
                append(el.tail)
                size += len(el.tail)
            continue
        if event == "start":
            low = tag.lower() if isinstance(tag, str) else None
            if low is None or low in _SKIP:  # scripts, inputs…: their text never shows, their tail does
                walker.skip_subtree()
                skipped = el  # its "end" event still comes: ignore it
                if el is not node and el.tail:
                    append(el.tail)
                    size += len(el.tail)
                continue
            block = low in _BLOCK
            text = el.text
        else:
            if el is skipped:
                continue
            block = tag.lower() in _BLOCK
            text = el.tail if el is not node else None
        if block:
            if check_at is not None and size >= check_at:
                done = _finish(parts)
                if len(" ".join(done)) >= enough:
                    return done
                check_at = size * 2
            append("\n")
        if text:
            append(text)
            size += len(text)
    return _finish(parts)


def _text(node, enough: int | None = None) -> str:
    return norm_space(" ".join(_lines(node, enough))) if node is not None else ""


# Plain lxml elements: no Python class lookup per element, as lxml.html does. huge_tree: libxml2 otherwise stops at
# 256 nested elements and silently drops the rest (a body 300 <div>s deep was lost); with it the limit is 2048.
_PARSER = etree.HTMLParser(huge_tree=True)
MAX_DEPTH = 2048  # libxml2's nesting limit with huge_tree (XML_PARSE_HUGE)
_STRING = etree.XPath("string()", smart_strings=False)


def _content(el) -> str:
    """The text of `el` and its descendants (lxml.html's text_content(), for plain elements too)."""
    return _STRING(el)


def _drop(el) -> None:
    """Remove `el` and its subtree, keeping its tail text in place (lxml.html's drop_tree())."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        previous = el.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    parent.remove(el)


def _parse(html: str):
    html = _XML_DECL.sub("", html, count=1).replace("\x00", "")
    if not html.strip():
        return None
    try:
        root = etree.fromstring(html, _PARSER)
        if root is not None:
            return root
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError, TypeError):
        try:
            return lxml.html.fromstring(html)
        except Exception:
            return None


def _cut_short() -> bool:
    """True when the last _parse() hit libxml2's nesting limit (MAX_DEPTH): what lies deeper was not read."""
    return any(error.type_name == "ERR_RESOURCE_LIMIT" for error in _PARSER.error_log)
