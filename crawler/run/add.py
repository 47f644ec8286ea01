"""Add one article an analyst found elsewhere: fetch, extract, store (origin 'add'), whatever its date."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from crawler.config import SourcesFile
from crawler.db import Database
from crawler.db.models import Article
from crawler.extract import extract
from crawler.run.fetch import FetchError, fetch_page
from crawler.db.store import enrich, store
from crawler.urls import canonical, url_date


class AddError(Exception):
    """The URL could not be added; the message says why."""


@dataclass
class Added:
    article_id: int
    created: bool
    title: str
    source_name: str
    published_at: object


def add_url(database: Database, sources: SourcesFile, url: str, source_name: str | None = None,
            replay_url: str | None = None, after_save=None) -> Added:
    """Fetch `url`, extract it with its site's rules (if it belongs to a configured site) and store it."""
    url = canonical(url)
    if urlsplit(url).scheme not in ("http", "https"):
        raise AddError(f"{url}: only http and https URLs can be added")
    try:
        page = fetch_page(url, sources.user_agent, replay_url)
    except FetchError as exc:
        raise AddError(str(exc)) from None
    source = sources.source_for_url(url)
    extracted = extract(page.body, url, source.rules if source else None, (page.headers or {}).get("Content-Type"))
    if extracted.blocked:
        raise AddError(f"{url}: not an article page ({extracted.blocked})")
    extracted.source_name = source_name or (source.label_for(url) if source else urlsplit(url).hostname)
    day = url_date(url, source.compiled_patterns()) if source else None
    created = store(database, url, extracted, source.name if source else "manual", [page], url_date=day,
                    origin="add", after_save=after_save or enrich())
    with database.session() as session:
        article = session.scalar(select(Article).where(Article.url == url))
        return Added(article.id, created, article.title, article.source_name, article.published_at)
