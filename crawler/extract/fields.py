"""Title, subtitle, author, editor, 来源 and date candidates read from the page around the body."""
from __future__ import annotations

import re

from crawler.config import Rules
from crawler.extract import rules_builtin as B
from crawler.extract.body import _metaish
from crawler.extract.dates import Candidate, parse_datetime
from crawler.extract.html import _content, _first, _lines, _select, _tagged
from crawler.extract.text import (
    author_from_paragraphs, byline_segment, clean_name, cjk_count, editor_from_line, norm_space, source_from_text,
    strip_title_suffix,
)

def _metas(root) -> dict[str, str]:
    out: dict[str, str] = {}
    for meta in _tagged(root, "meta"):
        key = (meta.get("name") or meta.get("property") or meta.get("itemprop") or meta.get("http-equiv") or "")
        key = key.strip().lower()
        content = meta.get("content")
        if key and content and key not in out:
            out[key] = content.strip()
    return out


def _el_title(el) -> str:
    """A headline element's text; an unclosed <h1> that swallowed the page gives its first line only."""
    text = norm_space(_content(el))
    swallowed = any(isinstance(d.tag, str) and d.tag.lower() in ("div", "p", "table", "ul", "section", "article")
                    for d in el.iterdescendants())
    if swallowed or len(text) > 160:
        lines = _lines(el)
        text = lines[0] if lines else norm_space(el.text or "")
    return text if 2 <= len(text) <= 160 else ""


