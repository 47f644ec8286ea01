"""The throughput baseline: a minimal Scrapy spider over the same replay, calling trafilatura.extract in process_item.

Same Scrapy settings as hiwatch (crawler.settings, politeness off as with `--no-polite`, the same replay server
class and download handler) minus hiwatch's pipelines, database and extraction pool. It follows the list pages'
下一页 links and every article link whose URL date is inside the week, and writes one JSON line per article.

    python bench/baseline_spider.py --replay DIR --sources FILE --out FILE [--replay-log FILE] [--week FRIDAY]
                                    [--extract trafilatura|none]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date, timedelta
from pathlib import Path

_BENCH = Path(__file__).resolve().parent  # bench/ must not shadow Twisted's `incremental` with bench/incremental.py
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]

import scrapy  # noqa: E402
import trafilatura  # noqa: E402
import yaml  # noqa: E402
from scrapy.crawler import CrawlerProcess  # noqa: E402
from scrapy.settings import Settings  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from crawler.run.replay import ReplayServer  # noqa: E402


class TrafilaturaPipeline:
    """trafilatura.extract with its defaults, synchronously inside process_item (the usual minimal spider)."""

    def open_spider(self, spider=None) -> None:
        self.out = open(self.path, "w", encoding="utf-8")

    @classmethod
    def from_crawler(cls, crawler):
        pipeline = cls()
        pipeline.path = crawler.settings.get("BASELINE_OUT")
        pipeline.extract = crawler.settings.getbool("BASELINE_EXTRACT", True)
        return pipeline

    def process_item(self, item, spider=None):
        html = item.pop("html")
        text = trafilatura.extract(html, url=item["url"]) if self.extract else html[:0]
        item["text"] = text or ""
        self.out.write(json.dumps(item, ensure_ascii=False) + "\n")
        return item

    def close_spider(self, spider=None) -> None:
        self.out.close()


class BaselineSpider(scrapy.Spider):
    name = "baseline"

    def __init__(self, start: list[str], patterns: list[str], first: date, last: date, **kwargs):
        super().__init__(**kwargs)
        self.start_list = start
        self.patterns = [re.compile(p) for p in patterns]
        self.first, self.last = first, last
        self.seen: set[str] = set()

    async def start(self):
        for url in self.start_list:
            yield scrapy.Request(url, callback=self.parse)

    def _in_window(self, url: str) -> bool:
        for pattern in self.patterns:
            match = pattern.match(url)
            if match:
                day = date(int(match["year"]), int(match["month"]), int(match["day"]))
                return self.first <= day <= self.last
        return False

    def parse(self, response):
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if url not in self.seen and self._in_window(url):
                self.seen.add(url)
                yield scrapy.Request(url, callback=self.parse_article)
        for href in response.xpath('//a[text()="下一页"]/@href').getall():
            yield scrapy.Request(response.urljoin(href), callback=self.parse)

    def parse_article(self, response):
        yield {"url": response.url, "html": response.text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replay", required=True)
    parser.add_argument("--sources", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--replay-log")
    parser.add_argument("--week", default="2025-09-05")
    parser.add_argument("--extract", choices=["trafilatura", "none"], default="trafilatura",
                        help="none: fetch only (the Scrapy + replay ceiling any extraction speed-up is bounded by)")
    args = parser.parse_args()
    record = yaml.safe_load(Path(args.sources).read_text(encoding="utf-8"))["sources"][0]
    start = [u for entry in record["discovery"] if entry["type"] == "list" for u in entry["urls"]]
    friday = date.fromisoformat(args.week)
    server = ReplayServer([args.replay], log_path=args.replay_log).start()
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    handler = "crawler.run.replay.ReplayDownloadHandler"
    settings.setdict({
        "SPIDER_MODULES": [], "HIWATCH_REPLAY": server.url, "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
        "DOWNLOAD_DELAY_JITTER": 0, "LOG_LEVEL": "WARNING", "BASELINE_OUT": args.out,
        "BASELINE_EXTRACT": args.extract == "trafilatura",
        "ITEM_PIPELINES": {TrafilaturaPipeline: 100},
    }, priority="cmdline")
    process = CrawlerProcess(settings)
    process.crawl(BaselineSpider, start=start, patterns=record["article_patterns"],
                  first=friday - timedelta(days=6), last=friday)
    try:
        process.start()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
