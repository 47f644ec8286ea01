"""Fetch one URL outside Scrapy (for `hiwatch add` and the review page): robots.txt, timeout, size cap, replay."""
from __future__ import annotations

import urllib.error
import urllib.request
import urllib.robotparser
from urllib.parse import urlsplit

from crawler.run.replay import URL_HEADER
from crawler.db.store import FetchedPage
from crawler.extract.sniff import MAX_PAGE_BYTES

MAX_BYTES = MAX_PAGE_BYTES  # the largest page hiwatch accepts (crawler/extract/sniff.py)


class FetchError(Exception):
    """The page could not be fetched; the message says why (status, robots.txt, timeout …)."""


def _opener(replay_url: str | None):
    handlers = [urllib.request.ProxyHandler({"http": replay_url, "https": replay_url} if replay_url else {})]
    return urllib.request.build_opener(*handlers)


def _get(url: str, user_agent: str, replay_url: str | None, timeout: float) -> tuple[int, dict, bytes]:
    target = "http://" + url.split("://", 1)[1] if replay_url else url
    request = urllib.request.Request(target, headers={"User-Agent": user_agent, "Accept-Language": "zh-CN,zh;q=0.9"})
    if replay_url:
        request.add_header(URL_HEADER, url)
    try:
        with _opener(replay_url).open(request, timeout=timeout) as response:
            body = response.read(MAX_BYTES + 1)
            if len(body) > MAX_BYTES:
                raise FetchError(f"{url}: larger than {MAX_BYTES // 1024 // 1024} MB, not an article page")
            return response.status, dict(response.headers.items()), body
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read(MAX_BYTES)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise FetchError(f"{url}: {getattr(exc, 'reason', exc)}") from None


def allowed_by_robots(url: str, user_agent: str, replay_url: str | None = None, timeout: float = 15) -> bool:
    parts = urlsplit(url)
    robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
    try:
        status, _, body = _get(robots_url, user_agent, replay_url, timeout)
    except FetchError:
        return True  # unreachable robots.txt: allowed, as Scrapy treats it
    if status >= 400:
        return True
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(body.decode("utf-8", "replace").splitlines())
    return parser.can_fetch(user_agent, url)


def fetch_page(url: str, user_agent: str, replay_url: str | None = None, timeout: float = 30) -> FetchedPage:
    """GET one page politely; raise FetchError on robots.txt refusal, HTTP errors or network failure."""
    if not allowed_by_robots(url, user_agent, replay_url):
        raise FetchError(f"{url}: disallowed by robots.txt")
    status, headers, body = _get(url, user_agent, replay_url, timeout)
    if status >= 400:
        raise FetchError(f"{url}: HTTP {status}")
    return FetchedPage(url=url, body=body, status=status, headers=headers)
