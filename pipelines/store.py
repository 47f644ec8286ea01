"""Store each article in its own transaction (upsert on the canonical URL, raw pages gzipped), scored for
relevance and placed in its near-duplicate cluster in that same transaction."""
from __future__ import annotations

from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from crawler.store import enrich, store
from pipelines import CrawlerPipeline


class StorePipeline(CrawlerPipeline):
    def __init__(self, crawler):
        super().__init__(crawler)
        self.after_save = enrich()  # loads config/lexicon.yaml once; a broken lexicon stops the crawl at start

    def process_item(self, item):
        spider = self.crawler.spider
        try:
            created = store(spider.database, item["url"], item["extracted"], spider.source.name, item["pages"],
                            url_date=item["url_date"], run_id=spider.run_id, after_save=self.after_save)
        except SQLAlchemyError as exc:
            spider.ledger.fail(item["url"], "error", f"database error, not stored (next run retries): {exc}"[:500])
            raise DropItem(f"{item['url']}: database error") from None
        if created:
            spider.ledger.incr("stored")
        return item