def _title(root, rules: Rules | None, metas: dict[str, str]) -> tuple[str, object]:
    page_title = ""
    for el in _tagged(root, "title"):
        page_title = norm_space(_content(el))
        if page_title:
            break
    suffix = rules.title_suffix if rules else None
    if rules and rules.title:
        el, _ = _first(root, rules.title)
        if el is not None and _el_title(el):
            return _el_title(el), el
    h1s = [(_el_title(h), h) for h in _tagged(root, "h1")]
    h1s = [(t, h) for t, h in h1s if 4 <= len(t) <= 160]
    base = page_title or metas.get("og:title", "")
    for text, h in h1s:  # the h1 the <title> starts with is the headline
        if base and base.startswith(text[: max(6, len(text) // 2)]):
            return text, h
    el, _ = _first(root, B.TITLE)
    if el is not None and _el_title(el):
        return _el_title(el), el
    # government CMSs (TRS, Hanweb, gov.cn) name the document in <meta name="ArticleTitle">: the <title> starts with it
    article_title = norm_space(metas.get("articletitle", ""))
    if 4 <= len(article_title) <= 160 and (not base or base.startswith(article_title[:6])):
        return article_title, None
    if base:
        return strip_title_suffix(base, suffix, [t for t, _ in h1s]), None
    if h1s:
        return h1s[0][0], h1s[0][1]
    return "", None


def _lines_before(doc_lines: list[str], body_first: str, n: int) -> list[str]:
    key = body_first[:20]
    for i, line in enumerate(doc_lines):
        if key and key in line:
            return doc_lines[max(0, i - n): i]
    return []


def _title_from_lines(doc_lines: list[str], body_first: str) -> str:
    """No <title>/<h1>: the headline is the nearest plain line above the body's byline block."""
    key = body_first[:20]
    for i, line in enumerate(doc_lines):
        if key and key in line:
            for cand in reversed(doc_lines[max(0, i - 10): i]):
                if (6 <= len(cand) <= 80 and cjk_count(cand) >= 4 and not _metaish(cand) and "http" not in cand
                        and "。" not in cand and not re.search(r"[>»]|\s-\s", cand)):
                    return cand
            break
    return ""


def _date_text(el) -> str:
    text = norm_space(" ".join(_lines(el))) or norm_space(_content(el))
    # news.cn: <span class=year><em>2026</em></span> <span class=day><em>09</em>/<em>15</em></span> <span class=time>16:53:58
    return re.sub(r"^(\d{4})\s+(\d{1,2})\s*/\s*(\d{1,2})\b", r"\1-\2-\3", text)


def _rule_dates(root, rules: Rules | None) -> list[Candidate]:
    out = []
    for selectors in ((rules.date if rules else []), B.DATE):
        for selector in selectors:
            for el in _select(root, selector)[:2]:
                parsed = parse_datetime(_date_text(el))
                if parsed:
                    out.append(Candidate(parsed[0], "rule", parsed[1]))
                    break
            if out:
                return out
    return out


def _text_dates(doc_lines: list[str], title: str, body_first: str | None) -> list[Candidate]:
    """Chinese date-times in the lines right after the headline (or right before the body)."""
    windows = []
    if title:
        key = title[:12]
        for i, line in enumerate(doc_lines):
            if key and key in line:
                windows.append(doc_lines[i: i + 8])
                if len(windows) >= 3:
                    break
    if body_first:
        key = body_first[:20]
        for i, line in enumerate(doc_lines):
            if key in line:
                windows.append(doc_lines[max(0, i - 8): i + 1])
                break
    out = []
    for window in windows:
        for line in window:
            if len(line) > 200:
                continue
            parsed = parse_datetime(line)
            if parsed:
                out.append(Candidate(parsed[0], "text", parsed[1]))
                break
    return out


def _author(root, rules: Rules | None, body_lines: list[str], metas: dict[str, str], labels: dict[str, str],
            editor: str | None, head_lines: list[str] = ()) -> str | None:
    for selectors in ((rules.author if rules else []), B.AUTHOR):
        el, _ = _first(root, selectors)
        if el is not None:
            text = byline_segment(norm_space(_content(el)))
            text = re.split(r"《|\d{4}年", text)[0]
            name = clean_name(text)
            if name and len(name) <= 40 and cjk_count(name) >= 2 and not re.search(r"编辑|责编|来源", text):
                return name
    found = author_from_paragraphs(body_lines) or author_from_paragraphs(list(head_lines), all_lines=True)
    if found:
        return found
    label = clean_name(labels.get("作者", ""))
    label = re.sub(r"^(?:本报|本台|新华社|特约)?记者\s*", "", label)
    if label and cjk_count(label) >= 2 and not re.search(r"编辑|责编", label):
        return label
    meta = clean_name(metas.get("author", ""))
    if (meta and cjk_count(meta) >= 2 and len(meta) <= 20 and not re.search(r"网|频道|报|社", meta)
            and meta != editor):
        return meta
    return None


def _editor(root, rules: Rules | None) -> str | None:
    for selectors in ((rules.editor if rules else []), B.EDITOR):
        for selector in selectors:
            for el in _select(root, selector)[:3]:
                text = norm_space(_content(el))
                if not text or len(text) > 80:
                    continue
                name = editor_from_line(text) or (clean_name(text) if re.search("编|責", text) else None)
                if name and cjk_count(name) >= 2:
                    return name
    return None


def _source(root, rules: Rules | None, metas: dict[str, str], near_title: str) -> str | None:
    for selectors in ((rules.source if rules else []), B.SOURCE):
        for selector in selectors:
            for el in _select(root, selector)[:2]:
                text = norm_space(_content(el))
                if not text or len(text) > 80:
                    continue
                src = source_from_text(text)
                if not src and el.tag == "a" and cjk_count(text) >= 2 and not re.search(r"\d{4}", text):
                    src = text.strip()
                if src:
                    return src
    src = source_from_text(near_title)
    if src:
        return src
    meta = metas.get("source", "")
    meta = re.sub(r"^(?:来源|來源)\s*[:：]\s*", "", meta).strip()
    return meta or None


def _windows(doc_lines: list[str], title: str, body: list[str]) -> list[str]:
    """The page lines around the headline and right after the body's last line (where bylines sit)."""
    out: list[str] = []
    if title:
        key = title[:12]
        for i, line in enumerate(doc_lines):
            if key in line:
                out += doc_lines[i: i + 12]
                break
    if body:
        key = body[-1][-20:]
        for i in range(len(doc_lines) - 1, -1, -1):
            if key and key in doc_lines[i]:
                out += doc_lines[i + 1: i + 14]
                break
    return out


def _blocked_reason(html: str) -> str | None:
    head = html[:20000].lower()
    for marker, reason in B.BLOCK_MARKERS.items():
        if marker in head:
            return reason
    return None
