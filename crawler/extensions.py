"""Scrapy extensions: the run ledger (a run's counts and failures, written to the database) and the progress line.

Spiders, middlewares and pipelines never write the ledger themselves: they count with Scrapy's stats
(`hiwatch/<counter>`) and report a failed URL with the `url_failed` signal; `RunLedger` turns both into the
run's rows."""
from __future__ import annotations

import logging
import sys
import time
from collections import Counter

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import task
from twisted.python.failure import Failure

from crawler.db import Database, connect
from crawler.db.runs import COUNTERS, DiscoveryLedger, SourceLedger, finish_run, start_run

log = logging.getLogger(__name__)

# sent with url=, kind= (error|blocked|empty|robots), reason=, http_status=, and request= when a request failed
url_failed = object()
# sent with url= when an article page was extracted: the host answers with content (blocks are counted in a row)
article_extracted = object()
# sent with url=, found=, matching=, in_window= when the spider read a discovery page (http_status= and error= when
# it could not be fetched): the discovery health ledger, one row per run and page (crawler.db.runs.DiscoveryLedger)
discovery_read = object()

STATS_PREFIX = "hiwatch/"
FAILURE_COUNTERS = ("blocked", "errors")  # counted by the ledger from the failures themselves


def count(crawler, counter: str, n: int = 1) -> None:
    """Add `n` to one of the run's counters (crawler.db.runs.COUNTERS) for this crawler's source."""
    if counter not in COUNTERS or counter in FAILURE_COUNTERS:
        raise KeyError(counter)
    crawler.stats.inc_value(STATS_PREFIX + counter, n)


def fail(crawler, url: str, kind: str, reason: str, http_status: int | None = None, request=None) -> None:
    """Report a URL that gave no article (RunLedger records it; the backoff and distributed parts listen too)."""
    crawler.signals.send_catch_log(url_failed, url=url, kind=kind, reason=reason, http_status=http_status,
                                   request=request)


def discovered(crawler, url: str, found: int = 0, matching: int = 0, in_window: int = 0,
               http_status: int | None = None, error: str | None = None) -> None:
    """Report what one discovery page gave: its links, those matching an article pattern, those in the window."""
    crawler.signals.send_catch_log(discovery_read, url=url, found=found, matching=matching, in_window=in_window,
                                   http_status=http_status, error=error)


BLOCKED_STATUSES = {401, 403, 405, 451}


def failure_reason(failure, settings) -> tuple[str, str, int | None]:
    """(kind, reason, HTTP status) of a request's failure (an errback's), in words an operator can act on."""
    request = failure.request
    if failure.check(HttpError):
        status = failure.value.response.status
        from crawler.browser import challenge_reason

        challenge = challenge_reason(status, failure.value.response.body)
        if challenge:
            return "blocked", challenge, status
        wait = request.meta.get("hiwatch_retry_after")
        if status in BLOCKED_STATUSES:
            return "blocked", f"HTTP {status}: blocked by the site", status
        if wait:
            return "error", f"HTTP {status}: the server asked to retry after {wait:.0f} s; left for the next run", status
        return "error", f"HTTP {status}", status
    if failure.check(IgnoreRequest):
        reason = str(failure.value) or "ignored"
        if "robots" in reason.lower():
            return "robots", "disallowed by robots.txt: not requested", None
        if reason.startswith("backing off"):
            return "blocked", f"not requested: {reason}", None
        return "error", f"ignored: {reason}", None
    return "error", describe_failure(failure, settings)[:500], None


def describe_failure(failure: Failure, settings) -> str:
    """A reason an operator can act on, for network-level failures whose message is often empty."""
    name, message = failure.type.__name__, failure.getErrorMessage().strip()
    explained = {
        "DownloadCancelledError": "download cancelled: the response exceeds DOWNLOAD_MAXSIZE "
                                  f"({settings.getint('DOWNLOAD_MAXSIZE') // (1024 * 1024)} MB); not an article page",
        "TimeoutError": f"timed out after {settings.getint('DOWNLOAD_TIMEOUT')} s",
        "ResponseNeverReceived": "the connection closed before a response came (reset or refused mid-request)",
        "ConnectionRefusedError": "connection refused",
        "DNSLookupError": "DNS lookup failed", "CannotResolveHostError": "DNS lookup failed",
        "ResponseFailed": "the response broke off (truncated body or reset connection)",
    }.get(name)
    if explained:
        return f"{explained} [{name}{': ' + message if message else ''}]"
    return f"{name}: {message}" if message else name



def close_save_waits(budget: float) -> list[float]:
    """The waits between tries of the run ledger's last save: doubling from 1 s, capped at 8 s, within `budget`."""
    waits, wait = [], 1.0
    while budget > 0:
        waits.append(min(wait, budget))
        budget -= waits[-1]
        wait = min(wait * 2, 8.0)
    return waits


def run_ledger(crawler) -> RunLedger:
    """The crawler's RunLedger extension."""
    for extension in crawler.extensions.middlewares:
        if isinstance(extension, RunLedger):
            return extension
    raise LookupError("the RunLedger extension is not enabled (crawler.settings EXTENSIONS)")


