"""`hiwatch sources check`: keep the one extracted sample article on the spider instead of storing it."""
from __future__ import annotations

from pipelines import CrawlerPipeline


class CheckPipeline(CrawlerPipeline):
    def process_item(self, item):
        self.crawler.spider.check_sample = item["extracted"]
        return item
