"""Article extraction: parse once with lxml, site rules → built-in template selectors → a text-density
heuristic for Chinese news pages, trafilatura only when all of those fail; then the date chain."""
from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from datetime import datetime

import lxml.html
from lxml import etree

from crawler import rules_builtin as B
from crawler.article import Extracted
from crawler.config import Rules
from crawler.css import PageIndex
from crawler.dates import Candidate, choose, date_from_url, htmldate_candidate, meta_candidates, parse_datetime
from crawler.decode import decode
from crawler.text import _WS  # noqa: PLC2701 - the same whitespace norm_space collapses
from crawler.text import (
    author_from_paragraphs, byline_segment, cjk_count, clean_name, editor_from_line, labelled_fields, norm_space, punct_count,
    source_from_text, strip_title_suffix, tidy_lines,
)

MIN_BODY_CHARS = 40  # fewer CJK/letters than this after cleaning: not an article body
_SKIP = {"script", "style", "noscript", "iframe", "select", "button", "textarea", "input", "svg", "template",
         "audio", "video", "object", "embed", "canvas", "map", "head", "title", "meta", "link"}
_BLOCK = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "tbody", "section",
          "article", "blockquote", "dd", "dt", "dl", "center", "pre", "figure", "figcaption", "header", "footer",
          "nav", "aside", "form", "td", "th", "hr", "main", "fieldset", "address"}
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_WORDISH = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")


_PAGE = threading.local()  # the index of the page being extracted (crawler.css), built once after parsing


def _select(root, selector: str) -> list:
    """Elements under `root` (itself included) matching `selector`, in document order, as lxml's CSSSelector
    gives them: through the page's index (crawler.css) when there is one."""
    index = getattr(_PAGE, "index", None)
    try:
        if index is not None:
            return index.select(root, selector)
        return PageIndex(root).select(root, selector)
    except Exception:
        return []


def _first(root, selectors: Sequence[str]):
    for selector in selectors:
        found = _select(root, selector)
        for el in found:
            if norm_space(_content(el)):
                return el, selector
    return None, None


# ---------------------------------------------------------------- text serialisation


def _finish(parts: list[str]) -> list[str]:
    search = _WORDISH.search
    flat = _WS.sub(" ", "".join(parts))
    return [line for line in (raw.strip() for raw in flat.split("\n")) if line and search(line)]


def _lines(node, enough: int | None = None) -> list[str]:
    """Visible text of `node` as lines, one per block element / <br>, whitespace normalised, empties dropped.

    With `enough`, stop at the first block boundary where the lines so far join to at least that many
    characters: those lines are exactly the first lines of the whole result (a boundary completes every line)."""
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


# ---------------------------------------------------------------- body choice


_LEGAL = re.compile(r"版权所有|版权声明|免责声明|著作权|许可证|举报电话|举报邮箱|ICP|Copyright|联系我们|违法和不良|All Rights|"
                    r"广告服务|未经.{0,10}(?:授权|许可)", re.I)


def _holds_blocks(anchor) -> bool:
    """An <a> that swallowed page blocks and a lot of text (broken markup), not a card link around a teaser."""
    if not any(isinstance(d.tag, str) and d.tag.lower() in ("div", "p", "table", "td", "li", "section", "article")
               for d in anchor.iterdescendants()):
        return False
    return len(_WORDISH.findall(_content(anchor) or "")) > 150


def _in_link(node) -> bool:
    """Whether `node` lies inside a real link (an <a> that does not hold page blocks)."""
    return any(isinstance(a.tag, str) and a.tag.lower() == "a" and not _holds_blocks(a) for a in node.iterancestors())


