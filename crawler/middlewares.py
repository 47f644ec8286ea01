"""Downloader and spider middlewares: honour Retry-After before retrying a 429/503; stop requesting from a host
that keeps blocking us; fetch list pages conditionally; never request an article already stored."""
from __future__ import annotations

import asyncio
import logging
import email.utils
from datetime import datetime, timezone
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request
from sqlalchemy.exc import SQLAlchemyError

from crawler.db.store import discovery_validators, known_urls, save_discovery
from crawler.extensions import article_extracted, count, run_ledger, url_failed
from crawler.extract.decode import decode
from crawler.urls import canonical, links_in

log = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    """RetryMiddleware that waits as long as the server's Retry-After asks (up to HIWATCH_RETRY_AFTER_MAX
    seconds) before retrying; a longer wait is not retried in this run and is recorded as such."""

    def __init__(self, settings):
        super().__init__(settings)
        self.max_wait = settings.getfloat("HIWATCH_RETRY_AFTER_MAX", 120.0)

    async def process_response(self, request, response):
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is not None:
            if wait > self.max_wait:
                request.meta["hiwatch_retry_after"] = wait
                return response  # not retried: the errback records "asked to wait N s"
            await asyncio.sleep(wait)
        return super().process_response(request, response)


class BlockedHostBackoffMiddleware:
    """Article requests to a host that blocked us HIWATCH_BLOCKED_BACKOFF times in a row are not sent for the rest
    of the run (each is recorded as blocked, "not requested"): a blocked site is not hammered. Requests already
    handed to the downloader (at most CONCURRENT_REQUESTS) still go out. A good article from the host resets
    its count, so a few empty pages never stop a site."""

    def __init__(self, crawler):
        self.after = crawler.settings.getint("HIWATCH_BLOCKED_BACKOFF", 3)
        self.blocked: dict[str, int] = {}
        crawler.signals.connect(self._blocked, signal=url_failed)
        crawler.signals.connect(self._ok, signal=article_extracted)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _blocked(self, url: str, kind: str, reason: str, **_) -> None:
        if kind != "blocked" or reason.startswith("not requested"):
            return
        host = urlsplit(url).hostname or ""
        self.blocked[host] = self.blocked.get(host, 0) + 1
        if self.blocked[host] == self.after:
            log.warning("%s blocked us %d times in a row; backing off for the rest of this run", host, self.after)

    def _ok(self, url: str, **_) -> None:
        self.blocked.pop(urlsplit(url).hostname or "", None)

    def process_request(self, request):
        if (request.meta.get("hiwatch_kind") == "article"
                and self.blocked.get(urlsplit(request.url).hostname or "", 0) >= self.after):
            raise IgnoreRequest("backing off: the host blocked us repeatedly in this run")
        return None


class ConditionalDiscoveryMiddleware:
    """List pages (`hiwatch_conditional` requests) carry the ETag / Last-Modified of their last fetch; on 304 Not
    Modified the spider gets the links the page held then, and a fresh page with validators is remembered with
    its links (request meta `hiwatch_links` in both cases). `--refresh` fetches unconditionally."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _active(self, request) -> bool:
        return bool(request.meta.get("hiwatch_conditional")) and not getattr(self.crawler.spider, "refresh", False)

    def process_request(self, request):
        if not self._active(request):
            return None
        try:
            known = discovery_validators(run_ledger(self.crawler).database, canonical(request.url))
        except SQLAlchemyError as exc:  # the validators only save a fetch: without them the page comes whole
            log.warning("%s: fetched without its validators (database: %s)", request.url, type(exc).__name__)
            return None
        if known is not None and (known.etag or known.last_modified):
            if known.etag:
                request.headers["If-None-Match"] = known.etag
            if known.last_modified:
                request.headers["If-Modified-Since"] = known.last_modified
            request.meta["handle_httpstatus_list"] = [*request.meta.get("handle_httpstatus_list", []), 304]
        return None

    def process_response(self, request, response):
        if not request.meta.get("hiwatch_conditional"):
            return response
        database = run_ledger(self.crawler).database
        if response.status == 304:
            try:
                known = discovery_validators(database, canonical(response.url))
            except SQLAlchemyError as exc:  # the links it held cannot be read now: fetch the page whole
                log.warning("%s: not modified, but its links cannot be read (database: %s); fetching it again",
                            response.url, type(exc).__name__)
                return self._whole(request)
            request.meta["hiwatch_links"] = list(known.links) if known else []
            return response
        etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        if 200 <= response.status < 300 and (etag or modified):
            content_type = response.headers.get("Content-Type", b"").decode("latin-1")
            links = links_in(decode(response.body, content_type)[0], response.url)
            request.meta["hiwatch_links"] = links
            try:
                save_discovery(database, canonical(response.url), self.crawler.spider.source.name,
                               etag.decode("latin-1") if etag else None,
                               modified.decode("latin-1") if modified else None, links)
            except SQLAlchemyError as exc:  # the page is read all the same; the next run fetches it whole
                log.warning("%s: validators not remembered (database: %s)", response.url, type(exc).__name__)
        return response

    @staticmethod
    def _whole(request):
        """The same list page asked for again, unconditionally."""
        headers = {k: v for k, v in request.headers.items() if k not in (b"If-None-Match", b"If-Modified-Since")}
        return request.replace(headers=headers, dont_filter=True, meta={**request.meta, "hiwatch_conditional": False})


class KnownArticlesMiddleware:
    """Spider middleware: article links already stored are not requested again (the nightly crawl is incremental);
    `--refresh` fetches them anyway, and the canary (`sources check`) samples one whether stored or not."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        if crawler.settings.getbool("HIWATCH_CHECK"):
            raise NotConfigured
        return cls(crawler)

    @staticmethod
    def _first_page(element) -> bool:
        return (isinstance(element, Request) and element.meta.get("hiwatch_kind") == "article"
                and not element.meta.get("pages"))

    def _unknown(self, requests: list[Request]) -> list[Request]:
        if not requests or getattr(self.crawler.spider, "refresh", False):
            return requests
        try:
            stored = known_urls(run_ledger(self.crawler).database, [r.meta["article_url"] for r in requests])
        except SQLAlchemyError as exc:  # better fetched twice (the store keeps one row per URL) than never
            log.warning("%d article links requested without checking which are stored (database: %s)",
                        len(requests), type(exc).__name__)
            return requests
        if stored:
            count(self.crawler, "skipped_seen", len(stored))
        return [r for r in requests if r.meta["article_url"] not in stored]

    def process_spider_output(self, response, result):
        articles = []
        for element in result:
            if self._first_page(element):
                articles.append(element)
            else:
                yield element
        yield from self._unknown(articles)

    async def process_spider_output_async(self, response, result):
        articles = []
        async for element in result:
            if self._first_page(element):
                articles.append(element)
            else:
                yield element
        for request in self._unknown(articles):
            yield request


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's meta-refresh redirect, looking at the page's head only: Scrapy decodes the whole page to read its
    first 4,096 characters, for every page; this decodes the first 16 KB (4,096 characters in any encoding)."""

    HEAD_BYTES = 16 * 1024

    def process_response(self, request, response):
        if b"refresh" not in response.body[:self.HEAD_BYTES].lower():  # no <meta http-equiv="refresh"> up there
            return response
        if len(response.body) <= self.HEAD_BYTES or not hasattr(response, "replace"):
            return super().process_response(request, response)
        head = response.replace(body=response.body[:self.HEAD_BYTES])
        result = super().process_response(request, head)
        return response if result is head else result
