"""Batched storing (the crawl's writer): the same rows and the same near-duplicate clusters as storing one by one."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select

from crawler.extract.article import Extracted
from crawler.db import connect
from crawler.db.models import Article, MinhashBand, RawPage
from crawler.analyse.prepare import prepare
from crawler.db.store import FetchedPage, StoreJob, enrich, store, store_many

DAY = datetime(2025, 9, 1, 8, tzinfo=timezone.utc)
WORDS = ("医疗 数据 平台 服务 患者 医院 基层 系统 信息 共享 互认 管理 健康 档案 远程 会诊 智慧 诊疗 医保 结算 支付 预约 "
         "检查 检验 结果 影像 病历 电子 处方 药品 流转 监测 应急 疾控 统计 标准 规范 接口 安全 隐私").split()


def _sentence(rng: random.Random) -> str:
    return "".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))) + "。"


def _jobs(seed: int, count: int = 60) -> list[StoreJob]:
    """Stories in families: copies with a share of sentences rewritten (similarity on both sides of the 0.5
    threshold), exact copies, copies more than 7 days apart, pages without a date, out-of-order arrival."""
    rng = random.Random(seed)
    bases = [[_sentence(rng) for _ in range(12)] for _ in range(6)]
    jobs = []
    for n in range(count):
        sentences = list(rng.choice(bases))
        rewrite = rng.choice([0.0, 0.0, 0.1, 0.2, 0.4, 0.6, 1.0])  # this copy's share of rewritten sentences
        for i in range(len(sentences)):
            if rng.random() < rewrite:
                sentences[i] = _sentence(rng)
        published = None if rng.random() < 0.1 else DAY + timedelta(hours=rng.randint(-24 * 9, 24 * 9))
        url = f"http://health.people.com.cn/n1/2025/0901/c14739-{seed * 1000 + n}.html"
        extracted = Extracted(url=url, title=f"标题{n % 7}", body="\n".join(sentences), published_at=published,
                              date_source="rule", date_precision="minute", extractor="rules:.rm_txt_con",
                              source_name="人民网", encoding="utf-8")
        body = f"<html><body><h1>标题{n}</h1><p>{extracted.body}</p></body></html>".encode()
        pages = [FetchedPage(url=url, body=body, headers={"Content-Type": "text/html"})]
        jobs.append(StoreJob(url, extracted, "people", pages, url_date=None, run_id=None,
                             prepared=prepare(extracted, [body])))
    return jobs


def _clusters(database) -> dict[str, tuple]:
    """url → (the url of its cluster's id, relevance, content hash, pages, bands): id-free, comparable."""
    with database.session() as session:
        urls = dict(session.execute(select(Article.id, Article.url)).all())
        out = {}
        for article in session.scalars(select(Article)):
            bands = session.scalar(select(MinhashBand.id).where(MinhashBand.article_id == article.id).limit(1))
            out[article.url] = (urls.get(article.cluster_id), article.relevance, article.content_hash,
                                [(p.page_no, p.size, p.url) for p in article.pages], bands is not None,
                                article.title, article.body, article.published_at)
        return out


def _wipe(database) -> None:
    with database.session() as session:
        for model in (MinhashBand, RawPage, Article):
            session.execute(delete(model))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batches_give_the_clusters_of_one_by_one(db_url, seed):
    database = connect(db_url)
    try:
        jobs = _jobs(seed)
        after_save = enrich()
        for job in jobs:
            assert store(database, job.url, job.extracted, job.site, job.pages, after_save=after_save,
                         prepared=job.prepared)
        one_by_one = _clusters(database)
        assert len(set(head for head, *_ in one_by_one.values())) < len(jobs) - 5  # families did cluster
        assert len(set(head for head, *_ in one_by_one.values())) > 6  # and not all into one

        _wipe(database)
        rng, start = random.Random(seed), 0
        while start < len(jobs):  # random batch sizes, 1 to 17
            size = rng.randint(1, 17)
            assert store_many(database, jobs[start:start + size]) == [True] * len(jobs[start:start + size])
            start += size
        assert _clusters(database) == one_by_one
    finally:
        database.dispose()


def test_a_stored_url_and_a_repeated_one_are_updated_not_duplicated(db_url):
    database = connect(db_url)
    try:
        first, second, third = _jobs(9, 3)
        assert store_many(database, [first]) == [True]
        changed = StoreJob(first.url, Extracted(url=first.url, title="改过的标题", body=first.extracted.body),
                           "people", first.pages, prepared=first.prepared)
        assert store_many(database, [second, changed, third, third]) == [True, False, True, False]
        with database.session() as session:
            rows = session.execute(select(Article.url, Article.title)).all()
            assert sorted(url for url, _ in rows) == sorted([first.url, second.url, third.url])
            assert dict(rows)[first.url] == "改过的标题"
            assert session.scalar(select(RawPage.id).where(RawPage.url == third.url).limit(1))
    finally:
        database.dispose()


def test_a_failing_batch_writes_nothing(db_url):
    database = connect(db_url)
    try:
        good, bad = _jobs(11, 2)
        bad.extracted.title = None  # NOT NULL: the database refuses the batch
        with pytest.raises(Exception):
            store_many(database, [good, bad])
        with database.session() as session:
            assert session.scalar(select(Article.id).limit(1)) is None
            assert session.scalar(select(MinhashBand.id).limit(1)) is None
    finally:
        database.dispose()


def test_two_concurrent_writers_make_one_cluster(pg_url):
    """Two reprints with the same text stored at the same moment by two writers (two workers' transactions) form
    one cluster: the second writer's clustering waits for the first one's commit (an advisory lock) and sees it."""
    import threading

    from sqlalchemy import text

    from crawler.db.models import Base

    database = connect(pg_url)
    with database.engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                          + " RESTART IDENTITY CASCADE"))
    first, second = _jobs(7, 2)
    second.extracted = Extracted(**{**first.extracted.__dict__, "url": second.url})
    second.prepared = first.prepared  # the same text: the same content hash and signature
    clustered, release = threading.Event(), threading.Event()
    hook = enrich()

    def slow_after_save(session, article, prepared):
        hook(session, article, prepared)  # clustered inside the transaction, not yet committed
        clustered.set()
        release.wait(10)

    writer_a = threading.Thread(target=store, args=(database, first.url, first.extracted, "people", first.pages),
                                kwargs={"after_save": slow_after_save, "prepared": first.prepared})
    writer_a.start()
    assert clustered.wait(10)
    writer_b = threading.Thread(target=store_many, args=(database, [second]))
    writer_b.start()
    writer_b.join(1.0)  # without the lock it is done by now, having missed the uncommitted reprint
    release.set()
    writer_a.join(10)
    writer_b.join(10)
    with database.session() as session:
        clusters = dict(session.execute(select(Article.url, Article.cluster_id)).all())
    database.dispose()
    assert len(clusters) == 2 and clusters[first.url] == clusters[second.url]


