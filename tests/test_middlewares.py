"""Downloader middlewares fed real responses offline (the head-only meta refresh), and the extraction pool."""
from __future__ import annotations

from pathlib import Path

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.middlewares import HeadMetaRefreshMiddleware

FILLER = "<p>　　正文段落，内容很长。</p>\n" * 2000  # ~60 KB: past the 16 KB head


def _response(url: str, head: str, charset: str = "utf-8") -> HtmlResponse:
    html = f"<html><head><meta charset='{charset}'>{head}<title>t</title></head><body>{FILLER}</body></html>"
    return HtmlResponse(url, body=html.encode(charset), headers={"Content-Type": f"text/html; charset={charset}"})


def test_a_meta_refresh_in_the_head_of_a_long_page_redirects():
    middleware = HeadMetaRefreshMiddleware.from_crawler(get_crawler(settings_dict={"METAREFRESH_MAXDELAY": 100}))
    request = Request("http://www.example.cn/old.html")
    for charset in ("utf-8", "gbk"):
        response = _response(request.url, '<meta http-equiv="refresh" content="0; url=/new.html">', charset)
        redirected = middleware.process_response(request, response)
        assert isinstance(redirected, Request) and redirected.url == "http://www.example.cn/new.html"


def test_a_page_without_refresh_comes_back_whole_and_untouched():
    middleware = HeadMetaRefreshMiddleware.from_crawler(get_crawler(settings_dict={"METAREFRESH_MAXDELAY": 100}))
    request = Request("http://www.example.cn/a.html")
    response = _response(request.url, "")
    assert middleware.process_response(request, response) is response
    short = HtmlResponse(request.url, body=b'<meta http-equiv="refresh" content="0;url=/b.html">',
                         headers={"Content-Type": "text/html"})
    assert middleware.process_response(request, short).url == "http://www.example.cn/b.html"


def test_a_killed_extraction_worker_is_replaced_and_the_task_runs():
    """A worker killed under the pool (OOM killer, a crash in C) breaks the pool: the next task gets a new one."""
    import asyncio
    import os
    import signal
    import time

    from crawler.analyse.pool import get_pool, run_in_pool, shutdown

    async def scenario():
        assert await run_in_pool(len, b"abc", workers=1) == 3
        broken = get_pool()
        for pid in list(broken._processes):
            os.kill(pid, signal.SIGKILL)
        time.sleep(1.0)  # the pool's manager thread notices the death
        assert await run_in_pool(len, b"abcd", workers=1) == 4
        assert get_pool() is not broken

    try:
        asyncio.run(scenario())
    finally:
        shutdown()


def test_warm_up_starts_the_workers_and_the_pool_outlives_its_thread():
    """warm_up() starts every worker from a thread that then ends; the forkserver must not die with that thread
    (PR_SET_PDEATHSIG follows the thread that started a process), or every later task finds a broken pool."""
    import os
    import threading
    import time

    from crawler.analyse.pool import get_pool, shutdown, warm_up

    shutdown()
    try:
        warm_up(2)
        for thread in threading.enumerate():
            if thread.name == "pool-warm-up":
                thread.join(60)
        time.sleep(0.5)  # a parent-death kill would have landed by now
        pool = get_pool()
        assert len(pool._processes) == 2  # both workers started before any real task
        pids = {pool.submit(os.getpid).result(timeout=30) for _ in range(8)}  # BrokenProcessPool if they died
        assert pids <= set(pool._processes)
    finally:
        shutdown()


def _loaded(names):
    import sys

    return [name for name in names if name in sys.modules]


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))


def test_the_workers_import_the_extractor_and_the_forkserver_does_not():
    """Each worker imports the extractor as it starts, before any page; the forkserver holds only its guard. A
    forked page is resident in the forkserver and in every worker: the extractor preloaded there was counted
    three times in the crawl's summed memory (the forkserver was as large as a worker)."""
    import pytest
    from multiprocessing import forkserver

    from crawler.analyse.pool import WORKER_MODULES, get_pool, shutdown, warm_up

    if not Path("/proc/self/status").exists():
        pytest.skip("reads resident memory from /proc")
    shutdown()
    try:
        warm_up(2)
        pool = get_pool()
        assert pool.submit(_loaded, WORKER_MODULES).result(timeout=60) == list(WORKER_MODULES)
        server = forkserver._forkserver._forkserver_pid
        worker = next(iter(pool._processes))
        assert _rss_kb(server) < 0.6 * _rss_kb(worker), (_rss_kb(server), _rss_kb(worker))
    finally:
        shutdown()


def _niceness() -> int:
    import os

    return os.nice(0)


