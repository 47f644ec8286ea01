"""Scale-out: one crawl shared by workers on several machines through Redis Streams, one database.

- Each site has two streams, read through the consumer group `workers`: discovery (seeds and list pages) and
  articles. A worker reads the discovery stream first, so list pages never wait behind queued articles.
- The coordinator (`hiwatch crawl --distributed`) records the run, creates each site's streams and group, adds
  one seed entry per discovery entry, publishes the run and waits until every entry has been delivered and
  acknowledged.
- A worker (`hiwatch worker`) runs every site's spider with `DistributedScheduler`: requests are stream entries
  read with XREADGROUP; an entry stays in the group's pending list until the worker XACKs it, and one pending
  longer than `HIWATCH_CLAIM_IDLE` seconds (its worker died) is taken over by another worker with XAUTOCLAIM.
  The broker's delivery guarantees replace hand-made leases, heartbeats and rescue scripts.
- Acknowledgement: an article when its item is stored or dropped (or its request failed and was recorded); a
  list page once the requests its callback produced are on the stream (`EntryAckMiddleware`); a retry or
  redirect replaces its entry in one MULTI/EXEC (XADD of the new, XACK of the old); a callback that raised is
  retried twice after a pause, then recorded as a failure and acknowledged, so a database blip cannot hang a run.
- The spider knows nothing of Redis: `SeedsMiddleware` drops its own start requests and the scheduler turns a
  seed entry into the discovery requests of that entry (`spider.discovery_requests`).
- De-duplication: Scrapy's RFPDupeFilter fingerprints, kept in a Redis set; an article link is claimed (one
  worker fetches it) in a Redis set, in the same transaction that adds its entry.
- Politeness holds across workers: the delay between two requests to one host is a Redis key (SET NX PX).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import socket
import time
import uuid
import weakref
from collections import Counter, deque
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis
from scrapy import Request, signals
from scrapy.core.scheduler import BaseScheduler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.request import request_from_dict
from sqlalchemy import select
from twisted.internet import task

from crawler.db import Database
from crawler.db.models import RunSource
from crawler.extensions import fail, url_failed
from crawler.window import Window

log = logging.getLogger("hiwatch.distributed")
GROUP = "workers"
KINDS = ("d", "a")  # a site's two streams, in the order they are read: discovery, then articles
CLAIM_IDLE = 30.0  # seconds an entry may stay unacknowledged before another worker takes it (HIWATCH_CLAIM_IDLE)
CALLBACK_RETRIES = 2  # a callback that raised (database away) is tried again this often (HIWATCH_CALLBACK_RETRIES)
CALLBACK_RETRY_DELAY = 2.0  # seconds before the first retry, doubled for the next (HIWATCH_CALLBACK_RETRY_DELAY)
OPEN_TTL = 10  # seconds: a worker's "still writing its counts" mark outlives a killed worker by this much (the
# coordinator waits for it at the end: a killed worker delays the close by at most this; refreshed every third)


@dataclass
class RunInfo:
    """What the coordinator publishes for workers: the run, its window, sites, database and replay."""

    run_id: int
    first: str
    last: str
    sources: list[str]
    database_url: str
    prefix: str
    state: str = "running"  # running|done
    replay: str | None = None
    polite: bool = True
    sources_file: str | None = None
    settings: dict | None = None  # the coordinator's --set overrides, applied by every worker

    @property
    def window(self) -> Window:
        from crawler.window import parse_day

        return Window(parse_day(self.first), parse_day(self.last))


def connect_redis(url: str) -> redis.Redis:
    server = redis.Redis.from_url(url)
    try:
        server.ping()
    except redis.RedisError as exc:
        raise ConnectionError(f"cannot reach Redis at {url}: {exc}") from None
    return server


class Keys:
    """Every Redis key of one distributed run lives under `<namespace>:<run id>:<start>:`."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def discovery(self, spider: str) -> str:
        """The site's seeds and list pages: read before its articles, so discovery never waits behind them."""
        return f"{self.prefix}:{spider}:queue:discovery"

    def articles(self, spider: str) -> str:
        return f"{self.prefix}:{spider}:queue:articles"

    def streams(self, spider: str) -> tuple[str, str]:
        return self.discovery(spider), self.articles(spider)

    def dupefilter(self, spider: str) -> str:
        return f"{self.prefix}:{spider}:dupefilter"

    def article_claims(self, spider: str) -> str:
        return f"{self.prefix}:{spider}:articles"

    def open_worker(self, spider: str, worker: str) -> str:
        return f"{self.prefix}:open:{spider}:{worker}"

    def host_slot(self, host: str) -> str:
        return f"{self.prefix}:polite:{host}"


