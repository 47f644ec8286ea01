"""Writing articles: one transaction per article, upsert on the canonical URL, raw pages kept gzipped."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crawler.extract.article import Extracted
from crawler.db import Database
from crawler.db.models import Article, DiscoveryPage, RawPage
from crawler.analyse.prepare import gunzip_page, gzip_page
from crawler.window import now_utc


@dataclass
class FetchedPage:
    """One fetched page of an article, as bytes with its response metadata."""

    url: str
    body: bytes = field(repr=False)  # an error log names the page, it does not print it
    status: int = 200
    headers: dict | None = None
    encoding: str | None = None


def known_urls(database: Database, urls: list[str]) -> set[str]:
    """The subset of `urls` already stored as articles."""
    found: set[str] = set()
    with database.session() as session:
        for start in range(0, len(urls), 500):
            chunk = urls[start:start + 500]
            found.update(session.scalars(select(Article.url).where(Article.url.in_(chunk))))
    return found


# labels of a government page's metadata table (Extracted.doc_meta) that fill the two columns, in preference order
ISSUING_BODY_LABELS = ("发文机关", "发布机构", "发文单位", "发布机关")
DOC_NUMBER_LABELS = ("文号", "发文字号", "发文文号")


def doc_fields(extracted: Extracted) -> dict[str, str | None]:
    """`issuing_body` (发文机关) and `doc_number` (文号) from the page's metadata table, when the extractor read one."""
    meta = getattr(extracted, "doc_meta", None) or {}

    def first(labels: tuple[str, ...], size: int) -> str | None:
        value = next((str(meta[k]).strip() for k in labels if meta.get(k) and str(meta[k]).strip()), None)
        return value[:size] if value else None

    return {"issuing_body": first(ISSUING_BODY_LABELS, 255), "doc_number": first(DOC_NUMBER_LABELS, 128)}


def _apply(article: Article, extracted: Extracted, site: str, url_date: date | None) -> None:
    article.site = site
    article.source_name = extracted.source_name or site
    article.original_source = extracted.original_source
    for column, value in doc_fields(extracted).items():
        setattr(article, column, value)
    article.title = extracted.title
    article.subtitle = extracted.subtitle
    article.body = extracted.body
    article.author = extracted.author
    article.editor = extracted.editor
    article.published_at = extracted.published_at
    article.date_source = extracted.date_source
    article.date_precision = extracted.date_precision
    article.url_date = url_date
    article.extractor = extracted.extractor
    article.updated_at = now_utc()


def save_article(session: Session, url: str, extracted: Extracted, site: str, pages: list[FetchedPage],
                 url_date: date | None = None, run_id: int | None = None, origin: str = "crawl",
                 pages_gz: list[bytes] | None = None) -> tuple[Article, bool]:
    """Insert or update the article at `url` and replace its raw pages; returns (article, created)."""
    article = session.scalar(select(Article).where(Article.url == url))
    created = article is None
    if created:
        article = Article(url=url, fetched_at=now_utc(), first_run_id=run_id, origin=origin, status="ok")
        session.add(article)
    _apply(article, extracted, site, url_date)
    if pages:
        article.pages.clear()
        session.flush()
        for number, page in enumerate(pages, 1):
            article.pages.append(RawPage(page_no=number, url=page.url, http_status=page.status,
                                         headers=page.headers or {}, encoding=page.encoding or extracted.encoding,
                                         html_gz=pages_gz[number - 1] if pages_gz else gzip_page(page.body),
                                         size=len(page.body),
                                         fetched_at=now_utc()))
    session.flush()
    return article, created


def store(database: Database, url: str, extracted: Extracted, site: str, pages: list[FetchedPage],
          url_date: date | None = None, run_id: int | None = None, origin: str = "crawl", after_save=None,
          prepared=None) -> bool:
    """Store one article in its own transaction; `after_save(session, article, prepared)` runs inside it
    (scoring, clustering). `prepared` (crawler.analyse.prepare) carries what the extraction worker already computed.

    Returns True when a new row was created. A concurrent insert of the same URL is retried as an update.
    """
    for attempt in range(2):
        try:
            with database.session() as session:
                article, created = save_article(session, url, extracted, site, pages, url_date, run_id, origin,
                                                prepared.pages_gz if prepared else None)
                if after_save is not None:
                    after_save(session, article, prepared)
                return created
        except IntegrityError:
            if attempt:
                raise
    return False


@dataclass
class StoreJob:
    """One fetched and extracted article waiting for the database (what the crawl's writer batches)."""

    url: str
    extracted: Extracted
    site: str
    pages: list[FetchedPage]
    url_date: date | None = None
    run_id: int | None = None
    prepared: object | None = None  # crawler.analyse.prepare.Prepared
    origin: str = "crawl"


