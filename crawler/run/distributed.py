"""Scale-out: one crawl shared by workers on several machines through Redis (scrapy-redis), one database.

- The coordinator (`hiwatch crawl --distributed`) records the run, publishes it in Redis and pushes one seed
  per discovery entry of every site; it waits until the shared queues are drained, then closes the run.
- A worker (`hiwatch worker`) runs every site's spider with scrapy-redis's scheduler: `SeedsMiddleware`
  replaces each spider's start requests with the discovery entries it drains from its site's seeds, and all
  requests go through the shared Redis queue and duplicate filter. The spider itself knows nothing of Redis.
- scrapy-redis 0.9.1 loses what a killed worker had taken off the queue. Here a pop moves the request into
  the worker's in-flight hash in the same Redis script; it is acknowledged when its item has been stored (or
  dropped, or its callback finished without an item); another worker re-queues the in-flight requests of a
  worker whose heartbeat expired. A list page is acknowledged only once the requests it produced are queued,
  and an article link is claimed (one worker fetches it) in the script that queues its request.
- Politeness holds across workers: the delay between two requests to one host is kept in Redis.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
import weakref
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from sqlalchemy import select
from twisted.internet import task

from crawler.db import Database
from crawler.db.models import RunSource
from crawler.extensions import url_failed
from crawler.window import Window

log = logging.getLogger("hiwatch.distributed")
HEARTBEAT_TTL = 15  # seconds without a heartbeat before a worker counts as dead (HIWATCH_HEARTBEAT_TTL)


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
    """Every Redis key of one distributed run lives under `<namespace>:<run id>:`."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def seeds(self, spider: str) -> str:
        return f"{self.prefix}:{spider}:seeds"

    def queue(self, spider: str) -> str:
        return f"{self.prefix}:{spider}:requests"

    def dupefilter(self, spider: str) -> str:
        return f"{self.prefix}:{spider}:dupefilter"

    def inflight(self, spider: str, worker: str) -> str:
        return f"{self.prefix}:{spider}:inflight:{worker}"

    def inflight_pattern(self, spider: str) -> str:
        return f"{self.prefix}:{spider}:inflight:*"

    def article_claims(self, spider: str) -> str:
        return f"{self.prefix}:{spider}:articles"

    def seed_lease(self, spider: str, worker: str) -> str:
        return f"{self.prefix}:{spider}:seedlease:{worker}"

    def seed_lease_pattern(self, spider: str) -> str:
        return f"{self.prefix}:{spider}:seedlease:*"

    def worker(self, worker: str) -> str:
        return f"{self.prefix}:worker:{worker}"

    def host_slot(self, host: str) -> str:
        return f"{self.prefix}:polite:{host}"


def run_key(namespace: str) -> str:
    return f"{namespace}:current-run"


def publish_run(server: redis.Redis, namespace: str, info: RunInfo) -> None:
    server.set(run_key(namespace), json.dumps(info.__dict__))


def current_run(server: redis.Redis, namespace: str) -> RunInfo | None:
    raw = server.get(run_key(namespace))
    return RunInfo(**json.loads(raw)) if raw else None


# ---- the leased queue ---------------------------------------------------------------------------------------
_POP = """
local found = redis.call('ZRANGE', KEYS[1], 0, 0)
if #found == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
local lease = redis.sha1hex(found[1])
redis.call('HSET', KEYS[2], lease, found[1])
return {lease, found[1]}
"""


_CLAIM_AND_PUSH = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""


class LeasedQueue(PriorityQueue):
    """scrapy-redis's priority queue, but a pop leaves the request in this worker's in-flight hash until acked."""

    def __init__(self, server, spider, key, serializer=None, inflight_key: str = ""):
        super().__init__(server, spider, key, serializer)
        self.inflight_key = inflight_key
        self._pop = server.register_script(_POP)
        self._claim_and_push = server.register_script(_CLAIM_AND_PUSH)

    def pop(self, timeout=0):
        found = self._pop(keys=[self.key, self.inflight_key])
        if not found:
            return None
        lease, data = found
        request = self._decode_request(data)
        request.meta["hiwatch_lease"] = lease.decode() if isinstance(lease, bytes) else lease
        return request

    def ack(self, lease: str | None) -> None:
        if lease:
            self.server.hdel(self.inflight_key, lease)

    def push_claimed(self, request: Request, claims_key: str, claim: str) -> bool:
        """Claim `claim` (an article URL) in `claims_key` and queue the request, in one script: False, and nothing
        queued, when another worker (or an earlier list page) has claimed it. Claiming first and queueing later
        would lose the article if the worker died in between: the claim would stay, the request would not."""
        return bool(self._claim_and_push(keys=[claims_key, self.key],
                                         args=[claim, -request.priority, self._encode_request(request)]))

    def push_raw(self, data: bytes, priority: int = 0) -> None:
        self.server.zadd(self.key, {data: -priority})


