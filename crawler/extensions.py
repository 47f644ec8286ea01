"""A one-line progress display on a terminal while crawling (silent under cron: no TTY)."""
from __future__ import annotations

import sys
from collections import Counter

from scrapy import signals
from twisted.internet import task

_LEDGERS: dict[str, object] = {}
_LOOP: task.LoopingCall | None = None


def _show() -> None:
    total = sum((Counter(ledger.counts) for ledger in _LEDGERS.values()), Counter())
    line = (f"\r{len(_LEDGERS)} sites · {total['discovery_pages']} list pages · {total['links_found']} links · "
            f"{total['fetched']} fetched · {total['stored']} stored · {total['errors']} errors ")
    sys.stderr.write(line)
    sys.stderr.flush()


class Progress:
    """Scrapy extension: all spiders of the process share one progress line, refreshed every second."""

    def __init__(self, crawler):
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy.exceptions import NotConfigured

        if not (crawler.settings.getbool("HIWATCH_PROGRESS") and sys.stderr.isatty()):
            raise NotConfigured
        return cls(crawler)

    def opened(self, spider) -> None:
        global _LOOP
        _LEDGERS[spider.name] = spider.ledger
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
