"""SQLAlchemy 2 typed ORM models: the documented schema (docs/schema.md) that downstream tools read."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite would drop the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: hiwatch stores timezone-aware UTC timestamps only")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict: JSON, list: JSON}


class Run(Base):
    """One crawl (or other job) run: when, how it ended, what window it covered."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="crawl")
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|ok|partial|failed|interrupted
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    sources: Mapped[list] = mapped_column(JSON, default=list)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None]
    args: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)

    source_stats: Mapped[list["RunSource"]] = relationship(back_populates="run", cascade="all, delete-orphan")


class RunSource(Base):
    """Counts for one source within one run."""

    __tablename__ = "run_sources"
    __table_args__ = (UniqueConstraint("run_id", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(64))
    discovery_pages: Mapped[int] = mapped_column(default=0)
    links_found: Mapped[int] = mapped_column(default=0)
    fetched: Mapped[int] = mapped_column(default=0)
    stored: Mapped[int] = mapped_column(default=0)
    skipped_window: Mapped[int] = mapped_column(default=0)
    skipped_seen: Mapped[int] = mapped_column(default=0)
    blocked: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)

    run: Mapped[Run] = relationship(back_populates="source_stats")


class RunDiscovery(Base):
    """What one discovery page gave in one run: its links, those matching an article pattern, those in the window,
    and the new articles stored from them (the discovery health ledger, `hiwatch status`)."""

    __tablename__ = "run_discovery"
    __table_args__ = (UniqueConstraint("run_id", "url"), Index("ix_run_discovery_source_url", "source", "url"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    fetches: Mapped[int] = mapped_column(default=0)
    links_found: Mapped[int] = mapped_column(default=0)
    links_matching: Mapped[int] = mapped_column(default=0)
    links_in_window: Mapped[int] = mapped_column(default=0)
    stored: Mapped[int] = mapped_column(default=0)
    http_status: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)


class FetchFailure(Base):
    """A URL that failed in a run, with its reason (HTTP status, timeout, blocked, no body …)."""

    __tablename__ = "fetch_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # error|blocked|empty
    reason: Mapped[str] = mapped_column(Text)
    http_status: Mapped[int | None]
    at: Mapped[datetime]


class Article(Base):
    """One article, keyed by its canonical URL; the body is clean text, paragraphs separated by newlines."""

    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_published_at", "published_at"),
        Index("ix_articles_site_published", "site", "published_at"),
        Index("ix_articles_content_hash", "content_hash"),
        Index("ix_articles_cluster", "cluster_id"),
        Index("ix_articles_first_run", "first_run_id"),  # revision 0009: a run's articles, at the end of a crawl
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    site: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(64))  # the 来源 label the digest prints (人民网, 光明日报 …)
    original_source: Mapped[str | None] = mapped_column(String(255))  # the article's own 来源 (重庆日报 …)
    issuing_body: Mapped[str | None] = mapped_column(String(255))  # 发文机关 of a government document (revision 0007)
    doc_number: Mapped[str | None] = mapped_column(String(128))  # 文号 / 发文字号 (国卫办医政发〔2025〕12号)
    title: Mapped[str] = mapped_column(Text)
    subtitle: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(255))  # 记者 / 作者
    editor: Mapped[str | None] = mapped_column(String(255))  # 责任编辑
    published_at: Mapped[datetime | None]  # UTC
    date_source: Mapped[str | None] = mapped_column(String(32))  # rule|meta|text|url|htmldate|import
    date_precision: Mapped[str | None] = mapped_column(String(10))  # minute|second|day
    url_date: Mapped[date | None] = mapped_column(Date)
    extractor: Mapped[str | None] = mapped_column(String(64))  # e.g. rules:people, trafilatura
    content_hash: Mapped[str | None] = mapped_column(String(40))
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    cluster_id: Mapped[int | None] = mapped_column(Integer)  # id of the earliest article of its near-duplicate cluster
    relevance: Mapped[float | None] = mapped_column(Float)
    relevance_terms: Mapped[list | None] = mapped_column(JSON)
    relevant: Mapped[bool | None]  # the lexicon's verdict (score, and both axes, over their thresholds)
    relevance_lexicon: Mapped[str | None] = mapped_column(String(16))  # fingerprint of the lexicon that scored it
    status: Mapped[str] = mapped_column(String(20), default="ok")  # ok|excluded
    excluded_reason: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(20), default="crawl")  # crawl|add|import
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    fetched_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    pages: Mapped[list["RawPage"]] = relationship(
        back_populates="article", cascade="all, delete-orphan", order_by="RawPage.page_no"
    )


class MinhashBand(Base):
    """LSH bands of an article's MinHash: articles sharing a band key are near-duplicate candidates."""

    __tablename__ = "minhash_bands"
    __table_args__ = (Index("ix_minhash_bands_key", "band_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    band_key: Mapped[int] = mapped_column(BigInteger)


class RawPage(Base):
    """The fetched bytes of an article page (gzip), so extraction can be re-run without re-crawling."""

    __tablename__ = "raw_pages"
    __table_args__ = (UniqueConstraint("article_id", "page_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    page_no: Mapped[int] = mapped_column(default=1)
    url: Mapped[str] = mapped_column(Text)
    http_status: Mapped[int] = mapped_column(default=200)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    encoding: Mapped[str | None] = mapped_column(String(20))
    html_gz: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    fetched_at: Mapped[datetime]

    article: Mapped[Article] = relationship(back_populates="pages")


class DiscoveryPage(Base):
    """Validators of a discovery page (list, JSON, feed, e-paper index) for conditional requests."""

    __tablename__ = "discovery_pages"

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    links: Mapped[list] = mapped_column(JSON, default=list)  # article links seen there last time (for 304 replies)
    fetched_at: Mapped[datetime]


class Digest(Base):
    """One published (or draft) weekly issue."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    friday: Mapped[date] = mapped_column(Date, unique=True)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    organisation: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft|published
    built_at: Mapped[datetime | None]
    # cli|page: who last built it. Every build updates the row, so anything that does not say otherwise (the
    # CLI's build_issue) records `cli`; the review page sets `page` after building (revision 0006)
    built_by: Mapped[str | None] = mapped_column(String(10), default="cli", onupdate="cli")
    created_at: Mapped[datetime]

    items: Mapped[list["DigestItem"]] = relationship(
        back_populates="digest", cascade="all, delete-orphan", order_by="DigestItem.position"
    )


class DigestItem(Base):
    """An article chosen for an issue, in order, with the text as printed (so a rebuild is identical)."""

    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("digest_id", "position"), UniqueConstraint("digest_id", "article_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    kicker: Mapped[str | None] = mapped_column(Text)  # 引题 printed above the title under 主要内容
    source_name: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    published_on: Mapped[date | None] = mapped_column(Date)
    body: Mapped[str] = mapped_column(Text)
    also_reported_by: Mapped[list] = mapped_column(JSON, default=list)

    digest: Mapped[Digest] = relationship(back_populates="items")


class CrawlLock(Base):
    """The crawl lock row on SQLite (PostgreSQL uses an advisory lock): who holds it, since when."""

    __tablename__ = "crawl_lock"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    acquired_at: Mapped[datetime]
