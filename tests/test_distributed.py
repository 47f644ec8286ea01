"""Scale-out on the real Redis and PostgreSQL: two workers share one run; one is killed; nothing is lost or doubled."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
import redis
from sqlalchemy import func, select, text

from crawler.db import connect
from crawler.db.models import Article, Run, RunSource
from crawler.run.distributed import OPEN_TTL
from replaykit import REPO, SOURCES, build_replay, requested

REDIS_URL = os.environ.get("HIWATCH_TEST_REDIS", "redis://127.0.0.1:6379/15")
# Coordinator and workers run with deprecation warnings as errors: current Scrapy APIs only.
ENV = {**os.environ, "HIWATCH_STRICT_WARNINGS": "1"}
FAST = ["--set", "AUTOTHROTTLE_ENABLED=False", "--set", "DOWNLOAD_DELAY_JITTER=0", "--set", "HIWATCH_CLAIM_IDLE=6"]


@pytest.fixture
def redis_url():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is part of the test environment and not reachable: {exc}")
    return REDIS_URL


def _end_other_sessions(database) -> None:
    """Close every other session on the test database: a worker or proxy thread of an earlier test that somehow
    outlived it must not hold a lock the next TRUNCATE waits for (a full-suite run once hung there)."""
    with database.engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"))


def _emptied(database) -> None:
    _end_other_sessions(database)
    with database.engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '20s'"))  # an error, never a hang
        conn.execute(text("TRUNCATE articles, raw_pages, runs, run_sources, fetch_failures, discovery_pages, "
                          "crawl_lock RESTART IDENTITY CASCADE"))


@pytest.fixture
def pg(pg_url):
    database = connect(pg_url)
    _emptied(database)
    yield pg_url, database
    database.dispose()
    _end_other_sessions(database)
    database.dispose()


@pytest.fixture
def spawned():
    """Every coordinator and worker a test starts, each in its own process group (a worker's extraction processes
    with it): killed and reaped at the end of the test whatever happened, their log files closed."""
    processes: list[subprocess.Popen] = []
    files: list = []
    yield processes, files
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            process.communicate(timeout=30)
        except (subprocess.TimeoutExpired, ValueError):
            pass
        try:  # the group's other members (extraction processes of a worker that was killed alone)
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for handle in files:
        handle.close()


@pytest.mark.timeout(60)
def test_a_session_left_by_an_earlier_test_cannot_hang_the_next(pg_url):
    """A full-suite run once hung here: a connection an earlier test left open (through a proxy thread still
    alive) held a lock, and the next test's TRUNCATE waited for it for ever. Emptying the database ends such
    sessions first."""
    import psycopg
    from sqlalchemy.engine import make_url

    database = connect(pg_url)
    url = make_url(pg_url)
    leftover = psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database)
    try:
        leftover.execute("SELECT count(*) FROM articles")  # a transaction left open: a lock on the table
        started = time.monotonic()
        _emptied(database)
        assert time.monotonic() - started < 15
        with pytest.raises(psycopg.OperationalError):  # the leftover session was ended
            leftover.execute("SELECT 1")
    finally:
        leftover.close()
        database.dispose()


def _pages(count: int) -> dict:
    days = ["0830", "0831", "0901", "0902", "0903", "0904", "0905"]
    per_page = 10
    pages = {}
    for i in range(count):
        pages.setdefault(1 + i // per_page, []).append((days[i % 7], 200 + i, f"{8 + i % 10:02d}:{i % 60:02d}"))
    return pages


def _coordinator(db_url, root, sources, redis_url, namespace, log, spawned):
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "crawl", "--distributed", "--redis", redis_url,
         "--redis-namespace", namespace, "--replay", str(root), "--replay-log", str(log), "--week", "2025-09-05",
         "--db", db_url, "--sources", str(sources), "--polite", *FAST],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, start_new_session=True)
    spawned[0].append(process)
    return process


def _worker(redis_url, namespace, db_url, spawned, log=None, verbose: bool = False):
    stderr = subprocess.PIPE
    if log is not None:
        stderr = log.open("w")
        spawned[1].append(stderr)
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "worker", "--once", "--wait", "60", "--redis", redis_url,
         "--redis-namespace", namespace, "--db", db_url, *(["-v"] if verbose else [])],
        cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True, env=ENV, start_new_session=True)
    spawned[0].append(process)
    return process


def _sources(tmp_path, delay: float):
    path = tmp_path / "sources.yaml"
    # per-site politeness in YAML: the delay holds across workers (kept in Redis)
    politeness = f"    politeness: {{concurrency: 2, delay: {delay}}}\n    rules:"
    path.write_text(SOURCES.format().replace("    rules:", politeness),
                    encoding="utf-8")
    return path


def _count(database, model=Article) -> int:
    with database.session() as session:
        return session.scalar(select(func.count(model.id))) or 0


@pytest.mark.timeout(420)
def test_two_workers_one_killed_everything_stored_once(tmp_path, pg, redis_url, spawned):
    db_url, database = pg
    root = tmp_path / "replay"
    root.mkdir()
    pages = _pages(40)
    build_replay(root, pages)
    expected = 40
    sources = _sources(tmp_path, 0.1)
    namespace = f"hiwatch-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "requests.jsonl"
    coordinator = _coordinator(db_url, root, sources, redis_url, namespace, log, spawned)
    workers = [_worker(redis_url, namespace, db_url, spawned) for _ in range(2)]
    deadline = time.time() + 90
    while _count(database) < 8:
        assert time.time() < deadline, "the workers stored nothing"
        assert coordinator.poll() is None, coordinator.communicate()
        time.sleep(0.1)
    os.killpg(workers[0].pid, signal.SIGKILL)  # mid-run, with its extraction process: it holds unacked entries
    out, err = coordinator.communicate(timeout=180)
    assert coordinator.returncode == 0, out + err
    # the killed worker's "still writing its counts" mark expires within 10 s (OPEN_TTL): it holds the close up
    # no longer (it was 30 s)
    closed_after = float(re.search(r"closed ([\d.]+) s after the streams were drained", err).group(1))
    assert OPEN_TTL <= 10 and closed_after < 15, err[-2000:]
    _, survivor_err = workers[1].communicate(timeout=60)
    assert workers[1].returncode == 0, survivor_err
    assert "Warning" not in survivor_err, survivor_err
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
    coordinator = _coordinator(db_url, root, sources, redis_url, namespace, log2, spawned)
    worker = _worker(redis_url, namespace, db_url, spawned)
    out, err = coordinator.communicate(timeout=180)
    worker.communicate(timeout=60)
    assert coordinator.returncode == 0, out + err
    assert not [u for u in requested(log2) if "/n1/" in u]
    assert _count(database) == expected
    redis.Redis.from_url(redis_url).delete(f"{namespace}:current-run")


def _scheduler(server, keys, spider_class, worker="w1"):
    """A DistributedScheduler with the parts enqueue_request/next_request use, on the site's two streams."""
    from scrapy.utils.test import get_crawler

    from crawler.run.distributed import KINDS, DistributedScheduler, StreamQueue, create_stream

    scheduler = DistributedScheduler(get_crawler(spider_class), server, keys, worker)
    scheduler.spider = spider_class()
    for kind, key in zip(KINDS, keys.streams(spider_class.name)):
        scheduler.queues[kind] = StreamQueue(server, key, worker)
        create_stream(server, key)
    return scheduler


