"""Re-run extraction on stored raw HTML after the rules improve: no network, a report of what changed.

The work is spread over the extraction pool: the crawl process reads batches of stored articles (the fields
and the still-compressed pages, no ORM objects), the workers decompress, extract and compare
(crawler.analyse.rerun), and only the fields that changed come back to be written. The next batch is read
and queued while the workers are busy with the current one."""
from __future__ import annotations

from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from crawler.analyse.pool import get_pool, warm_up
from crawler.analyse.rerun import FIELDS, compare_many
from crawler.config import SourcesFile
from crawler.db import Database
from crawler.db.models import Article, RawPage
from crawler.db.store import enrich
from crawler.window import SHANGHAI, now_utc

CHUNK = 8  # articles per pool task


@dataclass
class ReextractReport:
    examined: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0  # the new extraction found no body: the stored fields are kept
    fields: Counter = field(default_factory=Counter)
    examples: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # id, url, field, old, new


def reextract(database: Database, sources: SourcesFile, since: date | None = None, site: str | None = None,
              dry_run: bool = False, batch: int = 200, workers: int | None = None) -> ReextractReport:
    """Extract every stored article again (filtered by publish day and site); update the ones that changed."""
    report = ReextractReport()
    pool = get_pool(workers)
    if isinstance(pool, ProcessPoolExecutor):  # the workers import the extractor while the ids are read
        warm_up(workers)
    ids = _selected_ids(database, since, site)
    rescore = enrich()
    rules_of = _rules_lookup(sources)
    in_flight: deque = deque()  # (rows, futures) of the batches queued in the pool, oldest first
    for start in range(0, len(ids), batch):
        in_flight.append(_submit_batch(pool, database, ids[start:start + batch], rules_of))
        if len(in_flight) > 1:  # keep one batch queued behind the one being collected
            _collect_batch(database, *in_flight.popleft(), report, dry_run, rescore)
    while in_flight:
        _collect_batch(database, *in_flight.popleft(), report, dry_run, rescore)
    return report


def _selected_ids(database: Database, since: date | None, site: str | None) -> list[int]:
    query = select(Article.id).order_by(Article.id)
    if site:
        query = query.where(Article.site == site)
    if since:
        from datetime import datetime, time

        query = query.where(Article.published_at >= datetime.combine(since, time.min, SHANGHAI))
    with database.session() as session:
        return list(session.scalars(query).all())


def _rules_lookup(sources: SourcesFile):
    """rules_of(site, url): the site's rules, else those of the source whose URL patterns match (cached by site)."""
    by_site: dict = {}
    missing = object()

    def rules_of(site: str, url: str):
        rules = by_site.get(site)
        if rules is None:
            try:
                rules = by_site[site] = sources.get(site).rules
            except KeyError:
                by_site[site] = missing
                rules = missing
        if rules is missing:
            source = sources.source_for_url(url)
            return source.rules if source else None
        return rules

    return rules_of


def _submit_batch(pool, database: Database, ids: list[int], rules_of) -> tuple[list, list]:
    """Read one batch (stored fields and compressed pages, as plain rows) and queue it in the pool, CHUNK
    articles per task. Returns the rows of the articles that have pages, and one future per chunk."""
    columns = [getattr(Article, name) for name in FIELDS]
    with database.session() as session:
        articles = session.execute(select(Article.id, Article.url, Article.site, *columns)
                                   .where(Article.id.in_(ids)).order_by(Article.id)).all()
        pages: dict[int, list] = {}
        for article_id, url, headers, html_gz in session.execute(
                select(RawPage.article_id, RawPage.url, RawPage.headers, RawPage.html_gz)
                .where(RawPage.article_id.in_(ids)).order_by(RawPage.article_id, RawPage.page_no)):
            pages.setdefault(article_id, []).append((html_gz, url, (headers or {}).get("Content-Type")))
    rows, jobs = [], []
    for row in articles:
        if row.id not in pages:
            continue
        rows.append(row)
        jobs.append((row.url, rules_of(row.site, row.url), pages[row.id], tuple(row[3:])))
    futures = [pool.submit(compare_many, jobs[at:at + CHUNK]) for at in range(0, len(jobs), CHUNK)]
    return rows, futures


def _collect_batch(database: Database, rows: list, futures: list, report: ReextractReport, dry_run: bool,
                   rescore) -> None:
    """Count one batch's outcomes in the report and write the changed fields (unless dry_run)."""
    outcomes = [outcome for future in futures for outcome in future.result()]
    updates: dict[int, tuple[dict, str]] = {}
    for row, outcome in zip(rows, outcomes):
        report.examined += 1
        if outcome is None:
            report.failed += 1
            continue
        changed, extractor = outcome
        if not changed:
            report.unchanged += 1
            continue
        report.changed += 1
        old = dict(zip(FIELDS, row[3:]))
        for name, value in changed.items():
            report.fields[name] += 1
            if len(report.examples) < 20:
                report.examples.append((row.id, row.url, name, _short(old[name]), _short(value)))
        updates[row.id] = (changed, extractor)
    if updates and not dry_run:
        _write(database, updates, rescore)


def _write(database: Database, updates: dict[int, tuple[dict, str]], rescore) -> None:
    """Set the changed fields of these articles; rescore (relevance, cluster) those whose title or body changed."""
    with database.session() as session:
        for article in session.scalars(select(Article).where(Article.id.in_(list(updates))).order_by(Article.id)):
            changed, extractor = updates[article.id]
            for name, value in changed.items():
                setattr(article, name, value)
            article.extractor = extractor
            article.updated_at = now_utc()
            if {"title", "body"} & set(changed):
                rescore(session, article)


def _short(value) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text if len(text) <= 60 else text[:57] + "…"