class RunLedger:
    """A run's bookkeeping for one spider: the database, the run row (its own for a plain `scrapy crawl`), the
    counts and failures, flushed every 30 s (5 s for a distributed worker) so a killed process still shows most
    of what it did, and finished when the spider closes."""

    def __init__(self, crawler, database: Database, run_id: int | None):
        self.crawler = crawler
        self.database = database
        self.run_id = run_id
        self.own_run = False
        self.ledger: SourceLedger | None = None
        self.discovery: DiscoveryLedger | None = None  # per discovery page: links, matching, in window, stored
        self.sample = None  # `hiwatch sources check`: the one extracted article (pipelines.check)
        self._flusher: task.LoopingCall | None = None
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.failed, signal=url_failed)
        crawler.signals.connect(self.page_read, signal=discovery_read)
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings  # no HIWATCH_DATABASE_URL (plain `scrapy crawl`): the default database
        return cls(crawler, connect(settings.get("HIWATCH_DATABASE_URL")), settings.getint("HIWATCH_RUN_ID") or None)

    @property
    def counts(self) -> Counter:
        """The counters so far: Scrapy's `hiwatch/` stats and the failures' own counts."""
        stats = self.crawler.stats.get_stats()
        counts = Counter({c: stats.get(STATS_PREFIX + c, 0) for c in COUNTERS if c not in FAILURE_COUNTERS})
        if self.ledger is not None:
            counts.update({c: self.ledger.counts[c] for c in FAILURE_COUNTERS})
        return +counts

    def opened(self, spider) -> None:
        self.ledger = SourceLedger(spider.source.name)
        self.discovery = DiscoveryLedger(spider.source.name)
        if self.run_id is None:  # plain `scrapy crawl <site>`: record a run of our own
            self.run_id = start_run(self.database, spider.window, [spider.source.name], {"via": "scrapy crawl"})
            self.own_run = True
        every = 5.0 if self.crawler.settings.getbool("HIWATCH_DISTRIBUTED") else 30.0
        self._flusher = task.LoopingCall(self.flush)
        self._flusher.start(every, now=False)

    def failed(self, url: str, kind: str, reason: str, http_status: int | None = None, **_) -> None:
        if self.ledger is not None:
            self.ledger.fail(url, kind, reason, http_status)
            log.warning("%s: failed %s: %s", self.ledger.source, url, reason)

    def page_read(self, url: str, found: int = 0, matching: int = 0, in_window: int = 0,
                  http_status: int | None = None, error: str | None = None, **_) -> None:
        if self.discovery is not None:
            self.discovery.read(url, found, matching, in_window, http_status, error)

    def item_scraped(self, item, **_) -> None:
        """An article through every pipeline: a new row counts for the discovery page it was found on."""
        if self.discovery is not None and item.get("stored_new") and item.get("found_on"):
            self.discovery.stored(item["found_on"])

    def _sync(self) -> None:
        for counter in COUNTERS:
            if counter not in FAILURE_COUNTERS:
                self.ledger.counts[counter] = self.crawler.stats.get_value(STATS_PREFIX + counter, 0)

    def flush(self) -> None:
        try:
            self._sync()
            self.ledger.save(self.database, self.run_id)
            self.discovery.save(self.database, self.run_id)
        except Exception as exc:  # the database may be away for a moment: the next flush or the close retries
            log.warning("%s: could not save the run counts yet: %s", self.ledger.source, exc)

    def closed(self, spider, reason: str) -> None:
        if self._flusher is not None and self._flusher.running:
            self._flusher.stop()
        self._sync()
        self._save_at_close()
        self.discovery.save(self.database, self.run_id)
        if self.own_run:
            status = "interrupted" if reason == "shutdown" else ("ok" if not self.ledger.failures else "partial")
            finish_run(self.database, self.run_id, status, f"scrapy close reason: {reason}")
        log.info("%s: %s", self.ledger.source, dict(self.counts))

    def _save_at_close(self, waits: list[float] | None = None) -> None:
        """The last save: the database may be away for a few seconds (the failures it caused are in this save);
        try again, waiting 1, 2, 4, 8, 8 … s, for up to HIWATCH_CLOSE_SAVE_RETRY seconds (23) before giving up."""
        from sqlalchemy.exc import SQLAlchemyError

        if waits is None:
            waits = close_save_waits(self.crawler.settings.getfloat("HIWATCH_CLOSE_SAVE_RETRY", 23))
        for wait in (*waits, None):
            try:
                self.ledger.save(self.database, self.run_id)
                return
            except SQLAlchemyError as exc:
                if wait is None:
                    raise
                log.warning("%s: could not save the run counts at close (%s); trying again in %g s",
                            self.ledger.source, type(exc).__name__, wait)
                time.sleep(wait)


# ---------------------------------------------------------------- the progress line

_LEDGERS: dict[str, RunLedger] = {}
_LOOP: task.LoopingCall | None = None


def _show() -> None:
    total = sum((ledger.counts for ledger in _LEDGERS.values()), Counter())
    line = (f"\r{len(_LEDGERS)} sites · {total['discovery_pages']} list pages · {total['links_found']} links · "
            f"{total['fetched']} fetched · {total['stored']} stored · {total['errors']} errors ")
    sys.stderr.write(line)
    sys.stderr.flush()


class Progress:
    """A one-line progress display on a terminal (silent under cron: no TTY); all spiders of the process share
    it, refreshed every second."""

    def __init__(self, crawler):
        self.crawler = crawler
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        if not (crawler.settings.getbool("HIWATCH_PROGRESS") and sys.stderr.isatty()):
            raise NotConfigured
        return cls(crawler)

    def opened(self, spider) -> None:
        global _LOOP
        _LEDGERS[spider.name] = run_ledger(self.crawler)
        if _LOOP is None:
            _LOOP = task.LoopingCall(_show)
            _LOOP.start(1.0, now=False)

    def closed(self, spider) -> None:
        global _LOOP
        _LEDGERS.pop(spider.name, None)
        if not _LEDGERS and _LOOP is not None:
            _LOOP.stop()
            _LOOP = None
            sys.stderr.write("\n")
