"""Keep only articles whose publish time falls inside the crawl window."""
from __future__ import annotations

from scrapy.exceptions import DropItem

from crawler.extensions import count, fail
from pipelines import CrawlerPipeline


class WindowPipeline(CrawlerPipeline):
    def process_item(self, item):
        spider = self.crawler.spider
        published_at = item["extracted"].published_at
        if published_at is None:
            fail(self.crawler, item["url"], "error", "no publish date found on the page or in its URL")
            raise DropItem(f"{item['url']}: no publish date")
        if not spider.window.contains(published_at):
            count(self.crawler, "skipped_window")
            raise DropItem(f"{item['url']}: published {published_at:%Y-%m-%d %H:%M} UTC, outside {spider.window}")
        return item
