"""Downloader middlewares: honour Retry-After before retrying a 429/503."""
from __future__ import annotations

import asyncio
import email.utils
from datetime import datetime, timezone

from scrapy.downloadermiddlewares.retry import RetryMiddleware


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
