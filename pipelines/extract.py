"""Extract each fetched article in the process pool; blocked or empty pages stop here, recorded as such."""
from __future__ import annotations

from scrapy.exceptions import DropItem

from crawler.analyse.pool import run_in_pool
from crawler.analyse.prepare import extract_and_prepare
from crawler.extract.sniff import refusal
from crawler.extensions import article_extracted, fail
from pipelines import CrawlerPipeline


class ExtractPipeline(CrawlerPipeline):
    def __init__(self, crawler):
        super().__init__(crawler)
        self.workers = crawler.settings.getint("HIWATCH_EXTRACT_WORKERS") or None

    async def process_item(self, item):
        spider = self.crawler.spider
        first, *more = item["pages"]
        content_type = (first.headers or {}).get("Content-Type")
        refused = refusal(first.body)  # extract() refuses it too; checked here so the bytes never reach the pool
        if refused:
            fail(self.crawler, item["url"], "error", refused, first.status)
            raise DropItem(f"{item['url']}: {refused}")
        extracted, prepared = await run_in_pool(extract_and_prepare, first.body, item["url"], spider.source.rules,
                                                content_type, more_pages=[(page.body, page.url) for page in more],
                                                workers=self.workers)
        extracted.source_name = spider.source.label_for(item["url"])
        if item.get("epaper") and not extracted.original_source:  # a paper's own article: the paper is its source
            extracted.original_source = extracted.source_name
        if extracted.blocked:
            fail(self.crawler, item["url"], "blocked", extracted.blocked, first.status)
            raise DropItem(f"{item['url']}: {extracted.blocked}")
        self.crawler.signals.send_catch_log(article_extracted, url=item["url"])
        item["extracted"], item["prepared"] = extracted, prepared
        return item
