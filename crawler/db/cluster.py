"""Near-duplicate detection: the same story syndicated across sites forms one cluster (MinHash, deterministic).

Signatures are pure functions of the text: NFKC, only letters and digits kept (punctuation and spaces differ
between a newspaper page and its web reprint), character 4-grams as shingles, MinHash with a fixed seed and
number of permutations over 32-bit shingle hashes computed in numpy (`signature`: the same text gives the same
bytes on every run and machine; migration 0004 recomputed the signatures of version 1). `assign_cluster` finds candidates through LSH bands kept in the `minhash_bands` table
(42 bands of 3 values; a candidate shares at least two: probability 0.97 at similarity 0.5, 0.999 at 0.6 —
reprints measure 0.73 to 1.0 — and 0.04 at 0.2, the overlap of same-topic news),
checks them exactly, and gives the whole cluster the id of its earliest article. The cost per article is a
few indexed lookups, not a scan of the week, and it holds across distributed workers (the bands are in the
database). Concurrent writers (two workers, two processes) cluster one after the other: on PostgreSQL a
transaction-scoped advisory lock is taken before the candidates are read, so the second writer sees what the first
committed (two reprints stored 59 ms apart by two workers once became two clusters); SQLite has one writer.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import chain
import zlib

import numpy as np
from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from crawler.db.models import Article, MinhashBand

from crawler.analyse.minhash import (  # noqa: F401 - the signature functions, re-exported for callers of crawler.db.cluster
    BANDS, NUM_PERM, ROWS, SEED, SHINGLE, SIGNATURE_VERSION, band_keys, content_hash, normalise, shingle_hashes,
    shingles, signature, similarity,
)

MIN_SHARED_BANDS = 2  # a candidate shares at least this many bands: P = 0.97 at similarity 0.5, 0.999 at 0.6,
#                       0.04 at 0.2 (a week of same-topic news), ~0 at 0.02
THRESHOLD = 0.5  # estimated Jaccard similarity at or above which two articles are the same story
NEARBY = timedelta(days=7)
CLUSTER_LOCK = zlib.crc32(b"hiwatch:clusters") & 0x7FFFFFFF  # the advisory lock key of clustering (PostgreSQL)


def lock_clusters(conn: Connection) -> None:
    """Hold the clustering lock until this transaction ends (PostgreSQL; SQLite's writers are already serial).
    Taken before the candidates are read: READ COMMITTED gives each later statement a snapshot that includes
    everything the previous holder committed."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLUSTER_LOCK})


def as_utc(moment: datetime | None) -> datetime | None:
    """Aware UTC (SQLite hands back naive datetimes holding the UTC wall time)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _order_key_of(published_at, fetched_at, article_id: int):
    moment = as_utc(published_at or fetched_at)
    return (moment.timestamp() if moment else float("inf"), article_id)


def _order_key(article: Article):
    return _order_key_of(article.published_at, article.fetched_at, article.id)


def assign_cluster(session: Session, article: Article, threshold: float = THRESHOLD, text_hash: str | None = None,
                   minhash: bytes | None = None) -> None:
    """Set content_hash, minhash and cluster_id of `article` (flushed, so it has an id) against stored articles.

    Compares only with articles published within ±7 days (cheap enough for the store pipeline's transaction).
    Clusters merge when an article links two of them; every member's cluster_id becomes the id of the earliest
    member (published_at, then id).
    """
    if article.id is None:
        session.flush()
    lock_clusters(session.connection())
    article.content_hash = text_hash or content_hash(article.title, article.body)  # given: computed elsewhere
    article.minhash = minhash or signature(article.title, article.body)
    keys = band_keys(article.minhash)
    session.execute(delete(MinhashBand).where(MinhashBand.article_id == article.id))
    _insert_bands(session.connection(), [(article.id, key) for key in keys])
    moment = as_utc(article.published_at or article.fetched_at)
    # candidates: a shared LSH band or the same text hash; only the columns compared are loaded
    candidates = (select(MinhashBand.article_id).where(MinhashBand.band_key.in_(keys))
                  .group_by(MinhashBand.article_id).having(func.count() >= MIN_SHARED_BANDS))
    query = select(Article.id, Article.minhash, Article.content_hash, Article.cluster_id).where(
        Article.id != article.id, Article.minhash.is_not(None),
        or_(Article.id.in_(candidates), Article.content_hash == article.content_hash))
    if moment is not None:
        query = query.where(or_(Article.published_at.between(moment - NEARBY, moment + NEARBY),
                                Article.published_at.is_(None)))
    rows = [row for row in session.execute(query) if row[1] and len(row[1]) == len(article.minhash)]
    matched_clusters: set[int] = set()
    if rows:  # all candidates at once: the share of equal MinHash values per row
        others = np.frombuffer(b"".join(row[1] for row in rows), dtype="<u4").reshape(len(rows), -1)
        mine = np.frombuffer(article.minhash, dtype="<u4")
        similar = (others == mine).mean(axis=1) >= threshold
        for (other_id, _, other_hash, other_cluster), close in zip(rows, similar):
            if close or other_hash == article.content_hash:
                matched_clusters.add(other_cluster if other_cluster is not None else other_id)
    if article.cluster_id is not None:
        matched_clusters.add(article.cluster_id)  # an update keeps its old companions
    matched_clusters.discard(article.id)
    # Each cluster's id is its earliest member's id (the invariant kept here), so the merged cluster's earliest
    # member is the earliest of those heads and this article: no member is loaded, whatever the cluster's size.
    heads = session.execute(select(Article.id, Article.published_at, Article.fetched_at)
                            .where(Article.id.in_(matched_clusters))).all() if matched_clusters else []
    earliest = min([(_order_key_of(row.published_at, row.fetched_at, row.id), row.id) for row in heads]
                   + [(_order_key(article), article.id)])[1]
    old_ids = {row.id for row in heads} | ({article.id} if article.cluster_id == article.id else set())
    if old_ids - {earliest}:  # clusters merge or a new earliest member: relabel the members in one statement
        session.execute(update(Article).where(Article.cluster_id.in_(old_ids)).values(cluster_id=earliest)
                        .execution_options(synchronize_session="fetch"))
    article.cluster_id = earliest


def _insert_bands(conn: Connection, rows: list[tuple[int, int]]) -> None:
    """INSERT (article_id, band_key) rows through the driver's executemany: 42 rows per article, where
    SQLAlchemy's per-row parameter processing costs more than the insert (its insert for other paramstyles)."""
    if not rows:
        return
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)
    if marker is None:
        conn.execute(insert(MinhashBand.__table__), [{"article_id": a, "band_key": k} for a, k in rows])
        return
    conn.exec_driver_sql(f"INSERT INTO minhash_bands (article_id, band_key) VALUES ({marker}, {marker})", rows)


def _bands_with_keys(conn: Connection, keys: list[int]) -> list[tuple[int, int]]:
    """(article_id, band_key) of the stored bands holding one of `keys`, through the driver: 42 keys per article,
    where SQLAlchemy's per-value work on an IN list cost more than the query (its select for other paramstyles)."""
    bands = MinhashBand.__table__
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)
    found: list[tuple[int, int]] = []
    for start in range(0, len(keys), 2000):
        chunk = keys[start:start + 2000]
        if marker is None:
            found.extend(conn.execute(select(bands.c.article_id, bands.c.band_key).where(bands.c.band_key.in_(chunk))))
        else:
            found.extend(conn.exec_driver_sql("SELECT article_id, band_key FROM minhash_bands WHERE band_key IN ("
                                              + ", ".join([marker] * len(chunk)) + ")", tuple(chunk)).all())
    return found


