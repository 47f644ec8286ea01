"""Article extraction: site rules first, trafilatura as the fallback, then the date chain."""
from __future__ import annotations

from datetime import datetime, timezone

import trafilatura

from crawler.article import Extracted
from crawler.config import Rules
from crawler.decode import decode


def extract(page: bytes | str, url: str, rules: Rules | None = None, content_type: str | None = None,
            now: datetime | None = None) -> Extracted:
    """Extract one article page. Bytes are decoded here (crawler.decode); never raises on bad HTML."""
    if isinstance(page, bytes):
        html, encoding = decode(page, content_type)
    else:
        html, encoding = page, None
    result = Extracted(url=url, encoding=encoding)
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=True, as_dict=True) or {}
    result.title = (doc.get("title") or "").strip()
    result.body = (doc.get("text") or "").strip()
    result.author = doc.get("author")
    if doc.get("date"):
        day = datetime.fromisoformat(doc["date"]).replace(tzinfo=timezone.utc)
        if day <= (now or datetime.now(timezone.utc)):
            result.published_at, result.date_source, result.date_precision = day, "htmldate", "day"
    return result
