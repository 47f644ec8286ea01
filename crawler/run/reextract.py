"""Re-run extraction on stored raw HTML after the rules improve: no network, a report of what changed."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crawler.extract.article import Extracted
from crawler.config import SourcesFile
from crawler.db import Database
from crawler.db.models import Article
from crawler.extract import extract
from crawler.analyse.pool import get_pool
from crawler.db.store import enrich, raw_html
from crawler.window import SHANGHAI, now_utc

FIELDS = ("title", "body", "published_at", "date_source", "date_precision", "author", "editor", "original_source",
          "subtitle")


@dataclass
class ReextractReport:
    examined: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0  # the new extraction found no body: the stored fields are kept
    fields: Counter = field(default_factory=Counter)
    examples: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # id, url, field, old, new


def _job(pages: list[tuple[bytes, str, str | None]], url: str, rules) -> Extracted:
    (first, first_url, content_type), *more = pages
    return extract(first, url, rules, content_type, more_pages=[(body, page_url) for body, page_url, _ in more])


def reextract(database: Database, sources: SourcesFile, since: date | None = None, site: str | None = None,
              dry_run: bool = False, batch: int = 200, workers: int | None = None) -> ReextractReport:
    """Extract every stored article again (filtered by publish day and site); update the ones that changed."""
    report = ReextractReport()
    query = select(Article.id).order_by(Article.id)
    if site:
        query = query.where(Article.site == site)
    if since:
        from datetime import datetime, time

        query = query.where(Article.published_at >= datetime.combine(since, time.min, SHANGHAI))
    with database.session() as session:
        ids = session.scalars(query).all()
    pool = get_pool(workers)
    rescore = enrich()
    for start in range(0, len(ids), batch):
        with database.session() as session:
            articles = session.scalars(select(Article).where(Article.id.in_(ids[start:start + batch]))
                                       .options(selectinload(Article.pages))).all()
            jobs = []
            for article in articles:
                if not article.pages:
                    continue
                try:
                    rules = sources.get(article.site).rules
                except KeyError:
                    source = sources.source_for_url(article.url)
                    rules = source.rules if source else None
                pages = [(raw_html(p), p.url, (p.headers or {}).get("Content-Type")) for p in article.pages]
                jobs.append((article, pool.submit(_job, pages, article.url, rules)))
            for article, future in jobs:
                report.examined += 1
                new = future.result()
                if new.blocked or not new.body:
                    report.failed += 1
                    continue
                changed = [name for name in FIELDS if getattr(new, name) != getattr(article, name)]
                if not changed:
                    report.unchanged += 1
                    continue
                report.changed += 1
                for name in changed:
                    report.fields[name] += 1
                    if len(report.examples) < 20:
                        report.examples.append((article.id, article.url, name, _short(getattr(article, name)),
                                                _short(getattr(new, name))))
                    if not dry_run:
                        setattr(article, name, getattr(new, name))
                if not dry_run:
                    article.extractor = new.extractor
                    article.updated_at = now_utc()
                    if {"title", "body"} & set(changed):
                        rescore(session, article)
            if dry_run:
                session.rollback()
    return report


def _short(value) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text if len(text) <= 60 else text[:57] + "…"
