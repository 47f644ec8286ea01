"""The value an extraction returns: what one article page (or a joined multi-page article) says."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass
class Extracted:
    """Fields extracted from an article; published_at is timezone-aware UTC, body is paragraphs joined by newlines."""

    url: str
    title: str = ""
    body: str = ""
    published_at: datetime | None = None
    date_source: str | None = None  # rule|meta|text|url|htmldate
    date_precision: str | None = None  # minute|second|day
    author: str | None = None
    editor: str | None = None
    original_source: str | None = None  # the article's own 来源 ("重庆日报")
    subtitle: str | None = None
    source_name: str | None = None  # the site's 来源 label (人民网); set by the caller that knows the config
    extractor: str = "trafilatura"
    encoding: str | None = None
    blocked: str | None = None  # why this page is a block/challenge page and not an article
    warnings: list[str] = field(default_factory=list)
    # a government document's metadata table, keyed by the page's own labels without the colon ('索引号', '分类'
    # or '主题分类', '发文机关', '成文日期', '发布日期', '文号'…); '文号' / '发文机关' also set from '发文字号' /
    # '发文单位' / '发布机构' when the page uses those (crawler.extract.govdoc)
    doc_meta: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        data["published_at"] = self.published_at.isoformat() if self.published_at else None
        return data
