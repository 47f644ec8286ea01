"""The re-extraction worker's job: decompress stored pages, extract again, return only the fields that changed."""
from __future__ import annotations

from collections.abc import Sequence

from crawler.analyse.prepare import gunzip_page

FIELDS = ("title", "body", "published_at", "date_source", "date_precision", "author", "editor", "original_source",
          "subtitle")


def compare(url: str, rules, pages_gz: Sequence[tuple[bytes, str, str | None]], old: Sequence) -> tuple[dict, str] | None:
    """Extract the stored pages (gzip, url, content type) of one article again; None when the new extraction
    found no body (the stored fields are kept), else ({field: new value} for the FIELDS that differ from `old`,
    given in FIELDS order, and the extractor's name)."""
    from crawler.extract.core import extract  # imported when the worker started (pool.start_worker)

    (first_gz, _first_url, content_type), *more = pages_gz
    new = extract(gunzip_page(first_gz), url, rules, content_type,
                  more_pages=[(gunzip_page(gz), page_url) for gz, page_url, _ in more])
    if new.blocked or not new.body:
        return None
    changed = {}
    for name, before in zip(FIELDS, old):
        value = getattr(new, name)
        if value != before:
            changed[name] = value
    return changed, new.extractor


def compare_many(jobs: Sequence[tuple]) -> list[tuple[dict, str] | None]:
    """compare() over several articles in one pool task: one round trip and one pickle of the rules per chunk."""
    return [compare(*job) for job in jobs]
