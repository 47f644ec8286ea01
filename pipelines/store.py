"""Store each article in its own transaction (upsert on the canonical URL, raw pages gzipped), scored for
relevance and placed in its near-duplicate cluster in that same transaction."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from crawler.store import enrich, store
from pipelines import CrawlerPipeline


# One writer thread for the whole process: the reactor never waits for a commit, and SQLite sees one writer.
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hiwatch-store")


class StorePipeline(CrawlerPipeline):
    def __init__(self, crawler):
        super().__init__(crawler)
        self.after_save = enrich()  # loads config/lexicon.yaml once; a broken lexicon stops the crawl at start

    async def process_item(self, item):
        spider = self.crawler.spider
        write = partial(store, spider.database, item["url"], item["extracted"], spider.source.name, item["pages"],
                        url_date=item["url_date"], run_id=spider.run_id, after_save=self.after_save,
                        prepared=item.get("prepared"))
        try:
            created = await asyncio.get_running_loop().run_in_executor(_WRITER, write)
        except SQLAlchemyError as exc:
            spider.ledger.fail(item["url"], "error", f"database error, not stored (next run retries): {exc}"[:500])
            raise DropItem(f"{item['url']}: database error") from None
        if created:
            spider.ledger.incr("stored")
        return item