def run_key(namespace: str) -> str:
    return f"{namespace}:current-run"


def publish_run(server: redis.Redis, namespace: str, info: RunInfo) -> None:
    server.set(run_key(namespace), json.dumps(info.__dict__))


def current_run(server: redis.Redis, namespace: str) -> RunInfo | None:
    raw = server.get(run_key(namespace))
    return RunInfo(**json.loads(raw)) if raw else None


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


# ---- the stream ---------------------------------------------------------------------------------------------
class StreamQueue:
    """One site's requests as entries of a Redis Stream read through the consumer group `workers`."""

    def __init__(self, server: redis.Redis, key: str, consumer: str, claim_idle: float = CLAIM_IDLE):
        self.server = server
        self.key = key
        self.consumer = consumer
        self.claim_idle_ms = int(claim_idle * 1000)
        self._claimed: deque = deque()
        self._last_claim = 0.0

    def add(self, fields: dict, sets: tuple[tuple[str, str], ...] = (),
            replaces: tuple[str, str] | None = None) -> bool:
        """XADD one entry, in one transaction with SADD of each (key, member) of `sets` and the XACK of the entry it
        `replaces` (stream key, entry id). False, and the new entry deleted, when a member was already there (a
        duplicate): the order never loses work — a worker dying between the two steps leaves at worst a duplicate
        entry, never none."""
        pipe = self.server.pipeline(transaction=True)
        for key, member in sets:
            pipe.sadd(key, member)
        pipe.xadd(self.key, fields, nomkstream=True)  # a run ended early stays ended
        if replaces:
            pipe.xack(replaces[0], GROUP, replaces[1])
        results = pipe.execute()
        if all(results[:len(sets)]):
            return True
        if results[len(sets)]:
            self.server.xdel(self.key, results[len(sets)])
        return False

    def read(self) -> tuple[str, dict] | None:
        """The next entry for this consumer: a new one, else one a dead consumer left pending (XAUTOCLAIM)."""
        if not self._claimed:
            try:
                found = self.server.xreadgroup(GROUP, self.consumer, {self.key: ">"}, count=1)
            except redis.ResponseError as exc:  # the coordinator ended the run and removed the stream
                if "NOGROUP" in str(exc):
                    return None
                raise
            if found and found[0][1]:
                entry_id, fields = found[0][1][0]
                return _text(entry_id), fields
            self._autoclaim()
        if self._claimed:
            entry_id, fields = self._claimed.popleft()
            return _text(entry_id), fields
        return None

    def _autoclaim(self, every: float = 1.0) -> None:
        now = time.monotonic()
        if now - self._last_claim < every:
            return
        self._last_claim = now
        try:
            reply = self.server.xautoclaim(self.key, GROUP, self.consumer, self.claim_idle_ms, "0-0", count=16)
        except redis.ResponseError as exc:
            if "NOGROUP" in str(exc):
                return
            raise
        claimed = reply[1]
        if claimed:
            log.warning("%s: took over %d entries left unacknowledged for %.0f s", self.key, len(claimed),
                        self.claim_idle_ms / 1000)
        self._claimed.extend(claimed)

    def ack(self, entry_id: str | None) -> None:
        if entry_id:
            self.server.xack(self.key, GROUP, entry_id)

    def touch(self, entry_ids) -> None:
        """Reset the idle time of entries this worker is still working on (a slow download is not a dead worker)."""
        if entry_ids:
            self.server.xclaim(self.key, GROUP, self.consumer, 0, list(entry_ids), justid=True)


