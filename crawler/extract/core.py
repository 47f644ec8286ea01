"""Article extraction: parse once with lxml, site rules → built-in template selectors → a text-density
heuristic for Chinese news pages, trafilatura only when all of those fail; then the date chain."""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from lxml import etree

from crawler.config import Rules
from crawler.extract import rules_builtin as B
from crawler.extract.article import Extracted
from crawler.extract.body import MIN_BODY_CHARS, _body_only, _clean_body_lines, _pick_body, _trafilatura_body
from crawler.extract.css import PageIndex
from crawler.extract.dates import choose, date_from_url, htmldate_candidate, meta_candidates
from crawler.extract.decode import decode
from crawler.extract.generic import drop_comment_blocks, drop_unheaded_comments
from crawler.extract.govdoc import find_meta_block, is_document, meta_elements, publish_candidates
from crawler.extract.fields import (
    _author, _blocked_reason, _editor, _lines_before, _metas, _rule_dates, _source, _text_dates, _title,
    _title_from_lines, _windows,
)
from crawler.extract.sniff import binary_text, not_text, refusal
from crawler.extract.html import (
    MAX_DEPTH, _PAGE, _content, _cut_short, _drop, _first, _lines, _parse, _select, _tagged, _text,
)
from crawler.extract.text import clean_name, cjk_count, labelled_fields, latin_count, norm_space, strip_title_suffix

def extract(page: bytes | str, url: str, rules: Rules | None = None, content_type: str | None = None,
            now: datetime | None = None, more_pages: Sequence[tuple[bytes | str, str]] = ()) -> Extracted:
    """Extract one article page (plus continuation pages). Bytes are decoded here; never raises."""
    result = Extracted(url=url, extractor="")
    try:
        _extract_into(result, page, url, rules, content_type, now, more_pages)
    except Exception as exc:  # the contract is: never raise; report instead
        result.warnings.append(f"extraction failed: {type(exc).__name__}: {exc}")
        if not result.body:
            result.blocked = result.blocked or "extraction error"
    finally:
        _PAGE.index = None
    return result


def _extract_into(result: Extracted, page, url, rules, content_type, now, more_pages) -> None:
    if not isinstance(page, (bytes, bytearray, memoryview, str)):
        result.blocked = "no page content"
        return
    result.blocked = refusal(page)  # too large or binary (whatever the Content-Type says): never parsed
    if result.blocked:
        return
    if isinstance(page, str):
        html = page
    else:
        html, result.encoding = decode(bytes(page), content_type)
        kind = binary_text(html)  # no magic number, but decodes to control characters: still not a page
        if kind:
            result.blocked = not_text(kind)
            return
    if "\ufffd" in html[:50000] and html.count("\ufffd") > 50:
        result.warnings.append("many undecodable bytes")
    root = _parse(html)
    if root is None:
        result.blocked = "empty page"
        return
    too_deep = _cut_short()
    if too_deep:
        result.warnings.append(f"nested deeper than {MAX_DEPTH} elements: the parser stops there, deeper text is lost")
    _PAGE.index = PageIndex(root)
    comments = [c.text or "" for c in root.iter(etree.Comment) if c.text and "<date>" in c.text.lower()]
    metas = _metas(root)
    for bad in _tagged(root, "script", "style", "noscript", "template"):
        _drop(bad)

    title, title_el = _title(root, rules, metas)
    result.title = strip_title_suffix(title, rules.title_suffix if rules else None) if title_el is None else title
    sub, _ = _first(root, [*(rules.subtitle if rules else []), *B.SUBTITLE])
    if sub is not None and sub is not title_el:
        result.subtitle = norm_space(_content(sub)) or None

    near_title = ""
    if title_el is not None:
        parent = title_el.getparent()
        near_title = _text(parent if parent is not None else title_el, 600)[:600]

    # fields read from the whole tree before noise is removed from the body
    result.editor = _editor(root, rules)
    rule_dates = _rule_dates(root, rules)
    doc_lines = _lines(root)

    for el in _select(root, B.COMMENTS):  # reader comments are never body text
        if el.getparent() is not None and el is not root:
            _drop(el)
    drop_comment_blocks(root, title_el)  # nor are comment areas known by their heading ('网友评论', '跟帖')
    drop_unheaded_comments(root, title_el)  # or by their users' masked IPs
    if is_document(html):
        # a government document: its metadata table goes to doc_meta, never into the body
        block, result.doc_meta = find_meta_block(root)
        for el in (meta_elements(block) if block is not None else []):
            if el is not root:
                _drop(el)
    lines, body_editor, how = _pick_body(root, rules, result.title, result.warnings)
    # 'rules:<selector>' (sources.yaml), 'builtin:<selector>' (template families), 'density', 'trafilatura'
    result.extractor = (how or "none")[:64]  # the DB column is String(64)
    if not lines:
        lines, _ = _clean_body_lines(_trafilatura_body(html, url), result.title)
        if lines:
            result.extractor = "trafilatura"
    for content, more_url in more_pages:
        refused = refusal(content)
        if refused:  # a continuation page that is an image or too large adds nothing
            result.warnings.append(f"{more_url}: {refused}")
            continue
        seen = set(lines)
        for line in _body_only(content, more_url, rules, result.title, content_type):
            if line not in seen:
                lines.append(line)
    result.body = "\n".join(lines)
    if title_el is None and lines:
        # the <title> (or nothing) gave the headline: prefer the visible headline line above the body
        # when the <title> text is not shown there (a site-wide <title> such as '北医新闻网_(新闻)')
        sitewide = not result.title or (len(result.title) <= 14 and re.search(r"网|频道|首页|新闻|在线", result.title))
        if sitewide and not any(result.title[:10] in line for line in _lines_before(doc_lines, lines[0], 12)):
            result.title = _title_from_lines(doc_lines, lines[0]) or result.title
    around = _windows(doc_lines, result.title, lines)
    labels = labelled_fields(around)
    label_editor = clean_name(labels.get("责任编辑") or labels.get("编辑") or "")
    result.editor = result.editor or body_editor or (label_editor if cjk_count(label_editor) >= 2 else None)
    result.author = _author(root, rules, lines, metas, labels, result.editor, around)
    result.original_source = _source(root, rules, metas, near_title or "\n".join(doc_lines[:80]))

    # dates
    candidates = list(rule_dates)
    candidates += meta_candidates(metas, comments)
    candidates += _text_dates(doc_lines, result.title, lines[0] if lines else None)
    url_day = date_from_url(url)
    if not candidates and not url_day:
        cand = htmldate_candidate(html, url)
        if cand:
            candidates.append(cand)
    if result.doc_meta:
        candidates = publish_candidates(result.doc_meta, candidates)
    picked = choose(candidates, url_day, now)
    if picked:
        result.published_at = picked.utc()
        result.date_source = picked.source
        result.date_precision = picked.precision
    else:
        result.warnings.append("no publish date found")

    reason = _blocked_reason(html) if cjk_count(result.body) < 200 else None  # a long body is never a block page
    if reason:
        result.blocked = reason
    elif cjk_count(result.body) + latin_count(result.body) // 4 < MIN_BODY_CHARS:
        result.blocked = ("no article body" + (f" (the page is nested deeper than {MAX_DEPTH} elements, the parser's "
                                                "limit)" if too_deep else ""))
