"""Scale-out on the real Redis and PostgreSQL: two workers share one run; one is killed; nothing is lost or doubled."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
from sqlalchemy import func, select, text

from crawler.db import connect
from crawler.db.models import Article, Run, RunSource
from replaykit import REPO, SOURCES, build_replay, requested

REDIS_URL = os.environ.get("HIWATCH_TEST_REDIS", "redis://127.0.0.1:6379/15")
# Coordinator and workers run with deprecation warnings as errors: current Scrapy APIs only.
ENV = {**os.environ, "HIWATCH_STRICT_WARNINGS": "1"}
FAST = ["--set", "AUTOTHROTTLE_ENABLED=False", "--set", "DOWNLOAD_DELAY_JITTER=0", "--set", "HIWATCH_CLAIM_IDLE=15"]


@pytest.fixture
def redis_url():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is part of the test environment and not reachable: {exc}")
    return REDIS_URL


@pytest.fixture
def pg(pg_url):
    database = connect(pg_url)
    with database.engine.begin() as conn:
        conn.execute(text("TRUNCATE articles, raw_pages, runs, run_sources, fetch_failures, discovery_pages, "
                          "crawl_lock RESTART IDENTITY CASCADE"))
    yield pg_url, database
    database.dispose()


def _pages(count: int) -> dict:
    days = ["0830", "0831", "0901", "0902", "0903", "0904", "0905"]
    per_page = 10
    pages = {}
    for i in range(count):
        pages.setdefault(1 + i // per_page, []).append((days[i % 7], 200 + i, f"{8 + i % 10:02d}:{i % 60:02d}"))
    return pages


def _coordinator(db_url, root, sources, redis_url, namespace, log):
    return subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "crawl", "--distributed", "--redis", redis_url,
         "--redis-namespace", namespace, "--replay", str(root), "--replay-log", str(log), "--week", "2025-09-05",
         "--db", db_url, "--sources", str(sources), "--polite", *FAST],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def _worker(redis_url, namespace, db_url, stderr=subprocess.PIPE, verbose: bool = False):
    return subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "worker", "--once", "--wait", "60", "--redis", redis_url,
         "--redis-namespace", namespace, "--db", db_url, *(["-v"] if verbose else [])],
        cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True, env=ENV)


def _sources(tmp_path, delay: float):
    path = tmp_path / "sources.yaml"
    # per-site politeness in YAML: the delay holds across workers (kept in Redis)
    path.write_text(SOURCES.format().replace("    rules:", f"    politeness: {{concurrency: 2, delay: {delay}}}\n    rules:"),
                    encoding="utf-8")
    return path


def _count(database, model=Article) -> int:
    with database.session() as session:
        return session.scalar(select(func.count(model.id))) or 0


def test_two_workers_one_killed_everything_stored_once(tmp_path, pg, redis_url):
    db_url, database = pg
    root = tmp_path / "replay"
    root.mkdir()
    pages = _pages(40)
    build_replay(root, pages)
    expected = 40
    sources = _sources(tmp_path, 0.1)
    namespace = f"hiwatch-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "requests.jsonl"
    coordinator = _coordinator(db_url, root, sources, redis_url, namespace, log)
    workers = [_worker(redis_url, namespace, db_url) for _ in range(2)]
    try:
        deadline = time.time() + 90
        while _count(database) < 8:
            assert time.time() < deadline, "the workers stored nothing"
            assert coordinator.poll() is None, coordinator.communicate()
            time.sleep(0.1)
        workers[0].send_signal(signal.SIGKILL)  # mid-run: it holds leased requests that must not be lost
        out, err = coordinator.communicate(timeout=180)
        assert coordinator.returncode == 0, out + err
        _, survivor_err = workers[1].communicate(timeout=60)
        assert workers[1].returncode == 0, survivor_err
        assert "Warning" not in survivor_err, survivor_err
    finally:
        for process in (coordinator, *workers):
            if process.poll() is None:
                process.kill()
    with database.session() as session:
        urls = session.scalars(select(Article.url)).all()
        assert len(urls) == len(set(urls)) == expected
        run = session.scalars(select(Run)).one()
        assert run.status in ("ok", "partial") and run.finished_at is not None
        stats = session.scalars(select(RunSource)).one()  # both workers' counts in one row (a killed worker's
        assert 0 < stats.stored <= expected                 # last few seconds of counts die with it)
        assert stats.discovery_pages >= 1
    # the whole window was fetched once per article, plus what the killed worker had in flight (fetched, not yet
    # stored): at most CONCURRENT_REQUESTS (16) entries are delivered to a worker and not yet acknowledged
    article_requests = [u for u in requested(log) if "/n1/" in u]
    assert expected <= len(article_requests) <= expected + 16

    # Run it again with one worker: nothing new is fetched, only the discovery pages.
    log2 = tmp_path / "again.jsonl"
    coordinator = _coordinator(db_url, root, sources, redis_url, namespace, log2)
    worker = _worker(redis_url, namespace, db_url)
    out, err = coordinator.communicate(timeout=180)
    worker.communicate(timeout=60)
    assert coordinator.returncode == 0, out + err
    assert not [u for u in requested(log2) if "/n1/" in u]
    assert _count(database) == expected
    redis.Redis.from_url(redis_url).delete(f"{namespace}:current-run")


def test_an_article_link_is_claimed_only_as_it_is_queued(redis_url):
    """A worker killed after finding links but before queueing them must leave them unclaimed, so the worker that
    re-fetches the list page queues them (claiming first lost two articles of 40 in one CI run). The scheduler
    claims and adds the stream entry in one transaction; a second find of the link is refused (its entry
    removed); the delivered request carries no claim, so its retry takes its entry's place without claiming."""
    from scrapy import Request, Spider
    from scrapy.utils.test import get_crawler

    from crawler.run.distributed import GROUP, DistributedScheduler, Keys, StreamQueue, create_stream

    class ClaimSpider(Spider):
        name = "claims"

        def parse(self, response):
            pass

    server = redis.Redis.from_url(redis_url)
    keys = Keys(f"hiwatch-test-{uuid.uuid4().hex[:8]}")
    crawler = get_crawler(ClaimSpider)
    spider = ClaimSpider()
    scheduler = DistributedScheduler(crawler, server, keys, "w1")  # the parts enqueue/next_request use
    scheduler.spider = spider
    scheduler.queue = StreamQueue(server, keys.stream("claims"), "w1")
    create_stream(server, scheduler.queue.key)
    url = "http://health.people.com.cn/n1/2025/0901/c14739-41000001.html"
    try:
        article = {"hiwatch_kind": "article", "article_url": url, "pages": []}
        found = Request(url, callback=spider.parse, dont_filter=True, meta=dict(article))
        assert not server.sismember(keys.article_claims("claims"), url)  # found, not yet queued: nobody's
        assert scheduler.enqueue_request(found)
        assert server.sismember(keys.article_claims("claims"), url) and server.xlen(scheduler.queue.key) == 1
        found_again = Request(url, callback=spider.parse, dont_filter=True, meta=dict(article))
        assert not scheduler.enqueue_request(found_again) and server.xlen(scheduler.queue.key) == 1
        leased = scheduler.next_request()
        assert leased.url == url and leased.meta["hiwatch_claimed"]
        assert server.xpending(scheduler.queue.key, GROUP)["pending"] == 1  # delivered, not acknowledged
        assert scheduler.enqueue_request(leased.replace(dont_filter=True))  # a retry takes its entry's place
        assert server.xpending(scheduler.queue.key, GROUP)["pending"] == 0 and server.xlen(scheduler.queue.key) == 2
        retried = scheduler.next_request()
        assert retried.url == url and scheduler.next_request() is None
        scheduler.ack(retried.meta["hiwatch_entry"])
        assert server.xpending(scheduler.queue.key, GROUP)["pending"] == 0
    finally:
        for key in server.scan_iter(keys.prefix + ":*"):
            server.delete(key)