def _bare_scheduler(redis_url: str, name: str):
    """(Redis, Keys under a fresh namespace, a DistributedScheduler) for a do-nothing spider called `name`."""
    from scrapy import Spider

    from crawler.run.distributed import Keys

    spider_class = type(f"{name.title()}Spider", (Spider,), {"name": name, "parse": lambda self, response: None})
    server = redis.Redis.from_url(redis_url)
    keys = Keys(f"hiwatch-test-{uuid.uuid4().hex[:8]}")
    return server, keys, _scheduler(server, keys, spider_class)


@pytest.mark.timeout(60)
def test_an_article_link_is_claimed_only_as_it_is_queued(redis_url):
    """A worker killed after finding links but before queueing them must leave them unclaimed, so the worker that
    re-fetches the list page queues them (claiming first lost two articles of 40 in one CI run). The scheduler
    claims and adds the stream entry in one transaction; a second find of the link is refused (its entry
    removed); the delivered request carries no claim, so its retry takes its entry's place without claiming."""
    from scrapy import Request

    from crawler.run.distributed import GROUP

    server, keys, scheduler = _bare_scheduler(redis_url, "claims")
    spider, stream = scheduler.spider, keys.articles("claims")
    url = "http://health.people.com.cn/n1/2025/0901/c14739-41000001.html"
    try:
        article = {"hiwatch_kind": "article", "article_url": url, "pages": []}
        found = Request(url, callback=spider.parse, dont_filter=True, meta=dict(article))
        assert not server.sismember(keys.article_claims("claims"), url)  # found, not yet queued: nobody's
        assert scheduler.enqueue_request(found)
        assert server.sismember(keys.article_claims("claims"), url) and server.xlen(stream) == 1
        found_again = Request(url, callback=spider.parse, dont_filter=True, meta=dict(article))
        assert not scheduler.enqueue_request(found_again) and server.xlen(stream) == 1
        leased = scheduler.next_request()
        assert leased.url == url and leased.meta["hiwatch_claimed"]
        assert server.xpending(stream, GROUP)["pending"] == 1  # delivered, not acknowledged
        assert scheduler.enqueue_request(leased.replace(dont_filter=True))  # a retry takes its entry's place
        assert server.xpending(stream, GROUP)["pending"] == 0 and server.xlen(stream) == 2
        retried = scheduler.next_request()
        assert retried.url == url and scheduler.next_request() is None
        scheduler.ack(retried.meta["hiwatch_entry"])
        assert server.xpending(stream, GROUP)["pending"] == 0
    finally:
        for key in server.scan_iter(keys.prefix + ":*"):
            server.delete(key)


