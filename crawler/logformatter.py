"""Scrapy's log lines about items name the item by its URL, never by its content (body, raw pages, signatures)."""
from __future__ import annotations


from scrapy import logformatter

REASON_CHARS = 300  # an exception text longer than this is cut (a reason is one line, not a dump)


def _url(item) -> str:
    try:
        return str(item.get("url") or "?")
    except AttributeError:
        return f"<{type(item).__name__}>"


def _reason(exception: BaseException) -> str:
    text = " ".join(str(exception).split()) or type(exception).__name__
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS] + f"… ({len(text)} chars)"


class ShortItemLogFormatter(logformatter.LogFormatter):
    """`dropped`, `item_error` and `scraped` say which URL and why in one short line (settings LOG_FORMATTER)."""

    def dropped(self, item, exception, response, spider):
        level = super().dropped(item, exception, response, spider)["level"]  # Scrapy's choice (DropItem.log_level)
        url, reason = _url(item), _reason(exception)
        return {"level": level, "msg": "Dropped: %(reason)s" if url in reason else "Dropped %(url)s: %(reason)s",
                "args": {"reason": reason, "url": url}}

    def item_error(self, item, exception, response, spider):
        level = super().item_error(item, exception, response, spider)["level"]
        return {"level": level, "msg": "Error processing %(url)s: %(reason)s",
                "args": {"url": _url(item), "reason": _reason(exception)}}

    def scraped(self, item, response, spider):
        level = super().scraped(item, response, spider)["level"]
        return {"level": level, "msg": "Scraped %(url)s", "args": {"url": _url(item)}}