def test_a_list_page_is_acked_only_once_its_requests_are_queued():
    """Its lease stays in flight (rescued if the worker dies) until the scheduler has every request it produced;
    a page that produced an item is acked later, when the item is stored or dropped."""
    import asyncio
    import weakref
    from types import SimpleNamespace

    from scrapy import Request
    from scrapy.http import HtmlResponse

    from crawler.run.distributed import LeaseAckMiddleware

    acks: list[str] = []
    spider = SimpleNamespace(lease_ack=acks.append, lease_queued=weakref.WeakSet())
    middleware = LeaseAckMiddleware(SimpleNamespace(spider=spider))
    list_page = Request("http://health.people.com.cn/GB/408564/index.html", meta={"hiwatch_entry": "list"})
    found = [Request(f"http://health.people.com.cn/n1/2025/0901/c14739-4100000{i}.html") for i in range(3)]
    article = Request(found[0].url, meta={"hiwatch_entry": "article"})

    async def scenario():
        response = HtmlResponse(list_page.url, body=b"<html></html>", request=list_page)
        assert list(middleware.process_spider_output(response, iter(found))) == found
        spider.lease_queued.add(found[0])
        spider.lease_queued.add(found[1])
        await asyncio.sleep(0.05)
        assert acks == []  # read, but one request is not on the queue yet
        spider.lease_queued.add(found[2])
        await asyncio.sleep(0.05)
        assert acks == ["list"]
        item_page = HtmlResponse(article.url, body=b"<html></html>", request=article)
        assert len(list(middleware.process_spider_output(item_page, iter([{"url": article.url}])))) == 1
        await asyncio.sleep(0.05)
        assert acks == ["list"]

    asyncio.run(scenario())