def _stats(root, in_link: bool = False) -> dict:
    """Bottom-up per element of `root`'s subtree: good text (sentence-like, outside links), other text, link text.
    `in_link`: `root` itself lies inside a link (see _in_link), as the whole page's stats would count it."""
    stats: dict = {}
    order = [el for el in root.iter() if isinstance(el.tag, str)]
    link_depth: dict = {}
    for el in order:  # document order: parents before children
        parent = el.getparent()
        inside = link_depth.get(parent, False) if el is not root else in_link
        # an unclosed <a> in broken markup swallows the rest of the page: one holding blocks is no link
        link_depth[el] = inside or (el.tag == "a" and not _holds_blocks(el))
    for el in reversed(order):
        tag = el.tag.lower()
        good = bad = link = 0.0
        if tag not in _SKIP:
            for chunk in (el.text,) + tuple(c.tail for c in el):
                if not chunk:
                    continue
                n = len(_WORDISH.findall(chunk))
                if not n:
                    continue
                if link_depth[el]:
                    link += n
                elif n >= 10 and punct_count(chunk) >= 1 and not _LEGAL.search(chunk):
                    good += n
                else:
                    bad += n
            for child in el:
                s = stats.get(child)
                if s:
                    good += s[0]
                    bad += s[1]
                    link += s[2]
        stats[el] = (good, bad, link)
    return stats


_INLINE = {"a", "p", "span", "strong", "b", "font", "em", "i", "li", "ul", "ol", "u", "small", "big", "label",
           "sup", "sub", "h1", "h2", "h3", "h4", "h5", "h6", "img", "br", "tr", "tbody", "thead"}


def _density_pick(root, stats: dict):
    """The element that holds most of the sentence-like text and little else (GNE-style density)."""
    best, best_score = None, 0.0
    for el, (good, bad, link) in stats.items():
        if el.tag.lower() in _INLINE or good <= 0:
            continue
        score = good - 0.5 * bad - 0.3 * link
        if score > best_score:
            best, best_score = el, score
    if best is None:
        return None
    return _refine(best, stats)


DESCEND = 0.7


def _refine(node, stats: dict):
    """Descend while one child container holds nearly all of the sentence-like text."""
    while True:
        good = stats.get(node, (0, 0, 0))[0]
        if good <= 0:
            return node
        child_best = None
        for child in node:
            st = stats.get(child)
            if st and st[0] >= DESCEND * good and child.tag.lower() not in _INLINE:
                child_best = child
                break
        if child_best is None:
            return node
        # a sentence-like paragraph beside the child (a lead, a chapo) is body text: stay
        if any(sib is not child_best and isinstance(sib.tag, str) and sib.tag.lower() in ("p", "blockquote")
               and stats.get(sib, (0, 0, 0))[0] >= 20 for sib in node):
            return node
        node = child_best


def _drop_link_blocks(node, stats: dict) -> None:
    """Remove link lists nested in the body container (related articles, tag clouds, next/prev)."""
    doomed = []
    for el in node.iter():
        if el is node or not isinstance(el.tag, str):
            continue
        if el.tag.lower() not in ("ul", "ol", "table", "div", "dl", "section", "td", "p", "span", "center"):
            continue
        st = stats.get(el)
        if not st:
            continue
        good, bad, link = st
        total = good + bad + link
        if link >= 12 and link / total > 0.6:
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            _drop(el)


def _body_quality(lines: list[str], node) -> bool:
    text = "".join(lines)
    if cjk_count(text) + len(re.findall(r"[A-Za-z]", text)) // 4 < MIN_BODY_CHARS:
        return False
    total = len(_WORDISH.findall(text)) or 1
    linked = sum(len(_WORDISH.findall(_content(a) or "")) for a in node.iter("a") if not _holds_blocks(a))
    return linked / total < 0.5


_META_LINE = re.compile(r"(?:来源|來源|发布时间|發布時間|作者|编辑|时间|日期|浏览|点击|字号)\s*[:：]")
_HAS_DATE = re.compile(r"(?:19|20)\d{2}\s*[-年/.]\s*\d{1,2}")


