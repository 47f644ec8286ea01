"""Body choice: site rules → built-in template selectors → text density; noise, link lists and bylines cut."""
from __future__ import annotations

import re
from collections.abc import Sequence

from crawler.config import Rules
from crawler.extract import rules_builtin as B
from crawler.extract.decode import decode
from crawler.extract.generic import cut_chrome, cut_comments, drop_repeats
from crawler.extract.html import _PAGE, _content, _drop, _lines, _parse, _select, _SKIP
from crawler.extract.css import PageIndex
from crawler.extract.text import cjk_count, latin_count, norm_space, punct_count, tidy_lines, wordish_count

MIN_BODY_CHARS = 40  # fewer CJK/letters than this after cleaning: not an article body
_LEGAL = re.compile(r"版权所有|版权声明|免责声明|著作权|许可证|举报电话|举报邮箱|ICP|Copyright|联系我们|违法和不良|All Rights|"
                    r"广告服务|未经.{0,10}(?:授权|许可)", re.I)


def _holds_blocks(anchor) -> bool:
    """An <a> that swallowed page blocks and a lot of text (broken markup), not a card link around a teaser."""
    if not any(isinstance(d.tag, str) and d.tag.lower() in ("div", "p", "table", "td", "li", "section", "article")
               for d in anchor.iterdescendants()):
        return False
    return wordish_count(_content(anchor) or "") > 150


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
        good = bad = link = 0.0
        if el.tag.lower() not in _SKIP:
            linked = link_depth[el]
            chunk = el.text
            children = iter(el)
            while True:  # the element's own text, then each child's totals and the text after that child
                if chunk and not chunk.isspace():
                    n = wordish_count(chunk)
                    if not n:
                        pass
                    elif linked:
                        link += n
                    elif n >= 10 and punct_count(chunk) >= 1 and not _LEGAL.search(chunk):
                        good += n
                    else:
                        bad += n
                child = next(children, None)
                if child is None:
                    break
                s = stats.get(child)
                if s:
                    good += s[0]
                    bad += s[1]
                    link += s[2]
                chunk = child.tail
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
    if cjk_count(text) + latin_count(text) // 4 < MIN_BODY_CHARS:
        return False
    total = wordish_count(text) or 1
    linked = sum(wordish_count(_content(a) or "") for a in node.iter("a") if not _holds_blocks(a))
    return linked / total < 0.5


_META_LINE = re.compile(r"(?:来源|來源|发布时间|發布時間|作者|编辑|时间|日期|浏览|点击|字号)\s*[:：]")
_HAS_DATE = re.compile(r"(?:19|20)\d{2}\s*[-年/.]\s*\d{1,2}")


def _metaish(line: str) -> bool:
    return bool(
        _HAS_DATE.search(line) and (_META_LINE.search(line) or len(line) <= 40)
        or _META_LINE.search(line) and len(line) <= 40
        or re.match(r"^(?:首页|当前位置|您的位置|位置)\s*[>:：»]", line)
        or line.count(">") >= 2 or line.count("»") >= 2
        or re.match(r"^(?:www\.|https?://)\S+(?:$|\s.{0,40}$)", line)  # 'http://news.sina.com.cn 2004年…'

        or re.search(r"(?:记者|通讯员)\s*[\u3400-\u9fff]{2,4}(?:\s+[\u3400-\u9fff]{2,4})*$", line) and len(line) <= 40
        or (len(line) <= 4 and not punct_count(line))
    )


def _clean_body_lines(lines: list[str], title: str) -> tuple[list[str], str | None]:
    # generic rules (crawler.extract.generic): comments, chrome and a doubled copy are never body
    lines = drop_repeats(cut_chrome(cut_comments(lines)))
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