def test_the_writer_gathers_articles_handed_over_one_at_a_time(monkeypatch):
    """The extraction pool hands articles over one by one: those arriving within the writer's linger of the first
    share one transaction (they were one batch each), and a lone article is stored after the linger, not held."""
    import time

    from pipelines import store as pipeline

    batches: list[list[str]] = []
    monkeypatch.setattr(pipeline, "store_many", lambda database, jobs, after_save=None:
                        batches.append(list(jobs)) or [True] * len(jobs))
    writer, database = pipeline.BatchWriter(linger=0.5), object()
    futures = []
    for n in range(3):
        futures.append(writer.submit(database, f"article {n}", None))
        time.sleep(0.05)
    assert [future.result(5) for future in futures] == [True, True, True]
    assert batches == [["article 0", "article 1", "article 2"]]

    started = time.monotonic()
    assert writer.submit(database, "a lone article", None).result(5) is True
    assert 0.4 < time.monotonic() - started < 3
    assert batches[-1] == ["a lone article"]


@pytest.mark.parametrize("count", [5, 4500])
def test_the_band_lookup_finds_what_a_select_finds(db_url, count):
    """The bands sharing a key, read through the driver in chunks of 2,000 keys: the rows SQLAlchemy's select gives."""
    from crawler.db.cluster import _bands_with_keys

    database = connect(db_url)
    try:
        job = _jobs(21, 1)[0]
        assert store_many(database, [job]) == [True]
        with database.engine.begin() as conn:
            stored = list(conn.execute(select(MinhashBand.article_id, MinhashBand.band_key)))
            keys = sorted({key for _, key in stored} | set(range(count)))
            assert sorted(_bands_with_keys(conn, keys)) == sorted(stored)
            assert _bands_with_keys(conn, list(range(count))) == []  # keys no band has (64-bit hashes)
    finally:
        database.dispose()


def test_the_band_keys_the_worker_computed_are_the_ones_stored(db_url):
    """The crawl process does not hash the bands again: what prepare() handed over is what lands in minhash_bands."""
    from dataclasses import replace

    from crawler.analyse.minhash import band_keys

    database = connect(db_url)
    try:
        job, other = _jobs(11, 2)
        assert job.prepared.band_keys == band_keys(job.prepared.minhash)  # the worker's keys are the real ones
        marked = replace(job.prepared, band_keys=[7, 8, 9])  # keys no hashing gives: seen only if they are used
        assert store_many(database, [replace(job, prepared=marked), other]) == [True, True]
        with database.session() as session:
            stored = {url: sorted(session.scalars(select(MinhashBand.band_key).where(MinhashBand.article_id == id_)))
                      for id_, url in session.execute(select(Article.id, Article.url))}
        assert stored[job.url] == [7, 8, 9]
        assert stored[other.url] == sorted(band_keys(other.prepared.minhash))
    finally:
        database.dispose()