def store_many(database: Database, jobs: list[StoreJob], after_save=None) -> list[bool]:
    """Store a batch of articles in one transaction with a few statements for the whole batch; returns, per job,
    whether a new row was created. `after_save` (default `enrich()`) serves the jobs stored one by one.

    New URLs are inserted in bulk with their raw pages, relevance, signatures and clusters (crawler.db.cluster.
    cluster_new: the same clusters as storing them one by one in this order). A URL already stored, or met twice
    in the batch, is stored by `store` in its own transaction afterwards. Any database error rolls the whole
    batch back and propagates: nothing of it is half-written.
    """
    from crawler.db.cluster import Newcomer, cluster_new
    from crawler.analyse.prepare import prepare

    A, P = Article.__table__, RawPage.__table__
    created = [False] * len(jobs)
    later: list[int] = []
    with database.engine.begin() as conn:
        stored = set(conn.scalars(select(A.c.url).where(A.c.url.in_(sorted({job.url for job in jobs})))))
        fresh, seen = [], set()
        for index, job in enumerate(jobs):
            if job.url in stored or job.url in seen:
                later.append(index)
            else:
                seen.add(job.url)
                fresh.append(index)
        if fresh:
            now = now_utc()
            rows, prepared = [], []
            for index in fresh:
                job = jobs[index]
                ready = job.prepared or prepare(job.extracted, [page.body for page in job.pages])
                prepared.append(ready)
                x = job.extracted
                rows.append({
                    "url": job.url, "site": job.site, "source_name": x.source_name or job.site,
                    "original_source": x.original_source, **doc_fields(x), "title": x.title, "subtitle": x.subtitle, "body": x.body,
                    "author": x.author, "editor": x.editor, "published_at": x.published_at,
                    "date_source": x.date_source, "date_precision": x.date_precision, "url_date": job.url_date,
                    "extractor": x.extractor, "content_hash": ready.content_hash, "minhash": ready.minhash,
                    "cluster_id": None, "relevance": ready.relevance, "relevance_terms": ready.relevance_terms,
                    "relevant": ready.relevant, "relevance_lexicon": ready.relevance_lexicon,
                    "status": "ok", "excluded_reason": None, "origin": job.origin, "first_run_id": job.run_id,
                    "fetched_at": now, "updated_at": now})
            ids = list(conn.scalars(insert(A).returning(A.c.id, sort_by_parameter_order=True), rows))
            pages = [{"article_id": article_id, "page_no": number, "url": page.url, "http_status": page.status,
                      "headers": page.headers or {}, "encoding": page.encoding or jobs[index].extracted.encoding,
                      "html_gz": ready.pages_gz[number - 1] if len(ready.pages_gz) >= number
                      else gzip_page(page.body), "size": len(page.body), "fetched_at": now}
                     for article_id, index, ready in zip(ids, fresh, prepared)
                     for number, page in enumerate(jobs[index].pages, 1)]
            if pages:
                conn.execute(insert(P), pages)
            cluster_new(conn, [Newcomer(article_id, ready.minhash, ready.content_hash,
                                        jobs[index].extracted.published_at, now, ready.band_keys)
                               for article_id, index, ready in zip(ids, fresh, prepared)])
            for index in fresh:
                created[index] = True
    if later:
        after_save = after_save or enrich()
        for index in later:
            job = jobs[index]
            created[index] = store(database, job.url, job.extracted, job.site, job.pages, url_date=job.url_date,
                                   run_id=job.run_id, origin=job.origin, after_save=after_save, prepared=job.prepared)
    return created


def enrich(lexicon=None):
    """The after_save hook of crawl, add and reextract: relevance score and near-duplicate cluster, computed
    inside the article's own transaction."""
    from crawler.db.cluster import assign_cluster
    from crawler.analyse.relevance import load_lexicon, score, stored

    lexicon = lexicon or load_lexicon()

    def after_save(session: Session, article: Article, prepared=None) -> None:
        if prepared is not None:  # computed by the extraction worker
            article.relevance, article.relevance_terms = prepared.relevance, prepared.relevance_terms
            article.relevant, article.relevance_lexicon = prepared.relevant, prepared.relevance_lexicon
            assign_cluster(session, article, text_hash=prepared.content_hash, minhash=prepared.minhash)
            return
        for name, value in stored(score(article.title, article.body, lexicon), lexicon).items():
            setattr(article, name, value)
        assign_cluster(session, article)

    return after_save


def raw_html(page: RawPage) -> bytes:
    return gunzip_page(page.html_gz)


def discovery_validators(database: Database, url: str) -> DiscoveryPage | None:
    """What we know of a discovery page from the last run: ETag, Last-Modified and the links it held."""
    with database.session() as session:
        return session.get(DiscoveryPage, url)


def save_discovery(database: Database, url: str, source: str, etag: str | None, last_modified: str | None,
                   links: list[str]) -> None:
    with database.session() as session:
        session.merge(DiscoveryPage(url=url, source=source, etag=etag, last_modified=last_modified, links=links,
                                    fetched_at=now_utc()))
