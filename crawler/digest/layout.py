"""The 周报 as data: an Issue with its items, and its layout as a flat list of typed blocks every renderer follows.

The layout is the published one (see docs/digest.md and the seeds):

    全国卫生信息化舆情监测周报 / （第六七四） / organisation / date
    本期导语： / 本期周报共收集 N 篇…
    一、信息目录 / "1. title" "（来源）" …
    二、具体内容 / per article: "1. title", 来源：…, 链接：, URL, [同题报道：…], 主要内容：, [kicker], title, "date 来源：name", body
      (the bracketed lines only when config/digest.yaml switches them on: print_also_reported, print_kicker)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from crawler.digest.settings import DigestSettings


@dataclass
class IssueItem:
    """One printed article, with the text as printed (frozen in digest_items so a rebuild is identical)."""

    position: int
    title: str
    source_name: str
    url: str
    published_on: date | None
    body: str  # paragraphs joined by "\n"
    also_reported_by: list[dict] = field(default_factory=list)  # [{"source_name", "url", "title", "article_id"}]
    article_id: int | None = None
    kicker: str | None = None  # 引题: printed above the repeated title under 主要内容 (e-paper articles have one)

    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.body.split("\n") if p.strip()]


@dataclass
class Issue:
    number: int
    friday: date
    window_first: date
    window_last: date
    organisation: str
    items: list[IssueItem] = field(default_factory=list)


@dataclass(frozen=True)
class Block:
    """kind: title|number|organisation|date|section|lead|toc_title|toc_source|item_heading|field|link|also|
    item_kicker|item_title|item_date|body. `url` for link blocks; `links` [(name, url)] for the also block;
    `anchor` names an article: its 信息目录 entry links to it, its heading in 二、具体内容 is the target."""

    kind: str
    text: str
    url: str | None = None
    links: tuple[tuple[str, str], ...] = ()
    anchor: str | None = None


def anchor_of(n: int) -> str:
    """The bookmark name of article n (letters and digits: valid in DOCX bookmarks and HTML ids)."""
    return f"item{n}"


def layout(issue: Issue, settings: DigestSettings) -> list[Block]:
    """Every paragraph of the issue, in order, typed."""
    out = [
        Block("title", settings.title),
        Block("number", settings.number_text(issue.number)),
        Block("organisation", issue.organisation),
        Block("date", settings.date_text(issue.friday)),
        Block("section", "本期导语："),
        Block("lead", settings.lead_text(len(issue.items), issue.window_first, issue.window_last)),
        Block("section", "一、信息目录"),
    ]
    for n, item in enumerate(issue.items, start=1):
        out.append(Block("toc_title", f"{n}. {item.title}", anchor=anchor_of(n)))
        out.append(Block("toc_source", f"（{item.source_name}）"))
    out.append(Block("section", "二、具体内容"))
    for n, item in enumerate(issue.items, start=1):
        out.append(Block("item_heading", f"{n}. {item.title}", anchor=anchor_of(n)))
        out.append(Block("field", f"来源：{item.source_name}"))
        out.append(Block("field", "链接："))
        out.append(Block("link", item.url, url=item.url))
        if item.also_reported_by and settings.print_also_reported:
            links = tuple((a.get("source_name") or "", a.get("url") or "") for a in item.also_reported_by)
            names = "、".join(name for name, _ in links)
            out.append(Block("also", f"{settings.also_reported_label}：{names}", links=links))
        out.append(Block("field", "主要内容："))
        if item.kicker and settings.print_kicker:
            out.append(Block("item_kicker", item.kicker))
        out.append(Block("item_title", item.title))
        dated = f"{settings.item_date_text(item.published_on)} " if item.published_on else ""
        out.append(Block("item_date", f"{dated}来源：{item.source_name}"))
        out.extend(Block("body", paragraph) for paragraph in item.paragraphs())
    return out