@pytest.mark.timeout(60)
def test_a_list_page_is_read_before_the_articles_queued_ahead_of_it(redis_url):
    """The next list page, found after a page's forty article links, is handed out before them: in one FIFO
    stream it waited behind every article queued so far, the workers ran out of links and two workers were
    hardly faster than one. Articles are still read in the order they were found."""
    from scrapy import Request

    server, keys, scheduler = _bare_scheduler(redis_url, "order")
    base = "http://health.people.com.cn"
    try:
        for n in range(3):
            url = f"{base}/n1/2025/0901/c14739-4100000{n}.html"
            assert scheduler.enqueue_request(Request(url, meta={"hiwatch_kind": "article", "article_url": url}))
        list_page = f"{base}/GB/408564/index2.html"
        assert scheduler.enqueue_request(Request(list_page, meta={"hiwatch_kind": "discovery"}))
        order = [scheduler.next_request() for _ in range(4)]
        assert [r.url for r in order] == [list_page] + [f"{base}/n1/2025/0901/c14739-4100000{n}.html"
                                                        for n in range(3)]
        assert scheduler.next_request() is None
        assert scheduler.work_remaining()  # delivered, none acknowledged: the run is not drained
        for request in order:
            scheduler.ack(request.meta["hiwatch_entry"])
        assert not scheduler.work_remaining()
    finally:
        for key in server.scan_iter(keys.prefix + ":*"):
            server.delete(key)


@pytest.mark.timeout(60)
def test_a_list_page_is_acked_only_once_its_requests_are_queued():
    """Its lease stays in flight (rescued if the worker dies) until the scheduler has every request it produced;
    a page that produced an item is acked later, when the item is stored or dropped."""
    import asyncio
    import weakref
    from types import SimpleNamespace

    from scrapy import Request
    from scrapy.http import HtmlResponse

    from crawler.run.distributed import EntryAckMiddleware

    acks: list[str] = []
    spider = SimpleNamespace(entry_ack=acks.append, entry_queued=weakref.WeakSet())
    middleware = EntryAckMiddleware(SimpleNamespace(spider=spider))
    list_page = Request("http://health.people.com.cn/GB/408564/index.html", meta={"hiwatch_entry": "list"})
    found = [Request(f"http://health.people.com.cn/n1/2025/0901/c14739-4100000{i}.html") for i in range(3)]
    article = Request(found[0].url, meta={"hiwatch_entry": "article"})

    async def scenario():
        response = HtmlResponse(list_page.url, body=b"<html></html>", request=list_page)
        assert list(middleware.process_spider_output(response, iter(found))) == found
        spider.entry_queued.add(found[0])
        spider.entry_queued.add(found[1])
        await asyncio.sleep(0.05)
        assert acks == []  # read, but one request is not on the queue yet
        spider.entry_queued.add(found[2])
        await asyncio.sleep(0.05)
        assert acks == ["list"]
        item_page = HtmlResponse(article.url, body=b"<html></html>", request=article)
        assert len(list(middleware.process_spider_output(item_page, iter([{"url": article.url}])))) == 1
        await asyncio.sleep(0.05)
        assert acks == ["list"]

    asyncio.run(scenario())


