"""The week's candidates: every stored article of the window scored, grouped by near-duplicate cluster, ranked."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, aliased, load_only, undefer

from crawler.db.models import Article, Digest, DigestItem
from crawler.db.cluster import as_utc, assign_cluster
from crawler.analyse.relevance import Lexicon, default_lexicon, score, stored
from crawler.window import SHANGHAI, Window


@dataclass
class Candidate:
    """One story: the copy the issue prints (`article`) and the other copies (`also`), with its relevance."""

    article: Article
    score: float
    terms: list[str]
    relevant: bool
    also: list[Article] = field(default_factory=list)
    printed_in: list[int] = field(default_factory=list)  # numbers of earlier issues that printed this story

    @property
    def id(self) -> int:
        return self.article.id

    @property
    def published_on(self) -> date | None:
        return shanghai_day(self.article.published_at)

    def member_ids(self) -> set[int]:
        return {self.article.id} | {a.id for a in self.also}

    def to_json(self) -> dict:
        return {
            "id": self.article.id,
            "title": self.article.title,
            "source_name": self.article.source_name,
            "url": self.article.url,
            "published_at": as_utc(self.article.published_at).isoformat() if self.article.published_at else None,
            "score": self.score,
            "relevant": self.relevant,
            "terms": self.terms,
            "cluster_id": self.article.cluster_id,
            "also_reported_by": [{"id": a.id, "source_name": a.source_name, "url": a.url} for a in self.also],
            "printed_in": self.printed_in,
        }


def shanghai_day(moment: datetime | None) -> date | None:
    return as_utc(moment).astimezone(SHANGHAI).date() if moment else None


def published_key(article: Article) -> tuple[float, int]:
    """Date order: published_at, then id; undated articles last."""
    return (as_utc(article.published_at).timestamp() if article.published_at else float("inf"), article.id)


# what ranking and listing a week read: a week holds thousands of articles and a list shows a hundred titles
LISTED = (Article.url, Article.site, Article.source_name, Article.title, Article.published_at, Article.minhash,
          Article.cluster_id, Article.relevance, Article.relevance_terms, Article.relevant, Article.relevance_lexicon,
          Article.status)


def window_articles(session: Session, window: Window) -> list[Article]:
    """The window's stored articles with only the LISTED columns loaded. Any other column (the body, say) is read
    when it is used (`article.body`: one query per article), or for many articles at once with load_bodies()."""
    query = (select(Article).where(Article.published_at >= window.start, Article.published_at < window.end,
                                   Article.status == "ok")
             .options(load_only(*LISTED)).order_by(Article.published_at, Article.id))
    with collector_paused():
        return list(session.scalars(query))


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector while thousands of ORM objects that all stay alive are built: each
    few hundred allocations would otherwise trigger a collection that walks them again (a quarter of a week's
    load time, measured; the review page's week view pauses it for the whole page). Re-enabled only if it was
    on: another thread's pause is not undone early."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


BODY_BATCH = 500  # ids per query when loading bodies


def load_bodies(session: Session, articles) -> None:
    """Load the bodies of these articles (window_articles left them out) with a few queries, not one each."""
    missing = [a.id for a in articles if a.id is not None and "body" in inspect(a).unloaded]
    for at in range(0, len(missing), BODY_BATCH):
        session.scalars(select(Article).where(Article.id.in_(missing[at:at + BODY_BATCH]))
                        .options(undefer(Article.body))).all()


def rescore(session: Session, articles: list[Article], lexicon: Lexicon) -> None:
    """Score again the articles another lexicon scored (the lexicon changed since; a score is stored with its
    lexicon's fingerprint, so a week is scored once, not on every look); give unclustered ones their cluster."""
    stale = [a for a in articles if a.relevance_lexicon != lexicon.fingerprint or a.relevant is None]
    load_bodies(session, stale)
    for article in stale:
        for name, value in stored(score(article.title, article.body, lexicon), lexicon).items():
            if getattr(article, name) != value:
                setattr(article, name, value)
    for article in articles:
        if article.minhash is None or article.cluster_id is None:
            assign_cluster(session, article)
    session.flush()


def representative(members: list[Article], preferred_sources: list[str]) -> Article:
    """The configured preferred source present in the cluster (first in the list wins), else the earliest copy."""
    rank = {name: i for i, name in enumerate(preferred_sources)}
    preferred = [m for m in members if m.source_name in rank]
    if preferred:
        return min(preferred, key=lambda m: (rank[m.source_name], published_key(m)))
    return min(members, key=published_key)


def candidates(session: Session, window: Window, lexicon: Lexicon | None = None,
               preferred_sources: list[str] | None = None) -> list[Candidate]:
    """All stories of the window, best first (score, then date): one Candidate per near-duplicate cluster."""
    lexicon = lexicon or default_lexicon()
    articles = window_articles(session, window)
    rescore(session, articles, lexicon)
    clusters: dict[int, list[Article]] = {}
    for article in articles:
        clusters.setdefault(article.cluster_id or article.id, []).append(article)
    out = []
    for members in clusters.values():
        chosen = representative(members, preferred_sources or [])
        best = max(members, key=lambda m: (m.relevance or 0.0, -m.id))
        others = sorted((m for m in members if m.id != chosen.id), key=published_key)
        out.append(Candidate(chosen, best.relevance or 0.0, list(best.relevance_terms or []), bool(best.relevant),
                             others))
    printed = printed_before(session, window, list(clusters))
    for candidate in out:
        candidate.printed_in = printed.get(candidate.article.cluster_id or candidate.article.id, [])
    out.sort(key=lambda c: (-c.score, published_key(c.article)))
    return out


def printed_before(session: Session, window: Window, cluster_ids: list[int]) -> dict[int, list[int]]:
    """cluster id → numbers of earlier issues that printed a copy of that story (a copy from last week, say)."""
    if not cluster_ids:
        return {}
    # the window's cluster keys as a subquery, not thousands of bound parameters (PostgreSQL planned a 3,000-id
    # IN list in longer than it took to run)
    week = aliased(Article)
    keys = select(func.coalesce(week.cluster_id, week.id)).where(
        week.published_at >= window.start, week.published_at < window.end, week.status == "ok")
    query = (select(Article.cluster_id, Digest.number)
             .join(DigestItem, DigestItem.article_id == Article.id)
             .join(Digest, Digest.id == DigestItem.digest_id)
             .where(Article.cluster_id.in_(keys), Digest.friday < window.last)
             .order_by(Digest.number))
    wanted = set(cluster_ids)
    found: dict[int, list[int]] = {}
    for cluster_id, number in session.execute(query):
        if cluster_id in wanted:
            found.setdefault(cluster_id, []).append(number)
    return found