def test_the_host_delay_holds_across_workers(tmp_path, pg, redis_url):
    """Two workers, one host, delay 0.3 s in sources.yaml: request starts to the host are ≥ 0.3 s apart overall."""
    db_url, database = pg
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root, _pages(12))
    sources = _sources(tmp_path, 0.3)
    namespace = f"hiwatch-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "requests.jsonl"
    coordinator = _coordinator(db_url, root, sources, redis_url, namespace, log)
    workers = [_worker(redis_url, namespace, db_url) for _ in range(2)]
    out, err = coordinator.communicate(timeout=180)
    for process in workers:
        process.communicate(timeout=60)
    assert coordinator.returncode == 0, out + err
    import json

    times = [json.loads(line)["at"] for line in log.read_text().splitlines()
             if "health.people.com.cn" in json.loads(line)["url"] and "robots" not in json.loads(line)["url"]]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) >= 14 and min(gaps) >= 0.25, gaps
    assert _count(database) == 12
    redis.Redis.from_url(redis_url).delete(f"{namespace}:current-run")


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 between the workers and PostgreSQL; `cut(seconds)` is a database outage for them
    (open connections dropped, new ones closed at once) without touching the shared server."""

    def __init__(self, host: str, port: int):
        import socket
        import threading

        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down_until = 0.0
        self.sockets: list = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if time.monotonic() < self.down_until:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.close()
            except OSError:
                pass

    def cut(self, seconds: float) -> None:
        import socket

        self.down_until = time.monotonic() + seconds
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.sockets = []

    def close(self) -> None:
        self.listener.close()
        self.cut(0)


def test_a_database_outage_ends_the_run_partial_not_hanging(tmp_path, pg, redis_url):
    """Workers reach PostgreSQL through a proxy cut for 3 s mid-run: callbacks and stores that failed release their
    stream entries (a callback is retried, then recorded), so the run ends within seconds, `partial`, with the
    failures in the ledger; the next run stores what is missing."""
    from sqlalchemy.engine import make_url

    from crawler.db.models import FetchFailure

    db_url, database = pg
    url = make_url(db_url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    worker_db = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    root = tmp_path / "replay"
    root.mkdir()
    expected = 100  # ten list pages (max_pages) of ten articles
    build_replay(root, _pages(expected))
    sources = _sources(tmp_path, 0.02)
    namespace = f"hiwatch-test-{uuid.uuid4().hex[:8]}"
    coordinator = _coordinator(db_url, root, sources, redis_url, namespace, tmp_path / "requests.jsonl")
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = [_worker(redis_url, namespace, worker_db, stderr=log.open("w"), verbose=True) for log in logs]
    try:
        deadline = time.time() + 120
        while _count(database) < 20:
            assert time.time() < deadline, "the workers stored nothing"
            assert coordinator.poll() is None, coordinator.communicate()
            time.sleep(0.05)
        proxy.cut(3.0)
        cut_at = time.time()
        try:
            out, err = coordinator.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail("the run did not end after the outage; workers' logs:\n"
                        + "\n".join(log.read_text()[-5000:] for log in logs))
        ended_after = time.time() - cut_at
        for process in workers:
            process.communicate(timeout=60)
    finally:
        for process in (coordinator, *workers):
            if process.poll() is None:
                process.kill()
        proxy.close()
    assert coordinator.returncode == 0, out + err
    assert ended_after < 60, f"the run ended {ended_after:.0f} s after the outage"
    with database.session() as session:
        run = session.scalars(select(Run)).one()
        failures = session.scalars(select(FetchFailure)).all()
        assert run.status == "partial" and run.finished_at is not None, (run.status, out, err)
        assert failures and all(f.kind == "error" for f in failures)
        assert any("database error" in f.reason or "callback failed" in f.reason for f in failures)
    stored_first = _count(database)
    assert stored_first < expected

    # the next run (database up) stores what is missing
    coordinator = _coordinator(db_url, root, sources, redis_url, namespace, tmp_path / "again.jsonl")
    log = tmp_path / "again-worker.log"
    worker = _worker(redis_url, namespace, db_url, stderr=log.open("w"), verbose=True)
    try:
        out, err = coordinator.communicate(timeout=180)
        worker.communicate(timeout=60)
    finally:
        for process in (coordinator, worker):
            if process.poll() is None:
                process.kill()
    assert coordinator.returncode == 0, out + err + log.read_text()[-5000:]
    assert _count(database) == expected
    redis.Redis.from_url(redis_url).delete(f"{namespace}:current-run")


def test_sigterm_stops_the_coordinator_as_ctrl_c_does(tmp_path, pg, redis_url):
    """SIGTERM (systemd, Kubernetes): the run ends `interrupted`, exit 1, the summary is printed and the run's
    Redis keys (streams, seeds) are removed."""
    db_url, database = pg
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root, _pages(10))
    namespace = f"hiwatch-test-{uuid.uuid4().hex[:8]}"
    server = redis.Redis.from_url(redis_url)
    coordinator = _coordinator(db_url, root, _sources(tmp_path, 0.1), redis_url, namespace, tmp_path / "r.jsonl")
    try:
        deadline = time.time() + 60
        while not server.get(f"{namespace}:current-run"):  # seeded and waiting for workers (there are none)
            assert time.time() < deadline and coordinator.poll() is None, coordinator.communicate()
            time.sleep(0.05)
        assert list(server.scan_iter(f"{namespace}:*:requests"))
        coordinator.send_signal(signal.SIGTERM)
        out, err = coordinator.communicate(timeout=30)
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
    assert coordinator.returncode == 1, out + err
    assert "interrupted" in out, out
    with database.session() as session:
        run = session.scalars(select(Run)).one()
        assert run.status == "interrupted" and run.finished_at is not None
    import json

    assert json.loads(server.get(f"{namespace}:current-run"))["state"] == "done"
    assert [k for k in server.scan_iter(f"{namespace}:*") if k != f"{namespace}:current-run".encode()] == []
    server.delete(f"{namespace}:current-run")