@pytest.mark.timeout(300)
def test_the_host_delay_holds_across_workers(tmp_path, pg, redis_url, spawned):
    """Two workers, one host, delay 0.3 s in sources.yaml: request starts to the host are ≥ 0.3 s apart overall."""
    db_url, database = pg
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root, _pages(12))
    sources = _sources(tmp_path, 0.3)
    namespace = f"hiwatch-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "requests.jsonl"
    coordinator = _coordinator(db_url, root, sources, redis_url, namespace, log, spawned)
    workers = [_worker(redis_url, namespace, db_url, spawned) for _ in range(2)]
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
    (open connections dropped, new ones closed at once) without touching the shared server. `close()` ends it
    completely: every socket closed and every thread joined, so no connection through it outlives the test."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.down_until = 0.0
        self.stopped = threading.Event()
        self.sockets: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self._start(self._accept)

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self.lock:
            self.threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            if time.monotonic() < self.down_until or self.stopped.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                self._start(self._pump, a, b)

    @staticmethod
    def _pump(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes the pump reading the other way
            except OSError:
                pass

    def cut(self, seconds: float) -> None:
        self.down_until = time.monotonic() + seconds
        with self.lock:
            dropped, self.sockets = self.sockets, []
        for s in dropped:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.stopped.set()
        self.cut(0)
        with self.lock:
            threads = list(self.threads)
        for thread in threads:
            thread.join(timeout=10)
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                s.close()
        alive = [t for t in threads if t.is_alive()]
        assert not alive, f"{len(alive)} proxy threads still running"


@pytest.fixture
def proxy(pg):
    """The cuttable proxy to the test's PostgreSQL database, closed (threads joined) at the end of the test."""
    from sqlalchemy.engine import make_url

    url = make_url(pg[0])
    started = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    yield started, url.set(host="127.0.0.1", port=started.port).render_as_string(hide_password=False)
    started.close()


@pytest.mark.timeout(420)
def test_a_database_outage_ends_the_run_partial_not_hanging(tmp_path, pg, proxy, redis_url, spawned):
    """Workers reach PostgreSQL through a proxy cut for 3 s mid-run: callbacks and stores that failed release their
    stream entries (a callback is retried, then recorded), so the run ends within seconds, `partial`, with the
    failures in the ledger; the next run stores what is missing."""
    from crawler.db.models import FetchFailure

    db_url, database = pg
    cuttable, worker_db = proxy
    root = tmp_path / "replay"
    root.mkdir()
    expected = 100  # ten list pages (max_pages) of ten articles
    build_replay(root, _pages(expected))
    sources = _sources(tmp_path, 0.02)
    namespace = f"hiwatch-test-{uuid.uuid4().hex[:8]}"
    coordinator = _coordinator(db_url, root, sources, redis_url, namespace, tmp_path / "requests.jsonl", spawned)
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = [_worker(redis_url, namespace, worker_db, spawned, log=log, verbose=True) for log in logs]
    deadline = time.time() + 120
    while _count(database) < 20:
        assert time.time() < deadline, "the workers stored nothing"
        assert coordinator.poll() is None, coordinator.communicate()
        time.sleep(0.05)
    cuttable.cut(3.0)
    cut_at = time.time()
    try:
        out, err = coordinator.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the run did not end after the outage; workers' logs:\n"
                    + "\n".join(log.read_text()[-5000:] for log in logs))
    ended_after = time.time() - cut_at
    for process in workers:
        process.communicate(timeout=60)
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
    coordinator = _coordinator(db_url, root, sources, redis_url, namespace, tmp_path / "again.jsonl", spawned)
    log = tmp_path / "again-worker.log"
    worker = _worker(redis_url, namespace, db_url, spawned, log=log, verbose=True)
    out, err = coordinator.communicate(timeout=180)
    worker.communicate(timeout=60)
    assert coordinator.returncode == 0, out + err + log.read_text()[-5000:]
    assert _count(database) == expected
    redis.Redis.from_url(redis_url).delete(f"{namespace}:current-run")


