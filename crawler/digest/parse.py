"""Read a published 周报 back from its text (as extracted from the PDF): header, lead and articles.

Tolerant of what PDF extraction does to the text: paragraphs broken at line ends, URLs broken across lines,
half- and full-width punctuation mixed, `<url>` autolinks, spaces between Chinese and digits, an optional
"标题:" before an article title, a missing date line. Used to backfill past issues and by the seed tests.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from crawler.digest.numbering import parse_chinese_digits

NUMBER_RE = re.compile(r"^[（(]\s*第\s*([零〇一二三四五六七八九]+)\s*(期)?\s*[）)]$")
CN_DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
ITEM_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})\s*来源\s*[:：]\s*(.+)$")
LEAD_RE = re.compile(r"本期周报共收集\s*(\d+)\s*篇")
URL_DATE_RES = [re.compile(r"/(20\d\d)[/-]?(\d\d)[/-]?(\d\d)/"), re.compile(r"/(20\d\d)(\d\d)/(\d\d)/"),
                re.compile(r"/(20\d\d)-(\d\d)/(\d\d)/")]


@dataclass
class ParsedItem:
    number: int
    title: str
    source_name: str
    url: str
    published_on: date | None
    body: list[str]
    kicker: str | None = None  # a line printed above the title under 主要内容 (引题)
    has_date_line: bool = True
    title_label: bool = False  # the heading said "标题:"


@dataclass
class ParsedIssue:
    number: int | None
    number_has_qi: bool
    organisation: str | None
    issue_date: date | None
    lead: str | None
    count: int | None
    window_first: date | None
    window_last: date | None
    items: list[ParsedItem] = field(default_factory=list)


def squash(text: str) -> str:
    """NFKC, no whitespace: the form two texts are compared in."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def blocks(text: str) -> list[str]:
    """Paragraphs: runs of non-blank lines (whitespace-only lines are blank), each stripped."""
    out, current = [], []
    for line in text.splitlines():
        if line.strip():
            current.append(line.strip())
        elif current:
            out.append("\n".join(current))
            current = []
    if current:
        out.append("\n".join(current))
    return out


TERMINAL = tuple("。！？!?”’」』）)…：:；;")
BULLETS = tuple("●■◆▲★•·")


def rejoin_wrapped(lines: list[str]) -> list[str]:
    """Join lines the PDF wrapped: a line as wide as the widest lines that does not end a sentence continues."""
    if len(lines) < 3:
        return lines
    widths = sorted(len(squash(line)) for line in lines)
    full = widths[int(len(widths) * 0.8)] * 0.85
    out: list[str] = []
    carry = False
    for line in lines:
        if carry and out and not line.lstrip().startswith(BULLETS):
            out[-1] += line
        else:
            out.append(line)
        carry = len(squash(line)) >= full and not line.rstrip().endswith(TERMINAL)
    return out


def _cn_date(text: str) -> date | None:
    match = CN_DATE_RE.search(text)
    return date(int(match[1]), int(match[2]), int(match[3])) if match else None


def date_from_url(url: str) -> date | None:
    for rx in URL_DATE_RES:
        match = rx.search(url)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                continue
    return None


def _strip_number(block: str, n: int) -> str | None:
    match = re.match(rf"^{n}\s*[.．、]\s*(.*)$", block, re.S)
    return match[1].strip() if match else None


def _label(block: str, label: str) -> str | None:
    match = re.match(rf"^{label}\s*[:：]\s*(.*)$", block, re.S)
    return match[1].strip() if match else None


def _url_piece(block: str) -> str:
    return block.strip().strip("<>").replace("\n", "")


