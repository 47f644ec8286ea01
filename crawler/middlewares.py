"""Downloader middlewares: honour Retry-After before retrying a 429/503; stop requesting from a host that
keeps blocking us."""
from __future__ import annotations

import asyncio
import email.utils
from datetime import datetime, timezone

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest


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
    of the run (the spider's errback records each as blocked, "not requested"): a blocked site is not hammered.
    Requests already handed to the downloader (at most CONCURRENT_REQUESTS) still go out."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request):
        spider = self.crawler.spider
        backing_off = getattr(spider, "backing_off", None)
        if request.meta.get("hiwatch_kind") == "article" and backing_off and backing_off(request.url):
            raise IgnoreRequest("backing off: the host blocked us repeatedly in this run")
        return None


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
