"""Scrapy item pipelines: thin adapters that call the core (extract → window → store)."""


class CrawlerPipeline:
    """Base of hiwatch's pipelines: keeps the crawler (current Scrapy passes no `spider` argument)."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)