@dataclass
class Newcomer:
    """An article just inserted (cluster_id still NULL, no bands yet) that `cluster_new` places in a cluster."""

    id: int
    minhash: bytes
    content_hash: str
    published_at: datetime | None
    fetched_at: datetime | None
    band_keys: list[int] | None = None  # band_keys(minhash) when the extraction worker already computed them


def cluster_new(conn: Connection, newcomers: list[Newcomer], threshold: float = THRESHOLD) -> dict[int, int]:
    """Place a batch of new articles in clusters with a few statements for the whole batch; returns id → cluster id.

    The result is the one `assign_cluster` gives when called on each newcomer in list order (each compared with
    what was stored before it, the earlier newcomers included): same candidates (two shared bands or the same
    text hash, ±7 days), same test, same earliest-member ids, same relabelling of merged clusters.
    """
    if not newcomers:
        return {}
    lock_clusters(conn)
    A = Article.__table__
    batch_ids = {n.id for n in newcomers}
    keys_list = {n.id: n.band_keys if n.band_keys is not None else band_keys(n.minhash) for n in newcomers}
    keys = {article_id: set(found) for article_id, found in keys_list.items()}
    # what was stored before the batch: band rows sharing a key, and articles sharing a text hash
    by_key: dict[int, list[int]] = {}
    for article_id, key in _bands_with_keys(conn, sorted(set().union(*keys.values()))):
        if article_id not in batch_ids:
            by_key.setdefault(key, []).append(article_id)
    by_hash: dict[str, list[int]] = {}
    for article_id, text_hash in conn.execute(select(A.c.id, A.c.content_hash).where(
            A.c.content_hash.in_(sorted({n.content_hash for n in newcomers})))):
        if article_id not in batch_ids:
            by_hash.setdefault(text_hash, []).append(article_id)
    wanted: dict[int, set[int]] = {}
    for n in newcomers:
        shared = Counter(chain.from_iterable(by_key.get(key, ()) for key in keys[n.id]))
        wanted[n.id] = {a for a, count in shared.items() if count >= MIN_SHARED_BANDS} | set(by_hash.get(n.content_hash, ()))
    # the stored candidates' compared columns, loaded once for the batch; cluster ids are relabelled below as
    # clusters merge, exactly as the UPDATE relabels the stored rows
    rows: dict[int, tuple] = {}
    cluster_of: dict[int, int | None] = {}
    order: dict[int, tuple] = {}
    ids = sorted(set().union(*wanted.values()))
    for start in range(0, len(ids), 2000):
        for row in conn.execute(select(A.c.id, A.c.minhash, A.c.content_hash, A.c.cluster_id, A.c.published_at,
                                       A.c.fetched_at).where(A.c.id.in_(ids[start:start + 2000]),
                                                             A.c.minhash.is_not(None))):
            rows[row.id] = (row.minhash, row.content_hash, as_utc(row.published_at))
            cluster_of[row.id] = row.cluster_id
            order[row.id] = _order_key_of(row.published_at, row.fetched_at, row.id)
    result: dict[int, int] = {}
    done: list[Newcomer] = []
    for n in newcomers:
        moment = as_utc(n.published_at or n.fetched_at)
        mine = np.frombuffer(n.minhash, dtype="<u4")

        def near(published: datetime | None) -> bool:
            return moment is None or published is None or moment - NEARBY <= published <= moment + NEARBY

        candidates = [(a, rows[a][0], rows[a][1], cluster_of.get(a)) for a in sorted(wanted[n.id])
                      if a in rows and near(rows[a][2])]
        candidates += [(m.id, m.minhash, m.content_hash, result[m.id]) for m in done
                       if (len(keys[n.id] & keys[m.id]) >= MIN_SHARED_BANDS or m.content_hash == n.content_hash)
                       and near(as_utc(m.published_at))]
        matched: set[int] = set()
        for other_id, other_sig, other_hash, other_cluster in candidates:
            if not other_sig or len(other_sig) != len(n.minhash):
                continue
            same = (np.frombuffer(other_sig, dtype="<u4") == mine).mean() >= threshold
            if same or other_hash == n.content_hash:
                matched.add(other_cluster if other_cluster is not None else other_id)
        matched.discard(n.id)
        unknown = [head for head in matched if head not in order]
        if unknown:
            for head in conn.execute(select(A.c.id, A.c.published_at, A.c.fetched_at).where(A.c.id.in_(unknown))):
                order[head.id] = _order_key_of(head.published_at, head.fetched_at, head.id)
        heads = {head for head in matched if head in order}
        order[n.id] = _order_key_of(n.published_at, n.fetched_at, n.id)
        earliest = min(heads | {n.id}, key=lambda head: (order[head], head))
        if heads - {earliest}:  # clusters merge or a new earliest member: relabel, stored rows and this batch
            conn.execute(update(A).where(A.c.cluster_id.in_(sorted(heads))).values(cluster_id=earliest))
            for table in (cluster_of, result):
                for article_id, cluster_id in table.items():
                    if cluster_id in heads:
                        table[article_id] = earliest
        result[n.id] = earliest
        done.append(n)
    _insert_bands(conn, [(n.id, key) for n in newcomers for key in keys_list[n.id]])
    conn.execute(update(A).where(A.c.id == bindparam("b_id")).values(cluster_id=bindparam("b_cluster")),
                 [{"b_id": article_id, "b_cluster": cluster_id} for article_id, cluster_id in result.items()])
    return result