def parse_issue(text: str) -> ParsedIssue:
    """Parse the text of one issue; raise ValueError when its structure cannot be found."""
    paras = blocks(text)
    keys = [squash(p) for p in paras]
    try:
        toc_at = next(i for i, k in enumerate(keys) if k.endswith("信息目录"))
        content_at = next(i for i, k in enumerate(keys) if k.endswith("具体内容") and i > toc_at)
    except StopIteration:
        raise ValueError("no 一、信息目录 / 二、具体内容 sections") from None
    number, has_qi, organisation, issue_date, lead = None, False, None, None, None
    for para in paras[:toc_at]:
        flat = squash(para)
        match = NUMBER_RE.match(flat)
        if match:
            number, has_qi = parse_chinese_digits(match[1]), bool(match[2])
        elif "中心" in flat and organisation is None and "周报" not in flat:
            organisation = CN_DATE_RE.sub("", para).strip()
            issue_date = issue_date or _cn_date(para)
        elif issue_date is None and CN_DATE_RE.fullmatch(para.replace(" ", "")):
            issue_date = _cn_date(para)
    lead_start = next((i for i, k in enumerate(keys[:toc_at]) if k.startswith("本期周报")), None)
    count = first = last = None
    if lead_start is not None:
        lead = "".join(paras[lead_start:toc_at])
        match = LEAD_RE.search(squash(lead))
        count = int(match[1]) if match else None
        dates = [date(int(y), int(m), int(d)) for y, m, d in CN_DATE_RE.findall(lead)]
        if len(dates) >= 2:
            first, last = dates[0], dates[1]
    issue = ParsedIssue(number, has_qi, organisation, issue_date, lead, count, first, last)

    toc: list[tuple[str, str]] = []
    i, n = toc_at + 1, 1
    while i < content_at:
        title = _strip_number(paras[i], n)
        if title is None:
            i += 1
            continue
        source = ""
        if i + 1 < content_at and re.fullmatch(r"[（(].+[）)]", paras[i + 1].strip()):
            source = paras[i + 1].strip()[1:-1].strip()
            i += 1
        toc.append((title, source))
        n, i = n + 1, i + 1

    # article headings: "n. [标题:] title" whose title matches the n-th 信息目录 entry
    starts = []
    search_from = content_at + 1
    for n, (title, _source) in enumerate(toc, start=1):
        for j in range(search_from, len(paras)):
            rest = _strip_number(paras[j], n)
            if rest is not None and squash(re.sub(r"^标题\s*[:：]", "", rest)) == squash(title):
                starts.append(j)
                search_from = j + 1
                break
        else:
            raise ValueError(f"article {n} ({title}) not found under 二、具体内容")
    starts.append(len(paras))
    for n, (title, toc_source) in enumerate(toc, start=1):
        section = paras[starts[n - 1]:starts[n]]
        heading = _strip_number(section[0], n) or ""
        title_label = bool(re.match(r"^标题\s*[:：]", heading))
        heading = re.sub(r"^标题\s*[:：]\s*", "", heading)
        source, url_parts, k = toc_source, [], 1
        while k < len(section):
            value = _label(section[k], "来源")
            if value is not None:
                source = value or source
                k += 1
                continue
            value = _label(section[k], "链接")
            if value is not None:
                if value:
                    url_parts.append(_url_piece(value))
                k += 1
                while k < len(section) and _label(section[k], "主要内容") is None:
                    url_parts.append(_url_piece(section[k]))
                    k += 1
                continue
            if _label(section[k], "主要内容") is not None:
                k += 1
                break
            k += 1
        url = "".join(url_parts)
        # under 主要内容: [kicker] title, then "date 来源: name", then the body
        date_at = None
        for m in range(k, min(k + 4, len(section))):
            if ITEM_DATE_RE.match(section[m].replace("\n", " ")):
                date_at = m
                break
        kicker = None
        if date_at is not None:
            head = section[k:date_at]
            match = ITEM_DATE_RE.match(section[date_at].replace("\n", " "))
            published = date(int(match[1]), int(match[2]), int(match[3]))
            body_from = date_at + 1
            if len(head) >= 2:
                kicker = "".join(head[:-1])
        else:
            published = date_from_url(url)
            body_from = k + 1 if k < len(section) and squash(section[k]) == squash(heading) else k
        body = rejoin_wrapped([line for para in section[body_from:] for line in para.split("\n") if line.strip()])
        issue.items.append(ParsedItem(n, heading, source, url, published, body, kicker,
                                      date_at is not None, title_label))
    return issue
