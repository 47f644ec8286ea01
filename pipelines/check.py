"""`hiwatch sources check`: keep the one extracted sample article on the spider instead of storing it."""
from __future__ import annotations

from crawler.extensions import run_ledger
from pipelines import CrawlerPipeline


class CheckPipeline(CrawlerPipeline):
    def process_item(self, item):
        run_ledger(self.crawler).sample = item["extracted"]
        return item