class DistributedScheduler(Scheduler):
    """scrapy-redis's Scheduler on current Scrapy: leased pops, heartbeats, re-queueing of dead workers."""

    def __init__(self, server, keys: Keys, worker: str, **kwargs):
        super().__init__(server, persist=True, **kwargs)
        self.keys = keys
        self.worker = worker
        self._heartbeat = None
        self._last_rescue = 0.0
        self.ttl = HEARTBEAT_TTL

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        url = settings.get("HIWATCH_REDIS_URL")
        prefix = settings.get("HIWATCH_REDIS_PREFIX")
        if not url or not prefix:
            raise NotConfigured("the distributed scheduler needs HIWATCH_REDIS_URL and HIWATCH_REDIS_PREFIX")
        server = connect_redis(url)
        worker = settings.get("HIWATCH_WORKER_ID") or f"{socket.gethostname()}-{os.getpid()}"
        instance = cls(server, Keys(prefix), worker, dupefilter_key="unused",
                       queue_cls="crawler.run.distributed.LeasedQueue")
        instance.stats = crawler.stats
        instance.crawler = crawler
        instance.ttl = settings.getint("HIWATCH_HEARTBEAT_TTL", HEARTBEAT_TTL)
        return instance

    def open(self, spider):
        self.spider = spider
        name = spider.name
        self.queue = LeasedQueue(self.server, spider, self.keys.queue(name),
                                 inflight_key=self.keys.inflight(name, self.worker))
        self.df = RFPDupeFilter(self.server, self.keys.dupefilter(name))
        spider.lease_ack = self.queue.ack
        spider.lease_queued = weakref.WeakSet()  # every request handed to enqueue_request (LeaseAckMiddleware)
        self.beat()
        self._heartbeat = task.LoopingCall(self.beat)
        self._heartbeat.start(self.ttl / 3, now=False)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            self.crawler.signals.connect(self._item_done, signal=signal)
        self.crawler.signals.connect(self._request_failed, signal=url_failed)
        self.crawler.signals.connect(self._idle, signal=signals.spider_idle)

    def close(self, reason):
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()
        if reason != "shutdown":  # a clean finish: nothing of ours is in flight any more
            self.server.delete(self.keys.worker(self.worker))

    def beat(self) -> None:
        self.server.set(self.keys.worker(self.worker), str(time.time()), ex=self.ttl)

    def enqueue_request(self, request: Request) -> bool:
        queued = getattr(self.spider, "lease_queued", None)
        try:
            return self._enqueue(request)
        finally:
            if queued is not None:
                queued.add(request)

    def _enqueue(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            return False
        # an article link: one worker fetches it, whoever found it. The claim is marked in the meta, so a retry,
        # a redirect or the next page of the article (which copy the meta) is queued without claiming again
        claim = self._claim_of(request)
        if claim:
            request.meta["hiwatch_claimed"] = True
            if not self.queue.push_claimed(request, self.keys.article_claims(self.spider.name), claim):
                self.stats.inc_value("scheduler/claimed_elsewhere/redis")
                return False
        else:
            self.queue.push(request)
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    @staticmethod
    def _claim_of(request: Request) -> str | None:
        """The article URL to claim for a first request of an article link, else None."""
        meta = request.meta
        if meta.get("hiwatch_kind") != "article" or meta.get("hiwatch_claimed") or meta.get("pages"):
            return None
        return meta.get("article_url")

    def next_request(self):
        request = self.queue.pop()
        if request is None:
            self.rescue_dead_workers()
            request = self.queue.pop()
        if request is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return len(self.queue) > 0

    def _item_done(self, item=None, response=None, spider=None, **kwargs) -> None:
        if response is not None:
            self.queue.ack(response.request.meta.get("hiwatch_lease") if response.request else None)

    def _request_failed(self, request=None, **_) -> None:
        """An errback's failure (its output never reaches the spider middlewares): the request is done."""
        if request is not None:
            self.queue.ack(request.meta.get("hiwatch_lease"))

    def rescue_dead_workers(self, every: float = 3.0) -> int:
        """Put back on the queue what workers without a heartbeat had taken; returns how many requests."""
        now = time.monotonic()
        if now - self._last_rescue < every:
            return 0
        self._last_rescue = now
        rescued = 0
        for key in self.server.scan_iter(self.keys.inflight_pattern(self.spider.name)):
            worker = key.decode().rsplit(":", 1)[1]
            if worker == self.worker or self.server.exists(self.keys.worker(worker)):
                continue
            claimed = f"{key.decode()}:rescue:{self.worker}"
            try:
                self.server.rename(key, claimed)  # atomic: only one worker gets to re-queue them
            except redis.ResponseError:
                continue
            for data in self.server.hvals(claimed):
                self.queue.push_raw(data)
                rescued += 1
            self.server.delete(claimed)
            log.warning("%s: re-queued %d requests of dead worker %s", self.spider.name, rescued, worker)
        for key in self.server.scan_iter(self.keys.seed_lease_pattern(self.spider.name)):
            worker = key.decode().rsplit(":", 1)[1]
            if worker == self.worker or self.server.exists(self.keys.worker(worker)):
                continue
            while self.server.lmove(key, self.keys.seeds(self.spider.name), "LEFT", "RIGHT") is not None:
                rescued += 1
        return rescued

    def work_remaining(self) -> bool:
        """Anything queued, seeded or in flight anywhere for this spider."""
        return not drained(self.server, self.keys, [self.spider.name])

    def _idle(self, spider) -> None:
        """Stay open while other workers may still produce requests for us; close when the run is drained."""
        self.rescue_dead_workers(every=0)
        info = current_run(self.server, self.crawler.settings.get("HIWATCH_REDIS_NAMESPACE"))
        if info is None or info.state == "done" or info.prefix != self.keys.prefix:
            return  # the run is over (or another has begun): close
        if self.work_remaining():
            raise DontCloseSpider
        quiet_since = getattr(self, "_quiet_since", None)
        if quiet_since is None:
            self._quiet_since = time.monotonic()
            raise DontCloseSpider
        if time.monotonic() - quiet_since < self.crawler.settings.getfloat("HIWATCH_WORKER_QUIET", 3.0):
            raise DontCloseSpider


class SeedsMiddleware:
    """Spider middleware of a worker: instead of the spider's own start requests, the discovery entries this worker
    takes from its site's seeds in Redis (each entry is started by exactly one worker); a seed stays leased to the
    worker until its requests are on the shared queue, and a dead worker's seeds are put back (rescue)."""

    def __init__(self, crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.server = connect_redis(settings.get("HIWATCH_REDIS_URL"))
        self.keys = Keys(settings.get("HIWATCH_REDIS_PREFIX"))
        self.worker = settings.get("HIWATCH_WORKER_ID")

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("HIWATCH_DISTRIBUTED"):
            raise NotConfigured
        return cls(crawler)

    async def process_start(self, start):
        spider = self.crawler.spider
        seeds, lease = self.keys.seeds(spider.name), self.keys.seed_lease(spider.name, self.worker)
        while (raw := self.server.lmove(seeds, lease, "LEFT", "RIGHT")) is not None:
            for request in spider.discovery_requests(spider.source.discovery[json.loads(raw)["entry"]]):
                yield request
            self.server.lrem(lease, 1, raw)  # its requests are on the shared queue now


def _later(delay: float, call) -> None:
    """Call `call` after `delay` seconds on the running asyncio loop (Scrapy's asyncio reactor), else on Twisted's."""
    try:
        asyncio.get_running_loop().call_later(delay, call)
    except RuntimeError:
        from twisted.internet import reactor

        reactor.callLater(delay, call)


class LeaseAckMiddleware:
    """Spider middleware, the one nearest the engine: acknowledge a leased request once the requests its callback
    produced are on the shared queue (or refused there), unless it produced an item (that one is acked when the
    item has been stored or dropped).

    Scrapy takes a callback's output in order but enqueues it a little later, so a list page acked as soon as its
    output was read could die with a few of its article requests only in memory: nobody would fetch the page, or
    them, again. The scheduler notes every request it is handed (`spider.lease_queued`); the ack waits for those."""

    WAIT = 60.0  # seconds: a request the scheduler never sees (the engine closing) must not hold the lease forever

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _ack(self, response, produced_item: bool, requests: list[Request]) -> None:
        spider = self.crawler.spider
        ack = getattr(spider, "lease_ack", None)
        if not ack or produced_item or response is None or response.request is None:
            return
        lease = response.request.meta.get("hiwatch_lease")
        queued = getattr(spider, "lease_queued", None)
        deadline = time.monotonic() + self.WAIT

        def when_queued() -> None:
            if queued is None or all(request in queued for request in requests) or time.monotonic() > deadline:
                ack(lease)
            else:
                _later(0.01, when_queued)

        when_queued()

    @staticmethod
    def _is_item(element, requests: list[Request]) -> bool:
        """Whether `element` is an item; a request is kept in `requests` for the ack to wait on."""
        if isinstance(element, Request):
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


_SLOT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local next_ms = tonumber(redis.call('GET', KEYS[1]) or '0')
if now_ms >= next_ms then
  redis.call('SET', KEYS[1], now_ms + tonumber(ARGV[1]), 'PX', tonumber(ARGV[1]) + 60000)
  return 0
end
return next_ms - now_ms
"""


class SharedPolitenessMiddleware:
    """Downloader middleware: at most one request start per host per DOWNLOAD_DELAY across all workers."""

    def __init__(self, crawler):
        settings = crawler.settings
        self.delay_ms = int(settings.getfloat("DOWNLOAD_DELAY") * 1000)
        if self.delay_ms <= 0 or not settings.get("HIWATCH_REDIS_URL"):
            raise NotConfigured
        self.server = connect_redis(settings.get("HIWATCH_REDIS_URL"))
        self.keys = Keys(settings.get("HIWATCH_REDIS_PREFIX"))
        self._slot = self.server.register_script(_SLOT)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request):
        host = urlsplit(request.url).hostname or ""
        while True:
            wait_ms = int(self._slot(keys=[self.keys.host_slot(host)], args=[self.delay_ms]))
            if wait_ms <= 0:
                return None
            await asyncio.sleep(wait_ms / 1000)


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
        "SPIDER_MIDDLEWARES": {**base.SPIDER_MIDDLEWARES, "crawler.run.distributed.LeaseAckMiddleware": 10,
                               "crawler.run.distributed.SeedsMiddleware": 20},
        "DOWNLOADER_MIDDLEWARES": {**base.DOWNLOADER_MIDDLEWARES,
                                   "crawler.run.distributed.SharedPolitenessMiddleware": 555},
    }


def seed(server: redis.Redis, keys: Keys, sources) -> int:
    """One seed per discovery entry of every site: `{"entry": i}` on the site's seeds list."""
    count = 0
    for source in sources:
        server.delete(keys.seeds(source.name))
        for index, _ in enumerate(source.discovery):
            server.rpush(keys.seeds(source.name), json.dumps({"entry": index}))
            count += 1
    return count


def drained(server: redis.Redis, keys: Keys, names: list[str]) -> bool:
    """No seed, queued request or leased request or seed left for these spiders."""
    for name in names:
        if server.llen(keys.seeds(name)) or server.zcard(keys.queue(name)):
            return False
        if any(server.hlen(key) for key in server.scan_iter(keys.inflight_pattern(name))):
            return False
        if any(server.llen(key) for key in server.scan_iter(keys.seed_lease_pattern(name))):
            return False
    return True


def live_workers(server: redis.Redis, keys: Keys) -> int:
    return sum(1 for _ in server.scan_iter(keys.worker("*")))


def source_counts(database: Database, run_id: int) -> dict[str, Counter]:
    from crawler.db.runs import COUNTERS

    with database.session() as session:
        rows = session.scalars(select(RunSource).where(RunSource.run_id == run_id)).all()
        return {row.source: Counter({c: getattr(row, c) for c in COUNTERS}) for row in rows}


def clear_run(server: redis.Redis, keys: Keys) -> None:
    for key in server.scan_iter(f"{keys.prefix}:*"):
        server.delete(key)
