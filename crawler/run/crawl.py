"""Run one crawl: every enabled site (or the ones named) for the window, into the database, with a run record."""
from __future__ import annotations

import gc
import logging
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.config import SourcesFile
from crawler.db import Database
from crawler.db.lock import DatabaseLock, close_stale_runs
from crawler.extensions import run_ledger
from crawler.logs import attach_file_log
from crawler.run.replay import ReplayServer
from crawler.db.runs import finish_run, run_status, start_run
from crawler.window import Window

log = logging.getLogger("hiwatch.crawl")


@dataclass
class CrawlResult:
    run_id: int
    status: str
    per_source: dict[str, Counter] = field(default_factory=dict)
    failures: dict[str, list] = field(default_factory=dict)
    silent_sources: list[str] = field(default_factory=list)
    samples: dict[str, object] = field(default_factory=dict)  # check mode: the extracted sample per source

    @property
    def stored(self) -> int:
        return sum(c["stored"] for c in self.per_source.values())


def scrapy_settings(database_url: str, run_id: int, sources: SourcesFile, sources_file: str | None,
                    replay_url: str | None = None, polite: bool = True, log_level: str = "WARNING",
                    log_file: str | None = None, extra: dict | None = None) -> Settings:
    """hiwatch's Scrapy settings for a run; these win over each site's own politeness (priority cmdline)."""
    settings = project_settings()
    overrides = {
        "HIWATCH_DATABASE_URL": database_url,
        "HIWATCH_RUN_ID": run_id,
        "HIWATCH_SOURCES": sources_file,
        "USER_AGENT": sources.user_agent,
        "LOG_LEVEL": log_level,
    }
    if log_file:
        overrides["LOG_FILE"] = log_file
    if replay_url:
        handler = "crawler.run.replay.ReplayDownloadHandler"
        overrides.update(HIWATCH_REPLAY=replay_url, DOWNLOAD_HANDLERS={"http": handler, "https": handler})
    if not polite:  # only for replays on 127.0.0.1 and benchmarks: never against live sites
        overrides.update(DOWNLOAD_DELAY=0, AUTOTHROTTLE_ENABLED=False, CONCURRENT_REQUESTS_PER_DOMAIN=8,
                         DOWNLOAD_DELAY_JITTER=0)
    overrides.update(extra or {})
    settings.setdict(overrides, priority="cmdline")
    if replay_url:  # Chromium (js: true sources) reaches the replay server as its HTTP proxy
        launch = {**settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS"), "proxy": {"server": replay_url}}
        settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", launch, priority="cmdline")
    return settings


def project_settings(extra: dict | None = None) -> Settings:
    """crawler/settings.py with the run's own (`--set`) over it."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(extra or {}, priority="cmdline")
    return settings


def extract_pool(extra: dict | None = None) -> tuple[int | None, int]:
    """HIWATCH_EXTRACT_WORKERS (None: one worker per usable CPU) and HIWATCH_WORKER_NICE as the crawl's settings
    will have them."""
    settings = project_settings(extra)
    return settings.getint("HIWATCH_EXTRACT_WORKERS") or None, settings.getint("HIWATCH_WORKER_NICE")


YOUNG_THRESHOLD = 10_000  # the crawl's collections of young objects: after this many more allocated than freed


@contextmanager
def crawl_gc():
    """The garbage collector tuned for the crawl, as it was afterwards. The objects alive now (modules, settings,
    the spiders) are frozen out of its passes, which walked them again and again; and young objects are collected
    after YOUNG_THRESHOLD net allocations, not 700, which Scrapy's in-flight requests and Deferreds crossed many
    times a page (docs/benchmarks.md, "Issue 20, helper i20crawl"). Garbage now is collected before the freeze."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def run_crawl(database: Database, sources: SourcesFile, window: Window, site_names: list[str] | None = None,
              replay_dirs: list[str | Path] = (), replay_log: str | None = None, polite: bool | None = None,
              refresh: bool = False, sources_file: str | None = None, log_level: str = "WARNING",
              log_file: str | None = None, extra_settings: dict | None = None, check: bool = False) -> CrawlResult:
    """Crawl in this process (Scrapy's reactor runs once per process: call from a fresh process each time)."""
    selected = [sources.get(name) for name in site_names] if site_names else sources.enabled()
    if polite is None:
        polite = not replay_dirs  # a replay talks to 127.0.0.1 only
    with DatabaseLock(database, "crawl"):  # raises LockHeld at once if another crawl of this database runs
        stale = close_stale_runs(database)
        if stale:
            log.warning("%d earlier run(s) had been left running (killed?); marked interrupted", stale)
        if check:  # the canary stores nothing: one article per source is extracted and reported
            extra_settings = {**(extra_settings or {}), "HIWATCH_CHECK": True, "ITEM_PIPELINES": {
                "pipelines.extract.ExtractPipeline": 100, "pipelines.check.CheckPipeline": 200}}
        return _crawl_locked(database, sources, selected, window, site_names, replay_dirs, replay_log, polite,
                             refresh, sources_file, log_level, log_file, extra_settings, "check" if check else "crawl")