@pytest.mark.timeout(180)
def test_sigterm_stops_the_coordinator_as_ctrl_c_does(tmp_path, pg, redis_url, spawned):
    """SIGTERM (systemd, Kubernetes): the run ends `interrupted`, exit 1, the summary is printed and the run's
    Redis keys (streams, seeds) are removed."""
    db_url, database = pg
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root, _pages(10))
    namespace = f"hiwatch-test-{uuid.uuid4().hex[:8]}"
    server = redis.Redis.from_url(redis_url)
    coordinator = _coordinator(db_url, root, _sources(tmp_path, 0.1), redis_url, namespace, tmp_path / "r.jsonl",
                               spawned)
    deadline = time.time() + 60
    while not server.get(f"{namespace}:current-run"):  # seeded and waiting for workers (there are none)
        assert time.time() < deadline and coordinator.poll() is None, coordinator.communicate()
        time.sleep(0.05)
    assert list(server.scan_iter(f"{namespace}:*:queue:discovery"))
    coordinator.send_signal(signal.SIGTERM)
    out, err = coordinator.communicate(timeout=30)
    assert coordinator.returncode == 1, out + err
    assert "interrupted" in out, out
    with database.session() as session:
        run = session.scalars(select(Run)).one()
        assert run.status == "interrupted" and run.finished_at is not None
    import json

    assert json.loads(server.get(f"{namespace}:current-run"))["state"] == "done"
    assert [k for k in server.scan_iter(f"{namespace}:*") if k != f"{namespace}:current-run".encode()] == []
    server.delete(f"{namespace}:current-run")


@pytest.mark.timeout(120)
def test_an_unreachable_redis_exits_3_at_once(tmp_path):
    """Coordinator and worker: Redis is where the run lives; without it they stop at once, exit 3, naming it."""
    nowhere = "redis://127.0.0.1:1/0"
    database = f"sqlite:///{tmp_path / 'hiwatch.sqlite3'}"
    for command in (["crawl", "--distributed", "--redis", nowhere, "--week", "2025-09-05", "--db", database,
                     "--sources", str(_sources(tmp_path, 0.1))],
                    ["worker", "--once", "--wait", "60", "--redis", nowhere, "--db", database]):
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "crawler.cli", *command], cwd=REPO, capture_output=True,
                              text=True, env=ENV, timeout=90)
        assert done.returncode == 3, (command[0], done.stdout, done.stderr)
        assert "cannot reach Redis" in done.stderr and time.monotonic() - started < 30, done.stderr


@pytest.mark.timeout(60)
def test_the_counts_saved_at_close_survive_a_database_blip():
    """A worker closing during (or just after) an outage: its last save of the run counts and failures — the
    failures the outage caused are in it — is tried again for about 20 s instead of being lost at once."""
    from types import SimpleNamespace

    from sqlalchemy.exc import OperationalError

    from crawler.extensions import RunLedger

    attempts: list[int] = []

    def save(database, run_id):
        attempts.append(run_id)
        if len(attempts) <= 2:
            raise OperationalError("INSERT ...", {}, Exception("server closed the connection unexpectedly"))

    recorder = RunLedger.__new__(RunLedger)
    recorder.database, recorder.run_id = None, 7
    recorder.ledger = SimpleNamespace(save=save, source="people-health")
    recorder._save_at_close(waits=(0, 0, 0))
    assert attempts == [7, 7, 7]  # two failed, the third saved

    attempts.clear()
    with pytest.raises(OperationalError):  # away for longer: the error is not swallowed
        recorder._save_at_close(waits=(0,))
    assert attempts == [7, 7]
