"""Government documents: the metadata table (索引号, 分类, 发文机关, 成文日期, 发布日期, 文号) read into its own fields."""
from __future__ import annotations

import re

from crawler.extract.dates import Candidate, parse_datetime
from crawler.extract.html import _lines

# Labels a metadata table shows (TRS / Hanweb / gov.cn templates); spaces inside a label are padding ('索 引 号').
LABELS = ("索引号", "主题分类", "组配分类", "体裁分类", "组织分类", "服务对象分类", "信息分类", "分类", "发文机关", "发文单位",
          "发布机构", "所属机构", "成文日期", "生成日期", "印发日期", "发文日期", "发布日期", "发布时间", "公开日期",
          "生效日期", "废止日期", "实施日期", "发文字号", "文号", "标题", "名称", "主题词", "有效性", "时效性", "效力状态",
          "公开方式", "公开范围", "公开时限", "统一编号", "信息来源", "内容概述", "来源")
# A block is a metadata table when it shows at least three of these.
CORE = {"索引号", "主题分类", "信息分类", "分类", "发文机关", "发文单位", "发布机构", "成文日期", "生成日期", "印发日期",
        "发文日期", "发布日期", "发文字号", "文号"}
# Canonical names other code reads, set beside the page's own label when the page uses a variant.
ALIASES = {"发文字号": "文号", "发文单位": "发文机关", "发布机构": "发文机关", "发布时间": "发布日期", "公开日期": "发布日期",
           "生成日期": "成文日期", "印发日期": "成文日期", "发文日期": "成文日期"}
# Cheap test on the raw page before any table is looked for: one of these words, or 索引号 spaced out.
_PAD = r"(?:\s|\u3000|&nbsp;|&#160;)*"
_GATE_WORDS = ("成文日期", "生成日期", "发文机关", "发文字号", "主题分类", "发布机构", "印发日期")
_INDEX_NUMBER = re.compile(rf"索{_PAD}引{_PAD}号")
_BY_LAST: dict[str, tuple[str, ...]] = {}
for _word in _GATE_WORDS:
    _BY_LAST[_word[-1]] = (*_BY_LAST.get(_word[-1], ()), _word)


def is_document(html: str) -> bool:
    """Whether the page holds a gate word or 索引号 (spaced or not): it may hold a government document's table.

    Found by character: each word where its last character stands, 索引号 where a 索 does. str.find of one
    character skips through the text; a regular expression of the same words, tried at every position, cost
    0.44 ms on a real 146 KB page."""
    for last, words in _BY_LAST.items():
        at = html.find(last)
        while at >= 0:
            if any(at + 1 >= len(word) and html.startswith(word, at + 1 - len(word)) for word in words):
                return True
            at = html.find(last, at + 1)
    at = html.find("索")
    while at >= 0:
        if _INDEX_NUMBER.match(html, at):
            return True
        at = html.find("索", at + 1)
    return False


_SPACED = [(label, r"[ \t\u3000\u00a0]*".join(label)) for label in LABELS]
_LABEL = re.compile(
    r"(?:^|(?<=[\n\s|｜]))(?P<label>" + "|".join(pattern for _label, pattern in _SPACED) + r")"
    r"[ \t\u3000\u00a0]*(?:[:：][ \t\u3000\u00a0]*|(?=\n|$))",
)
_CONTAINERS = ("table", "tbody", "div", "ul", "ol", "dl", "section", "form")
MAX_BLOCK_CHARS = 1500


def _pairs(text: str) -> tuple[dict[str, str], int]:
    """'索 引 号：\nxxx\n主题分类：yyy …' → ({'索引号': 'xxx', '主题分类': 'yyy', …}, characters the pairs cover).
    A value runs to the next label or the end of its line; a label alone on its line takes the next line."""
    out: dict[str, str] = {}
    covered = 0
    matches = list(_LABEL.finditer(text))
    for k, match in enumerate(matches):
        stop = matches[k + 1].start() if k + 1 < len(matches) else len(text)
        rest = text[match.end():stop]
        lead = len(rest) - len(rest.lstrip("\n"))
        line_end = rest.find("\n", lead)
        raw = rest[: line_end if line_end >= 0 else len(rest)]
        covered += match.end() - match.start() + len(raw)
        value = re.sub(r"\s+", " ", raw).strip(" |｜")
        label = re.sub(r"[ \t\u3000\u00a0]", "", match.group("label"))
        if value and len(value) <= 200 and label not in out:
            out[label] = value
    for variant, canonical in ALIASES.items():
        if variant in out and canonical not in out:
            out[canonical] = out[variant]
    return out, covered


def _parse(text: str) -> dict[str, str]:
    return _pairs(text)[0]


def _share(el) -> tuple[dict[str, str], float]:
    """An element's table fields and the share of its text (newlines aside) the label/value pairs cover."""
    text = "\n".join(_lines(el, MAX_BLOCK_CHARS + 1))
    fields, covered = _pairs(text)
    size = len(text.replace("\n", "")) or 1
    return fields, covered / size


def meta_elements(block) -> list:
    """What to remove for a metadata table: the block itself when label/value pairs are nearly all its text,
    else (labels written as paragraphs beside the document's text) its children that are such pairs."""
    _fields, share = _share(block)
    if share >= 0.8:
        return [block]
    out = []
    for child in block:
        if not isinstance(child.tag, str):
            continue
        fields, part = _share(child)
        if fields and part >= 0.8:
            out.append(child)
    return out


def find_meta_block(root):
    """(the element holding a metadata table, its fields) or (None, {}): of the containers around label
    texts, the one showing the most table labels within MAX_BLOCK_CHARS, the deepest on a tie."""
    candidates: dict = {}
    hits = 0
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if not any(chunk and _LABEL.search(chunk) for chunk in (el.text, el.tail)):
            continue
        hits += 1
        depth = 0
        for up in ([el] if el.tag.lower() in _CONTAINERS else []) + list(el.iterancestors()):
            if up.tag.lower() in _CONTAINERS:
                candidates.setdefault(up, None)
                depth += 1
                if depth >= 6:
                    break
        if hits >= 40:
            break
    best, best_fields, best_key = None, {}, (0, 0)
    for el in candidates:
        text = "\n".join(_lines(el, MAX_BLOCK_CHARS + 1))
        if len(text) > MAX_BLOCK_CHARS:
            continue
        fields = _parse(text)
        core = len(CORE & set(fields))
        if core < 3:
            continue
        key = (core, sum(1 for _ in el.iterancestors()))
        if key > best_key:
            best, best_fields, best_key = el, fields, key
    return best, best_fields


def publish_candidates(meta: dict[str, str], candidates: list) -> list:
    """The publish date is 发布日期 (a 'rule' candidate, first), never 成文日期: candidates on the 成文日期 day
    are dropped when 发布日期 names another day."""
    published = parse_datetime(meta.get("发布日期", ""))
    if not published:
        return candidates
    pub = Candidate(published[0], "rule", published[1])
    written = parse_datetime(meta.get("成文日期", ""))
    if written and written[0].date() != published[0].date():
        day = written[0].date()
        candidates = [c for c in candidates if c.local().date() != day]
    return [pub, *candidates]