def _crawl_locked(database, sources, selected, window, site_names, replay_dirs, replay_log, polite, refresh,
                  sources_file, log_level, log_file, extra_settings, kind) -> CrawlResult:
    from spiders.source import spider_for

    from crawler.analyse.pool import warm_up

    run_id = start_run(database, window, [s.name for s in selected],
                       {"sites": site_names, "replay": [str(d) for d in replay_dirs], "refresh": refresh}, kind)
    server = None
    interrupted = False
    try:
        # the workers start first: each imports the extractor (about a second) while the replay server reads its
        # manifests (a second per 10,000 pages) and Scrapy starts, so that the first article finds them ready
        warm_up(*extract_pool(extra_settings))
        server = ReplayServer(list(replay_dirs), log_path=replay_log).start() if replay_dirs else None
        settings = scrapy_settings(str(database.engine.url.render_as_string(hide_password=False)), run_id, sources,
                                   sources_file, server.url if server else None, polite, log_level, log_file,
                                   extra_settings)
        process = CrawlerProcess(settings)
        attach_file_log()  # after Scrapy configured logging: warnings and errors also go to var/log/hiwatch.log
        browser = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS").get("executable_path")
        if browser and not Path(browser).exists() and any(source.js for source in selected):
            skipped = [source.name for source in selected if source.js]
            log.warning("%s need a browser (js: true) and there is none at %s (apt-get install chromium): "
                        "not crawled this run", ", ".join(skipped), browser)
            selected = [source for source in selected if not source.js]
        for source in selected:
            process.crawl(spider_for(source), window=window, refresh=refresh)
        crawlers = list(process.crawlers)
        with crawl_gc():
            process.start()
    except BaseException as exc:
        finish_run(database, run_id, "failed", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if server:
            server.stop()
        from crawler.analyse.pool import shutdown

        shutdown()
    per_source: dict[str, Counter] = {}
    failures: dict[str, list] = {}
    samples: dict[str, object] = {}
    for crawler in crawlers:
        spider = crawler.spider
        if spider is None:
            continue
        run = run_ledger(crawler)
        per_source[spider.source.name] = Counter(run.counts)
        failures[spider.source.name] = list(run.ledger.failures)
        samples[spider.source.name] = run.sample
        if crawler.stats.get_value("finish_reason") == "shutdown":
            interrupted = True
    silent = [s.name for s in selected if s.expect_articles and per_source.get(s.name, Counter())["links_found"] == 0]
    status = run_status(per_source, interrupted)
    message = f"sources that found no article link: {', '.join(silent)}" if silent else None
    finish_run(database, run_id, status, message)
    return CrawlResult(run_id, status, per_source, failures, silent, samples)
