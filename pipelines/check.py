"""`hiwatch sources check`: keep the one extracted sample article on the spider instead of storing it."""
from __future__ import annotations


class CheckPipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        self.crawler.spider.check_sample = item["extracted"]
        return item
