"""Store articles through one writer thread that commits them in batches (group commit): a batch is whatever
arrives within LINGER seconds of its first article (at most MAX_BATCH), so the reactor never waits for a commit,
SQLite sees one writer, and a commit's cost is shared by the batch. Relevance and near-duplicate clusters are
written in the same transaction as the article."""
from __future__ import annotations

import asyncio
import queue
import threading
import time
from concurrent.futures import Future

from scrapy.exceptions import DropItem
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from crawler.db import Database
from crawler.db.store import StoreJob, enrich, store, store_many
from crawler.extensions import count, fail, run_ledger
from pipelines import CrawlerPipeline

MAX_BATCH = 64  # articles per transaction at most
# seconds a batch waits for more articles after its first: the extraction pool hands articles over one at a time,
# so without it most batches held one article, at 2.9 ms of the crawl process's CPU each against 0.5 ms in a
# batch of 16 (docs/benchmarks.md, "Issue 20, helper i20crawl"); short, since a waiting article holds its
# response in Scrapy's scraper slot (SCRAPER_SLOT_MAX_ACTIVE_SIZE)
LINGER = 0.1


class BatchWriter:
    """One daemon thread per process, shared by every crawler of it; jobs are batched per database."""

    def __init__(self, max_batch: int = MAX_BATCH, linger: float = LINGER):
        self.max_batch = max_batch
        self.linger = linger
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def submit(self, database: Database, job: StoreJob, after_save) -> Future:
        """Queue one article; the future gives True (a new row), False (an update) or the database error."""
        future: Future = Future()
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="hiwatch-store", daemon=True)
                self.thread.start()
        self.jobs.put((database, job, after_save, future))
        return future

    def _run(self) -> None:
        while True:
            batch = [self.jobs.get()]
            deadline = time.monotonic() + self.linger
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.jobs.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            for database in {id(entry[0]): entry[0] for entry in batch}.values():
                self._write(database, [entry for entry in batch if entry[0] is database])

    @staticmethod
    def _write(database: Database, entries: list) -> None:
        try:
            results = store_many(database, [job for _, job, _, _ in entries], after_save=entries[0][2])
        except (IntegrityError, DataError):
            # one article the database refuses (a concurrent insert, a value too long): each on its own, so the
            # others are stored and only that one is reported
            results = []
            for _, job, after_save, _ in entries:
                try:
                    results.append(store(database, job.url, job.extracted, job.site, job.pages,
                                         url_date=job.url_date, run_id=job.run_id, origin=job.origin,
                                         after_save=after_save, prepared=job.prepared))
                except SQLAlchemyError as exc:
                    results.append(exc)
        except SQLAlchemyError as exc:  # the database is away: the whole batch is reported, nothing half-written
            results = [exc] * len(entries)
        except Exception as exc:  # noqa: BLE001 - a bug must reach the pipeline, not kill the writer thread
            results = [exc] * len(entries)
        for (_, _, _, future), result in zip(entries, results):
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


_WRITER = BatchWriter()


class StorePipeline(CrawlerPipeline):
    def __init__(self, crawler):
        super().__init__(crawler)
        self.after_save = enrich()  # loads config/lexicon.yaml once; a broken lexicon stops the crawl at start

    async def process_item(self, item):
        run = run_ledger(self.crawler)
        job = StoreJob(item["url"], item["extracted"], self.crawler.spider.source.name, item["pages"],
                       url_date=item["url_date"], run_id=run.run_id, prepared=item.get("prepared"))
        try:
            created = await asyncio.wrap_future(_WRITER.submit(run.database, job, self.after_save))
        except SQLAlchemyError as exc:
            fail(self.crawler, item["url"], "error", f"database error, not stored (next run retries): {exc}"[:500])
            raise DropItem(f"{item['url']}: database error") from None
        if created:
            count(self.crawler, "stored")
        item["stored_new"] = bool(created)  # the run ledger counts it for the discovery page it came from
        return item