def create_stream(server: redis.Redis, key: str) -> None:
    try:
        server.xgroup_create(key, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def streams_drained(server: redis.Redis, stream_keys) -> bool:
    """Every entry of these streams delivered and acknowledged (deleted duplicates do not count). The groups' state
    and the last entries are read in one MULTI/EXEC: read apart, an entry added to one stream (an article link) just
    before its parent was acknowledged in another (the list page) would be missed."""
    stream_keys = list(stream_keys)
    pipe = server.pipeline(transaction=True)
    for key in stream_keys:
        pipe.exists(key)
        pipe.xrevrange(key, count=1)
        pipe.xpending(key, GROUP)
        pipe.xinfo_groups(key)
    results = pipe.execute(raise_on_error=False)
    for index in range(len(stream_keys)):
        exists, last, pending, groups = results[4 * index:4 * index + 4]
        if not exists or isinstance(pending, Exception) or isinstance(groups, Exception):
            continue  # no such stream or group: the run ended, nothing to wait for there
        group = next((g for g in groups if _text(g["name"]) == GROUP), None)
        if group is None:
            continue
        if pending["pending"]:
            return False
        if last and _id_tuple(_text(last[0][0])) > _id_tuple(_text(group["last-delivered-id"])):
            return False
    return True


def stream_drained(server: redis.Redis, key: str) -> bool:
    return streams_drained(server, [key])


def _id_tuple(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class DistributedScheduler(BaseScheduler):
    """Scrapy's scheduler interface over the site's Redis Stream: delivery, acknowledgement and redelivery are the
    consumer group's; duplicate requests are filtered with Scrapy's RFP fingerprints kept in Redis."""

    def __init__(self, crawler, server: redis.Redis, keys: Keys, worker: str):
        self.crawler = crawler
        self.server = server
        self.keys = keys
        self.worker = worker
        self.stats = crawler.stats
        settings = crawler.settings
        self.claim_idle = settings.getfloat("HIWATCH_CLAIM_IDLE", CLAIM_IDLE)
        self.retries = settings.getint("HIWATCH_CALLBACK_RETRIES", CALLBACK_RETRIES)
        self.retry_delay = settings.getfloat("HIWATCH_CALLBACK_RETRY_DELAY", CALLBACK_RETRY_DELAY)
        self.fingerprints = RFPDupeFilter.from_crawler(crawler)
        self.spider = None
        self.queues: dict[str, StreamQueue] = {}  # "d": the site's discovery stream (read first), "a": articles
        self.local: deque[Request] = deque()  # read by the idle poller, handed to the engine
        self.working: dict[str, int] = {}  # entry id -> requests of this worker on it (for touch)
        self._loops: list[task.LoopingCall] = []
        self._closing = False
        self._last_run_check = 0.0

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        url = settings.get("HIWATCH_REDIS_URL")
        prefix = settings.get("HIWATCH_REDIS_PREFIX")
        if not url or not prefix:
            raise NotConfigured("the distributed scheduler needs HIWATCH_REDIS_URL and HIWATCH_REDIS_PREFIX")
        worker = settings.get("HIWATCH_WORKER_ID") or f"{socket.gethostname()}-{os.getpid()}"
        return cls(crawler, connect_redis(url), Keys(prefix), worker)

    # ---- Scrapy's scheduler interface
    def open(self, spider):
        self.spider = spider
        for kind, key in zip(KINDS, self.keys.streams(spider.name)):
            self.queues[kind] = StreamQueue(self.server, key, self.worker, self.claim_idle)
            create_stream(self.server, key)
        spider.entry_ack = self.ack
        spider.entry_queued = weakref.WeakSet()  # every request handed to enqueue_request (EntryAckMiddleware)
        self._mark_open()
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            self.crawler.signals.connect(self._item_done, signal=signal)
        self.crawler.signals.connect(self._request_failed, signal=url_failed)
        self.crawler.signals.connect(self._callback_failed, signal=signals.spider_error)
        self.crawler.signals.connect(self._idle, signal=signals.spider_idle)
        self.crawler.signals.connect(self._closed, signal=signals.spider_closed)  # after RunLedger's: counts saved
        for call, every in ((self._touch, max(self.claim_idle / 3, 0.5)), (self._mark_open, OPEN_TTL / 3),
                            (self._poll, 0.1)):
            loop = task.LoopingCall(call)
            loop.start(every, now=False)
            self._loops.append(loop)

    def close(self, reason):
        for loop in self._loops:
            if loop.running:
                loop.stop()

    def has_pending_requests(self) -> bool:
        return bool(self.local)

    def enqueue_request(self, request: Request) -> bool:
        queued = getattr(self.spider, "entry_queued", None)
        try:
            return self._enqueue(request)
        finally:
            if queued is not None:
                queued.add(request)

    def next_request(self) -> Request | None:
        if self.local:
            return self.local.popleft()
        return self._read()

    # ---- adding and reading entries
    def _enqueue(self, request: Request) -> bool:
        if request.meta.pop("hiwatch_local", False):  # read from the stream by the idle poller: already ours
            self.local.append(request)
            return True
        replaces = request.meta.pop("hiwatch_entry", None)  # a retry or redirect: it takes its entry's place
        queue = self.queues["a" if request.meta.get("hiwatch_kind") == "article" else "d"]
        sets = []
        if not request.dont_filter:
            sets.append((self.keys.dupefilter(self.spider.name), self.fingerprints.request_fingerprint(request)))
        # an article link: one worker fetches it, whoever found it. The claim is marked in the meta, so a retry,
        # a redirect or the next page of the article (which copy the meta) is queued without claiming again
        claim = self._claim_of(request)
        if claim:
            request.meta["hiwatch_claimed"] = True
            sets.append((self.keys.article_claims(self.spider.name), claim))
        data = pickle.dumps(request.to_dict(spider=self.spider), protocol=pickle.HIGHEST_PROTOCOL)
        if replaces:
            self._done(replaces)
        if not queue.add({"r": data}, tuple(sets), replaces=self._entry(replaces) if replaces else None):
            self.stats.inc_value("scheduler/duplicate/redis")  # seen (dupefilter) or claimed by another worker
            if not request.dont_filter:
                self.fingerprints.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    @staticmethod
    def _claim_of(request: Request) -> str | None:
        """The article URL to claim for a first request of an article link, else None."""
        meta = request.meta
        if meta.get("hiwatch_kind") != "article" or meta.get("hiwatch_claimed") or meta.get("pages"):
            return None
        return meta.get("article_url")

    def _entry(self, token: str) -> tuple[str, str]:
        """The stream key and entry id of a token `d/<id>` or `a/<id>` (as kept in a request's meta)."""
        kind, _, entry_id = token.partition("/")
        return self.queues[kind].key, entry_id

    def _read(self) -> Request | None:
        """The next request: the discovery stream first (seeds, list pages), then the articles; a list page queued
        behind hundreds of articles would starve the workers of links (FIFO made two workers no faster than one)."""
        for kind in KINDS:
            queue = self.queues[kind]
            while (entry := queue.read()) is not None:
                entry_id, fields = entry
                if not fields:  # a duplicate deleted after it was delivered
                    queue.ack(entry_id)
                    continue
                if b"seed" in fields:
                    self._expand_seed(entry_id, int(fields[b"seed"]))
                    continue
                request = request_from_dict(pickle.loads(fields[b"r"]), spider=self.spider)
                token = f"{kind}/{entry_id}"
                request.meta["hiwatch_entry"] = token
                self.working[token] = self.working.get(token, 0) + 1
                self.stats.inc_value("scheduler/dequeued/redis")
                return request
        return None

    def _expand_seed(self, entry_id: str, index: int) -> None:
        """A seed entry becomes the discovery requests of that entry of the site's record, added in one
        transaction with the seed's acknowledgement."""
        spider, key = self.spider, self.queues["d"].key
        pipe = self.server.pipeline(transaction=True)
        for request in spider.discovery_requests(spider.source.discovery[index]):
            pipe.xadd(key, {"r": pickle.dumps(request.to_dict(spider=spider), protocol=pickle.HIGHEST_PROTOCOL)},
                      nomkstream=True)
        pipe.xack(key, GROUP, entry_id)
        pipe.execute()

    # ---- acknowledgements
    def _done(self, entry_id: str) -> None:
        left = self.working.get(entry_id, 0) - 1
        if left > 0:
            self.working[entry_id] = left
        else:
            self.working.pop(entry_id, None)

    def ack(self, token: str | None) -> None:
        if token:
            self._done(token)
            key, entry_id = self._entry(token)
            self.server.xack(key, GROUP, entry_id)

    def _item_done(self, item=None, response=None, spider=None, **kwargs) -> None:
        if response is not None and response.request is not None:
            self.ack(response.request.meta.get("hiwatch_entry"))

    def _request_failed(self, request=None, **_) -> None:
        """A failure recorded in the run ledger (an errback's, or a callback's given up): the entry is done."""
        if request is not None:
            self.ack(request.meta.get("hiwatch_entry"))

    def _callback_failed(self, failure, response, spider=None) -> None:
        """A callback (or a spider middleware) raised — the database away for a moment: try the request again
        after a pause, twice, then record the failure; either way its entry is released, never left pending."""
        request = response.request if isinstance(response, Response) else getattr(failure, "request", None)
        if request is None or not request.meta.get("hiwatch_entry"):
            return
        attempt = request.meta.get("hiwatch_attempt", 0) + 1
        if attempt > self.retries:
            fail(self.crawler, request.meta.get("article_url") or request.url, "error",
                 f"callback failed {attempt} times: {failure.type.__name__}: {failure.getErrorMessage()}"[:500],
                 request=request)
            return
        retry = request.replace(dont_filter=True)
        retry.meta["hiwatch_attempt"] = attempt
        self.stats.inc_value("scheduler/callback_retries/redis")
        log.warning("%s: %s failed in its callback (%s); trying again in %.0f s", spider.name if spider else "",
                    request.url, failure.type.__name__, self.retry_delay * 2 ** (attempt - 1))
        _later(self.retry_delay * 2 ** (attempt - 1), lambda: self.enqueue_request(retry))

    # ---- liveness, idling and the end of the run
    def _touch(self) -> None:
        try:
            for kind, queue in self.queues.items():
                queue.touch([t.partition("/")[2] for t in self.working if t.startswith(kind + "/")])
        except redis.RedisError as exc:
            log.warning("could not refresh in-flight entries: %s", exc)

    def _mark_open(self) -> None:
        self.server.set(self.keys.open_worker(self.spider.name, self.worker), "1", ex=OPEN_TTL)

    def _closed(self, spider, reason) -> None:
        self.server.delete(self.keys.open_worker(spider.name, self.worker))

    def work_remaining(self) -> bool:
        """Anything not yet delivered or not yet acknowledged anywhere for this site."""
        return not streams_drained(self.server, [self.queues[k].key for k in KINDS])

    def _run_over(self) -> bool:
        info = current_run(self.server, self.crawler.settings.get("HIWATCH_REDIS_NAMESPACE"))
        return info is None or info.state == "done" or info.prefix != self.keys.prefix

    def _poll(self) -> None:
        """While the engine is idle: hand it whatever the stream has for us (another worker's list page may just
        have added it), and close as soon as the run is drained — not at the engine's next 5-s heartbeat. A run
        the coordinator ended early (interrupted) closes the spider even while it is busy."""
        engine = self.crawler.engine
        if self._closing or engine is None or engine.spider is None:
            return
        if not engine.spider_is_idle():
            now = time.monotonic()
            if now - self._last_run_check >= 1.0:
                self._last_run_check = now
                if self._run_over():
                    self._close(engine, "shutdown")
            return
        request = self._read()
        if request is not None:
            request.meta["hiwatch_local"] = True
            engine.crawl(request)
            return
        if not self.work_remaining() or self._run_over():
            self._close(engine, "finished")

    def _close(self, engine, reason: str) -> None:
        self._closing = True
        deferred_from_coro(engine.close_spider_async(reason=reason))

    def _idle(self, spider) -> None:
        """Stay open while the run has work that other workers may still turn into requests for us."""
        if self._run_over() or not self.work_remaining():
            return
        raise DontCloseSpider


class SeedsMiddleware:
    """Spider middleware of a worker: the spider's own start requests are dropped — a worker's discovery requests
    come from the seed entries of the site's stream, which the scheduler reads (one worker per entry) and turns
    into `spider.discovery_requests(entry)` in the transaction that acknowledges the seed."""

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("HIWATCH_DISTRIBUTED"):
            raise NotConfigured
        return cls()

    async def process_start(self, start):
        return
        yield  # an async generator that yields nothing


def _later(delay: float, call) -> None:
    """Call `call` after `delay` seconds on the running asyncio loop (Scrapy's asyncio reactor), else on Twisted's."""
    try:
        asyncio.get_running_loop().call_later(delay, call)
    except RuntimeError:
        from twisted.internet import reactor

        reactor.callLater(delay, call)


class EntryAckMiddleware:
    """Spider middleware, the one nearest the engine: acknowledge a stream entry once the requests its callback
    produced are on the stream (or refused there), unless it produced an item (that one is acked when the item
    has been stored or dropped).

    Scrapy takes a callback's output in order but enqueues it a little later, so a list page acked as soon as its
    output was read could die with a few of its article requests only in memory: nobody would fetch the page, or
    them, again. The scheduler notes every request it is handed (`spider.entry_queued`); the ack waits for those.
    A produced request does not carry its parent's entry id (the next page of an article copies the meta)."""

    WAIT = 60.0  # seconds: a request the scheduler never sees (the engine closing) must not hold the entry forever

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _ack(self, response, produced_item: bool, requests: list[Request]) -> None:
        spider = self.crawler.spider
        ack = getattr(spider, "entry_ack", None)
        if not ack or produced_item or response is None or response.request is None:
            return
        entry = response.request.meta.get("hiwatch_entry")
        queued = getattr(spider, "entry_queued", None)
        deadline = time.monotonic() + self.WAIT

        def when_queued() -> None:
            if queued is None or all(request in queued for request in requests) or time.monotonic() > deadline:
                ack(entry)
            else:
                _later(0.01, when_queued)

        when_queued()

    @staticmethod
    def _is_item(element, requests: list[Request]) -> bool:
        """Whether `element` is an item; a request is kept in `requests` for the ack to wait on."""
        if isinstance(element, Request):
            element.meta.pop("hiwatch_entry", None)
            element.meta.pop("hiwatch_attempt", None)
            requests.append(element)
            return False
        return True

    def process_spider_output(self, response, result):
        produced, requests = False, []
        for element in result:
            produced = self._is_item(element, requests) or produced
            yield element
        self._ack(response, produced, requests)

    async def process_spider_output_async(self, response, result):
        produced, requests = False, []
        async for element in result:
            produced = self._is_item(element, requests) or produced
            yield element
        self._ack(response, produced, requests)


class SharedPolitenessMiddleware:
    """Downloader middleware: at most one request start per host per DOWNLOAD_DELAY across all workers.

    The host's slot is a Redis key set with `SET NX PX delay`: whoever creates it may start a request now, and
    nobody else can until it expires `delay` ms later; the others sleep for its remaining time (PTTL)."""

    def __init__(self, crawler):
        settings = crawler.settings
        self.delay_ms = int(settings.getfloat("DOWNLOAD_DELAY") * 1000)
        if self.delay_ms <= 0 or not settings.get("HIWATCH_REDIS_URL"):
            raise NotConfigured
        self.server = connect_redis(settings.get("HIWATCH_REDIS_URL"))
        self.keys = Keys(settings.get("HIWATCH_REDIS_PREFIX"))

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request):
        key = self.keys.host_slot(urlsplit(request.url).hostname or "")
        while not self.server.set(key, b"1", nx=True, px=self.delay_ms):
            await asyncio.sleep(max(self.server.pttl(key), 1) / 1000)  # -2: it has just expired, try again
        return None


def distributed_settings(info: RunInfo, redis_url: str, namespace: str) -> dict:
    """Scrapy settings that turn a crawl process into a worker of the run (hiwatch's middlewares, and these)."""
    from crawler import settings as base

    return {
        "SCHEDULER": "crawler.run.distributed.DistributedScheduler",
        "HIWATCH_REDIS_URL": redis_url,
        "HIWATCH_REDIS_PREFIX": info.prefix,
        "HIWATCH_REDIS_NAMESPACE": namespace,
        "HIWATCH_WORKER_ID": f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        "HIWATCH_DISTRIBUTED": True,
        # 10: nearest the engine (below Scrapy's own), so every request it passes on goes straight to the scheduler
        "SPIDER_MIDDLEWARES": {**base.SPIDER_MIDDLEWARES, "crawler.run.distributed.EntryAckMiddleware": 10,
                               "crawler.run.distributed.SeedsMiddleware": 20},
        "DOWNLOADER_MIDDLEWARES": {**base.DOWNLOADER_MIDDLEWARES,
                                   "crawler.run.distributed.SharedPolitenessMiddleware": 555},
    }


def seed(server: redis.Redis, keys: Keys, sources) -> int:
    """Each site's stream and consumer group, with one seed entry per discovery entry of the site."""
    count = 0
    for source in sources:
        for key in keys.streams(source.name):
            server.delete(key)
            create_stream(server, key)
        for index, _ in enumerate(source.discovery):
            server.xadd(keys.discovery(source.name), {"seed": str(index)})
            count += 1
    return count


def drained(server: redis.Redis, keys: Keys, names: list[str]) -> bool:
    """Every entry of these sites' streams delivered and acknowledged: no worker can produce more."""
    return streams_drained(server, [key for name in names for key in keys.streams(name)])


def open_workers(server: redis.Redis, keys: Keys) -> int:
    """Workers whose spiders have not yet closed (and saved their counts); a killed one drops out after 30 s."""
    return sum(1 for _ in server.scan_iter(keys.open_worker("*", "*")))


def source_counts(database: Database, run_id: int) -> dict[str, Counter]:
    from crawler.db.runs import COUNTERS

    with database.session() as session:
        rows = session.scalars(select(RunSource).where(RunSource.run_id == run_id)).all()
        return {row.source: Counter({c: getattr(row, c) for c in COUNTERS}) for row in rows}


def clear_run(server: redis.Redis, keys: Keys) -> None:
    for key in server.scan_iter(f"{keys.prefix}:*"):
        server.delete(key)