def test_the_workers_run_below_the_crawl_process_priority(monkeypatch):
    """The extraction workers take the cores the crawl process leaves: their niceness is the crawl's plus NICE
    (19 by default, capped at 19 by the kernel), so the reactor's threads never queue behind a worker. A pool
    started again (after a crash: run_in_pool asks with no priority) keeps the priority the crawl set."""
    import os

    import pytest

    from crawler.analyse import pool
    from crawler.analyse.pool import NICE, get_pool, shutdown

    if not hasattr(os, "nice"):
        pytest.skip("no process priorities on this platform")
    monkeypatch.setattr(pool, "_nice", NICE)  # what another test set is put back afterwards
    own = os.nice(0)
    for nice, expected in ((None, min(19, own + NICE)), (0, own), (None, own)):
        shutdown()
        try:
            assert get_pool(2, nice).submit(_niceness).result(timeout=60) == expected
        finally:
            shutdown()
    assert NICE == 19


def test_the_pool_has_one_worker_per_cpu_the_process_may_use_not_per_cpu_of_the_machine():
    """A crawl pinned to one core (taskset, a container's cpuset) starts one extraction worker: os.cpu_count()
    counts the machine's cores, and two workers sharing one core only add switching. In a subprocess pinned to
    one CPU, so this test process keeps its own mask."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pytest

    allowed = sorted(os.sched_getaffinity(0))
    if os.cpu_count() is None or os.cpu_count() < 2 or not allowed:
        pytest.skip("needs a machine with two CPUs to pin a process to one of them")
    script = f"""
import os
os.sched_setaffinity(0, {{{allowed[0]}}})
from crawler.analyse.pool import get_pool, shutdown
pool = get_pool()
print(pool._max_workers, os.cpu_count())
shutdown()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    workers, machine = map(int, done.stdout.split())
    assert workers == 1 and machine >= 2


def test_replay_handler_keeps_an_idle_connection_per_concurrent_request():
    """Every host's requests go to the one replay server: the pool must not close connections at Scrapy's
    per-host cap and open new ones (374 connections for 2,056 requests in the benchmark before; 16 after).
    In a subprocess: the handler needs an installed reactor, which this test process must not get."""
    import subprocess
    import sys
    from pathlib import Path

    script = """
from scrapy.utils.reactor import install_reactor
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
from scrapy.utils.test import get_crawler
from crawler.run.replay import ReplayDownloadHandler
crawler = get_crawler(settings_dict={"HIWATCH_REPLAY": "http://127.0.0.1:9", "CONCURRENT_REQUESTS": 16,
                                     "CONCURRENT_REQUESTS_PER_DOMAIN": 2})
print(ReplayDownloadHandler(crawler).inner._pool.maxPersistentPerHost)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "16"


# ---- a database that blinks: the list page and its links are never lost for it -------------------------------

def _away(*_args, **_kwargs):
    from sqlalchemy.exc import OperationalError

    raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


class _Ledger:
    database = object()


def _db_middlewares(monkeypatch):
    import crawler.middlewares as M

    crawler = get_crawler(settings_dict={})
    crawler.spider = type("S", (), {"refresh": False, "source": type("Src", (), {"name": "people"})()})()
    monkeypatch.setattr(M, "run_ledger", lambda _crawler: _Ledger())
    for name in ("discovery_validators", "save_discovery", "known_urls"):
        monkeypatch.setattr(M, name, _away)
    return M, crawler


def test_list_pages_are_fetched_whole_when_the_database_is_away(monkeypatch):
    M, crawler = _db_middlewares(monkeypatch)
    middleware = M.ConditionalDiscoveryMiddleware.from_crawler(crawler)
    request = Request("http://health.people.com.cn/GB/408568/index.html", meta={"hiwatch_conditional": True})
    assert middleware.process_request(request) is None and b"If-None-Match" not in request.headers
    page = HtmlResponse(request.url, body=b'<a href="/n1/2025/0902/c1-1.html">x</a>', request=request,
                        headers={"ETag": '"v1"', "Content-Type": "text/html; charset=utf-8"})
    assert middleware.process_response(request, page) is page  # read, though its validators are not remembered
    assert request.meta["hiwatch_links"] == ["http://health.people.com.cn/n1/2025/0902/c1-1.html"]
    request.headers["If-None-Match"] = '"v1"'
    again = middleware.process_response(request, HtmlResponse(request.url, status=304, body=b"", request=request))
    assert isinstance(again, Request) and b"If-None-Match" not in again.headers  # asked for whole instead
    assert again.meta["hiwatch_conditional"] is False and again.dont_filter


def test_article_links_are_requested_when_stored_ones_cannot_be_checked(monkeypatch):
    M, crawler = _db_middlewares(monkeypatch)
    middleware = M.KnownArticlesMiddleware.from_crawler(crawler)
    links = [Request(f"http://health.people.com.cn/n1/2025/0902/c1-{n}.html",
                     meta={"hiwatch_kind": "article", "article_url": f"http://health.people.com.cn/n1/2025/0902/c1-{n}.html"})
             for n in range(3)]
    assert list(middleware.process_spider_output(None, iter(links))) == links