def _metaish(line: str) -> bool:
    return bool(
        _HAS_DATE.search(line) and (_META_LINE.search(line) or len(line) <= 40)
        or _META_LINE.search(line) and len(line) <= 40
        or re.match(r"^(?:首页|当前位置|您的位置|位置)\s*[>:：»]", line)
        or line.count(">") >= 2 or line.count("»") >= 2
        or re.match(r"^(?:www\.|https?://)\S+$", line)
        or re.search(r"(?:记者|通讯员)\s*[\u3400-\u9fff]{2,4}(?:\s+[\u3400-\u9fff]{2,4})*$", line) and len(line) <= 40
        or (len(line) <= 4 and not punct_count(line))
    )


def _clean_body_lines(lines: list[str], title: str) -> tuple[list[str], str | None]:
    kept, _dropped, editor = tidy_lines(lines)
    # a container that starts above the headline: cut through the headline line
    if title and len(title) >= 6:
        limit = max(3, len(kept) // 3)
        for i, line in enumerate(kept[:limit]):
            if line.startswith(title) and len(line) <= len(title) + 12:
                kept = kept[i + 1:]
                break
    # byline/date/source block right at the top: short lines without a full stop, cut through the last
    # meta-like one (a label line ending in '：' takes its value line with it)
    cut = -1
    for i, line in enumerate(kept[:8]):
        if len(line) > 60 or "。" in line or i == len(kept) - 1:
            break
        if _metaish(line):
            cut = i
            if line.rstrip().endswith(("：", ":")) and i + 1 < len(kept) and len(kept[i + 1]) <= 20:
                cut = i + 1
    if cut >= 0:
        kept = kept[cut + 1:]
    # trailing link-list residue: very short lines without punctuation at the very end
    while kept and len(kept[-1]) <= 6 and not punct_count(kept[-1]):
        kept.pop()
    return kept, editor


def _drop_noise(node, selectors: Sequence[str]) -> None:
    for selector in selectors:
        for el in _select(node, selector):
            if el is node:
                continue
            parent = el.getparent()
            if parent is None:
                continue
            _drop(el)


def _pick_body(root, rules: Rules | None, title: str, warnings: list[str]) -> tuple[list[str], str | None, str]:
    """(cleaned lines, editor named inside the body, how it was found).

    Text statistics are computed where they are needed: for a rule's or template's container, over that
    container only (the common case, a fraction of the page); over the whole page only when the density
    heuristic has to choose (a loose name, or no selector matched)."""
    tried = []
    if rules and rules.body:
        tried.append(("rules", rules.body))
    tried.append(("builtin", B.BODY))
    tried.append(("loose", B.BODY_LOOSE))
    page: dict = {}  # the whole page's stats and density pick, once, when first needed

    def density():
        if "pick" not in page:
            page["stats"] = _stats(root)
            page["pick"] = _density_pick(root, page["stats"])
        return page["pick"]

    noise = list(B.NOISE) + list(rules.noise if rules else [])
    for kind, selectors in tried:
        for selector in selectors:
            for node in _select(root, selector):
                if kind == "loose":  # a loose name counts only when the density pick lies inside it
                    pick = density()
                    if pick is None or (pick is not node and not any(a is node for a in pick.iterancestors())):
                        continue
                    st = page["stats"].get(node)
                    if st and st[0] + st[1] + st[2] < MIN_BODY_CHARS:
                        continue
                    node, how, stats = pick, "density", page["stats"]
                else:
                    stats = _stats(node, _in_link(node))
                    st = stats.get(node)
                    if st and st[0] + st[1] + st[2] < MIN_BODY_CHARS:
                        continue
                    how = f"{kind}:{selector}"
                    if kind == "builtin":
                        node = _refine(node, stats)
                _drop_noise(node, noise)
                # inside an unclosed <a> (broken markup) every word counts as link text: judge the subtree alone
                inside_link = any(isinstance(a.tag, str) and a.tag.lower() == "a" for a in node.iterancestors())
                _drop_link_blocks(node, _stats(node) if inside_link else stats)
                lines = _lines(node)
                if _body_quality(lines, node):
                    kept, editor = _clean_body_lines(lines, title)
                    if kept:
                        return kept, editor, how
        if kind == "rules":
            warnings.append("site body rules matched nothing usable; generic path used")
    node = density()
    if node is not None:
        _drop_noise(node, noise)
        _drop_link_blocks(node, page["stats"])
        lines = _lines(node)
        if _body_quality(lines, node):
            kept, editor = _clean_body_lines(lines, title)
            if kept:
                return kept, editor, "density"
    return [], None, ""


# ---------------------------------------------------------------- fields


def _metas(root) -> dict[str, str]:
    out: dict[str, str] = {}
    for meta in root.iter("meta"):
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
    for el in root.iter("title"):
        page_title = norm_space(_content(el))
        if page_title:
            break
    suffix = rules.title_suffix if rules else None
    if rules and rules.title:
        el, _ = _first(root, rules.title)
        if el is not None and _el_title(el):
            return _el_title(el), el
    h1s = [(_el_title(h), h) for h in root.iter("h1")]
    h1s = [(t, h) for t, h in h1s if 4 <= len(t) <= 160]
    base = page_title or metas.get("og:title", "")
    for text, h in h1s:  # the h1 the <title> starts with is the headline
        if base and base.startswith(text[: max(6, len(text) // 2)]):
            return text, h
    el, _ = _first(root, B.TITLE)
    if el is not None and _el_title(el):
        return _el_title(el), el
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


_PARSER = etree.HTMLParser()  # plain lxml elements: no Python class lookup per element, as lxml.html does
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


def _body_only(content: bytes | str, url: str, rules: Rules | None, title: str, content_type: str | None) -> list[str]:
    html = decode(content, content_type)[0] if isinstance(content, (bytes, bytearray)) else content
    previous = getattr(_PAGE, "index", None)
    try:
        root = _parse(html)
        if root is None:
            return []
        _PAGE.index = PageIndex(root)
        for bad in root.xpath("//script|//style|//noscript"):
            _drop(bad)
        for el in _select(root, B.COMMENTS):
            if el.getparent() is not None:
                _drop(el)
        lines, _editor, _how = _pick_body(root, rules, title, [])
        return lines
    finally:
        _PAGE.index = previous


def _trafilatura_body(html: str, url: str) -> list[str]:
    try:
        import trafilatura

        text = trafilatura.extract(html, url=url or None, include_comments=False, include_tables=True)
    except Exception:
        return []
    if not text:
        return []
    kept, _dropped, _editor = tidy_lines([norm_space(x) for x in text.split("\n") if norm_space(x)])
    return kept


# ---------------------------------------------------------------- entry point


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
    if isinstance(page, (bytes, bytearray, memoryview)):
        html, result.encoding = decode(bytes(page), content_type)
    elif isinstance(page, str):
        html = page
    else:
        result.blocked = "no page content"
        return
    if "\ufffd" in html[:50000] and html.count("\ufffd") > 50:
        result.warnings.append("many undecodable bytes")
    root = _parse(html)
    if root is None:
        result.blocked = "empty page"
        return
    _PAGE.index = PageIndex(root)
    comments = [c.text or "" for c in root.iter(etree.Comment) if c.text and "<date>" in c.text.lower()]
    metas = _metas(root)
    for bad in root.xpath("//script|//style|//noscript|//template"):
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
    lines, body_editor, how = _pick_body(root, rules, result.title, result.warnings)
    # 'rules:<selector>' (sources.yaml), 'builtin:<selector>' (template families), 'density', 'trafilatura'
    result.extractor = (how or "none")[:64]  # the DB column is String(64)
    if not lines:
        lines, _ = _clean_body_lines(_trafilatura_body(html, url), result.title)
        if lines:
            result.extractor = "trafilatura"
    for content, more_url in more_pages:
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
    picked = choose(candidates, url_day, now)
    if picked:
        result.published_at = picked.utc()
        result.date_source = picked.source
        result.date_precision = picked.precision
    else:
        result.warnings.append("no publish date found")

    reason = _blocked_reason(html)
    if reason and cjk_count(result.body) < 200:
        result.blocked = reason
    elif cjk_count(result.body) + len(re.findall(r"[A-Za-z]", result.body)) // 4 < MIN_BODY_CHARS:
        result.blocked = "no article body"
