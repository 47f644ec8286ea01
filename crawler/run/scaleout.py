"""The two sides of a distributed crawl: the coordinator (`hiwatch crawl --distributed`) and a worker."""
from __future__ import annotations

import logging
import signal
import threading
import time
from contextlib import contextmanager

from scrapy.crawler import CrawlerProcess
from sqlalchemy import select

from crawler.config import SourcesFile, load_sources
from crawler.extensions import run_ledger
from crawler.run.crawl import CrawlResult, scrapy_settings
from crawler.db import Database, connect
from crawler.db.models import FetchFailure
from crawler.run.distributed import (Keys, RunInfo, clear_run, connect_redis, current_run, distributed_settings,
                                 drained, open_workers, publish_run, seed, source_counts)
from crawler.db.lock import DatabaseLock, close_stale_runs
from crawler.logs import attach_file_log
from crawler.run.replay import ReplayServer
from crawler.db.runs import finish_run, run_status, start_run
from crawler.window import Window

log = logging.getLogger("hiwatch.scaleout")


@contextmanager
def sigterm_as_interrupt():
    """SIGTERM (systemd, Kubernetes) stops the coordinator as Ctrl-C does: a KeyboardInterrupt in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_coordinator(database: Database, sources: SourcesFile, window: Window, redis_url: str,
                    namespace: str = "hiwatch", site_names: list[str] | None = None, replay_dirs=(),
                    replay_log: str | None = None, polite: bool | None = None, sources_file: str | None = None,
                    extra_settings: dict | None = None, timeout: float = 6 * 3600, poll: float = 0.1) -> CrawlResult:
    """Record the run, seed the sites' streams, wait until workers have drained them, close the run.

    SIGTERM stops it as Ctrl-C does: the run ends `interrupted`, its Redis keys are removed."""
    server = connect_redis(redis_url)
    selected = [sources.get(name) for name in site_names] if site_names else sources.enabled()
    names = [s.name for s in selected]
    if polite is None:
        polite = not replay_dirs
    with sigterm_as_interrupt(), DatabaseLock(database, "crawl"):
        close_stale_runs(database)
        run_id = start_run(database, window, names, {"distributed": True, "sites": site_names,
                                                     "replay": [str(d) for d in replay_dirs]})
        keys = Keys(f"{namespace}:{run_id}:{int(time.time())}")
        status, message, info, replay = None, None, None, None
        try:
            clear_run(server, keys)
            replay = ReplayServer(list(replay_dirs), log_path=replay_log).start() if replay_dirs else None
            info = RunInfo(run_id, window.first.isoformat(), window.last.isoformat(), names,
                           database.engine.url.render_as_string(hide_password=False), keys.prefix,
                           replay=replay.url if replay else None, polite=polite, sources_file=sources_file,
                           settings=extra_settings or None)
            seeded = seed(server, keys, selected)
            publish_run(server, namespace, info)
            log.warning("run %d: %d seeds for %s on %s; waiting for workers", run_id, seeded, ", ".join(names),
                        redis_url)
            started = time.monotonic()
            while not drained(server, keys, names):  # exact: an entry is acknowledged only once its work is done
                if time.monotonic() - started > timeout:
                    status, message = "failed", f"workers did not drain the queues within {timeout:.0f} s"
                    break
                time.sleep(poll)
        except KeyboardInterrupt:
            status, message = "interrupted", "the coordinator was stopped"
        finally:
            ended = time.monotonic()
            if info is not None:
                info.state = "done"
                publish_run(server, namespace, info)
            for name in names:  # nothing more to take: an interrupted run's workers stop
                server.delete(*keys.streams(name))
            deadline = time.monotonic() + 30
            while open_workers(server, keys) and time.monotonic() < deadline:
                time.sleep(poll)  # let the workers write their last counts
            if replay:
                replay.stop()
            clear_run(server, keys)
        per_source = source_counts(database, run_id)
        with database.session() as session:
            failures = {}
            for failure in session.scalars(select(FetchFailure).where(FetchFailure.run_id == run_id)):
                failures.setdefault(failure.source, []).append(failure)
        silent = [s.name for s in selected if s.expect_articles and per_source.get(s.name, {}).get("links_found", 0) == 0]
        status = status or run_status(per_source, interrupted=False)
        finish_run(database, run_id, status, message)
        log.warning("run %d: %s, closed %.2f s after the streams were drained", run_id, status,
                    time.monotonic() - ended)
        return CrawlResult(run_id, status, per_source, failures, silent)


def wait_for_run(redis_url: str, namespace: str, wait_seconds: float) -> RunInfo | None:
    server = connect_redis(redis_url)
    deadline = time.monotonic() + wait_seconds
    while True:
        info = current_run(server, namespace)
        if info is not None and info.state == "running":
            return info
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.25)


def run_worker(info: RunInfo, redis_url: str, namespace: str, database_url: str | None = None,
               sources_file: str | None = None, log_level: str = "WARNING") -> dict:
    """Work on one run in this process until it is drained (Scrapy's reactor: once per process)."""
    from spiders.source import spider_for

    sources = load_sources(info.sources_file or sources_file)
    database_url = database_url or info.database_url
    connect(database_url).dispose()  # migrate / fail early with a clear message
    extra = {**(info.settings or {}), **distributed_settings(info, redis_url, namespace)}
    settings = scrapy_settings(database_url, info.run_id, sources, info.sources_file or sources_file, info.replay,
                               info.polite, log_level, extra=extra)
    process = CrawlerProcess(settings)
    attach_file_log()
    for name in info.sources:
        process.crawl(spider_for(sources.get(name)), window=info.window)
    crawlers = list(process.crawlers)
    process.start()
    from crawler.analyse.pool import shutdown

    shutdown()
    return {c.spider.name: dict(run_ledger(c).counts) for c in crawlers if c.spider is not None}
