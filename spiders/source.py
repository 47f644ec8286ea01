"""The generic spider: crawls one sources.yaml record for the window — discovery pages, then article pages."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.browser import browser_meta, scripted_list_reason
from crawler.config import EpaperDiscovery, FeedDiscovery, JsonDiscovery, ListDiscovery, Source, load_sources
from crawler.db.store import FetchedPage
from crawler.extensions import count, discovered, fail, failure_reason
from crawler.extract.decode import decode
from crawler.urls import canonical, day_tokens, fill_template, links_in, matches, url_date
from crawler.window import Window, today_shanghai


CALLBACKS = ("parse_listing", "parse_locator", "parse_feed", "parse_period", "parse_issue", "parse_article", "on_error")


class SourceSpider(scrapy.Spider):
    """Crawl one site of config/sources.yaml: for each discovery entry, requests in, article links out.

    Subclasses made by `spider_for` set `source` and `name`. The run's bookkeeping is elsewhere, in Scrapy's own
    places: the ledger in crawler.extensions.RunLedger (fed by stats and the `url_failed` signal), conditional
    list fetches, stored-article skipping and blocked-host backoff in crawler.middlewares, and the distributed
    seeds and claims in crawler.run.distributed."""

    name = None  # abstract: only the per-site subclasses have a name (so `scrapy list` shows sites only)
    source: Source

    def __init__(self, *args, window: Window | None = None, week: str | None = None, since: str | None = None,
                 until: str | None = None, refresh: bool | str = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.window = window or Window.resolve(week, since, until, crawl=True)
        self.refresh = refresh in (True, "1", "true", "yes")  # read by crawler.middlewares: fetch stored ones too
        self.patterns = self.source.compiled_patterns()
        self.check = False
        self._links_seen: set[str] = set()
        self._links_seen_sample = False
        self._list_links: dict[str, set[str]] = {}
        # one bound method per callback for the whole run: Scrapy checks each callback for a generator that returns
        # a value (inspect.getsource + ast.parse) and caches the answer weakly per bound-method object, so fresh
        # ones (a new `self.parse_article` per request) had it re-read the source again and again
        for name in CALLBACKS:
            setattr(self, name, getattr(self, name))

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.check = crawler.settings.getbool("HIWATCH_CHECK")  # `hiwatch sources check`: one sample, no paging
        return spider

    def count(self, counter: str, n: int = 1) -> None:
        count(self.crawler, counter, n)

    # ---- requests -------------------------------------------------------------------------------------------
    def _request(self, url: str, callback, conditional: bool = False, dont_filter: bool = False,
                 **meta) -> scrapy.Request:
        """A request with our errback; `conditional` discovery pages carry the validators of their last fetch."""
        request_meta = {"hiwatch_kind": "discovery", "hiwatch_conditional": conditional, **meta}
        headers = dict(self.source.headers)
        if self.source.js:
            request_meta.update(browser_meta())
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=request_meta, headers=headers or None,
                              dont_filter=dont_filter)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """The site's discovery requests (a distributed worker's middleware takes its share from Redis instead)."""
        for entry in self.source.discovery:
            for request in self.discovery_requests(entry):
                yield request

    def discovery_requests(self, entry) -> Iterable[scrapy.Request]:
        """The first requests of one discovery entry of the site's record."""
        if isinstance(entry, ListDiscovery):
            for url in entry.urls:
                yield self._request(url, self.parse_listing, True, entry=entry, page=1, first_url=url)
        elif isinstance(entry, JsonDiscovery):
            for url in entry.urls:
                yield self._request(url, self.parse_listing, True, entry=entry, page=1, first_url=url)
            if entry.from_page:
                yield self._request(entry.from_page, self.parse_locator, entry=entry)
        elif isinstance(entry, FeedDiscovery):
            for url in entry.urls:
                yield self._request(url, self.parse_feed, entry=entry, depth=0)
        elif isinstance(entry, EpaperDiscovery):
            yield from self._epaper_requests(entry)

    # ---- discovery ------------------------------------------------------------------------------------------
    def _text(self, response: Response) -> str:
        return decode(response.body, response.headers.get("Content-Type", b"").decode("latin-1"))[0]

    def _discovery_links(self, response: Response) -> list[str]:
        """The links of a discovery page; on 304 Not Modified, the links it held when last fetched (both found by
        crawler.middlewares.ConditionalDiscoveryMiddleware, which remembers them)."""
        links = response.meta.get("hiwatch_links")
        return links if links is not None else links_in(self._text(response), response.url)

    def parse_listing(self, response: Response):
        """A list page or JSON list: follow its article links; page on while it still holds fresh links."""
        entry, page = response.meta["entry"], response.meta["page"]
        if response.status == 404:  # only follow-on pages accept 404: the list ended before max_pages
            self.logger.debug("%s: %s does not exist; the list ends at page %d", self.source.name, response.url, page - 1)
            return
        self.count("discovery_pages")
        links = self._discovery_links(response)
        fresh, requests = self._follow_articles(links, response.url, list_key=response.meta["first_url"], report=True)
        yield from requests
        if page == 1 and not any(matches(url, self.patterns) for url in links):  # say why the source is silent
            reason = ("no article link on the list page (rendered in a browser)" if self.source.js
                      else scripted_list_reason(response.body))
            if reason:  # a plain page without article links is left to the discovery ledger, not a failed URL
                fail(self.crawler, response.url, "empty", reason, response.status)
        paginate = None if self.check else getattr(entry, "paginate", None)
        if paginate and page < paginate.max_pages and fresh:
            number = paginate.first + page - 1
            next_url = urljoin(response.meta["first_url"], paginate.template.format(n=number))
            yield self._request(next_url, self.parse_listing, True, entry=entry, page=page + 1,
                                first_url=response.meta["first_url"], handle_httpstatus_list=[404])
        elif paginate and not fresh:
            self.logger.debug("%s: no link newer than the window on %s; paging stops", self.source.name, response.url)

    def parse_locator(self, response: Response):
        """A channel page that names its JSON list (news.cn `ds_<uuid>.json`): find it afresh each run."""
        entry = response.meta["entry"]
        self.count("discovery_pages")
        text = self._text(response)
        found = list(dict.fromkeys(
            urljoin(response.url, entry.url_template.format(m.group(0), *m.groups()) if entry.url_template
                    else m.group(0))
            for m in re.finditer(entry.url_pattern, text)))
        if not found:
            fail(self.crawler, response.url, "error", f"no JSON list matching {entry.url_pattern!r} on the page")
        for url in found:
            yield self._request(url, self.parse_listing, True, entry=entry, page=1, first_url=url)
        _, requests = self._follow_articles(links_in(text, response.url), response.url, report=True)
        yield from requests

    def parse_feed(self, response: Response):
        """RSS/Atom feeds and sitemaps; a sitemap index is followed one level down."""
        self.count("discovery_pages")
        text = self._text(response)
        if "<sitemapindex" in text[:2000] and response.meta["depth"] == 0:
            for url in re.findall(r"<loc>\s*([^<\s]+)\s*</loc>", text):
                yield self._request(url.replace("&amp;", "&"), self.parse_feed, entry=response.meta["entry"], depth=1)
            return
        _, requests = self._follow_articles(links_in(text, response.url), response.url, report=True)
        yield from requests

    def _epaper_requests(self, entry: EpaperDiscovery) -> Iterable[scrapy.Request]:
        days = [d for d in self.window.days() if d <= today_shanghai()]
        if entry.dates_from:
            months = dict.fromkeys(f"{d:%Y%m}" for d in days)
            for month in months:
                url = entry.dates_from.format(yyyymm=month, yyyy=month[:4], mm=month[4:])
                yield self._request(url, self.parse_period, entry=entry,
                                    days=[d for d in days if f"{d:%Y%m}" == month])
        else:
            for day in days:
                yield self._issue_request(entry, day, 0)

    def _issue_request(self, entry: EpaperDiscovery, day, template: int) -> scrapy.Request:
        return self._request(fill_template(entry.issue_urls[template], day), self.parse_issue, True, entry=entry,
                             day=day, template=template, handle_httpstatus_list=[404])

    def parse_period(self, response: Response):
        """period.js (or any page) listing the dates that have an issue."""
        entry = response.meta["entry"]
        self.count("discovery_pages")
        available = set(re.findall(entry.date_pattern, self._text(response)))
        for day in response.meta["days"]:
            if f"{day:%Y%m%d}" in available:
                yield self._issue_request(entry, day, 0)
            else:
                self.logger.info("%s: no issue on %s (not in %s)", self.source.name, day, response.url)

    def parse_issue(self, response: Response):
        """An e-paper issue or 版面 page: follow the day's other pages and every article link."""
        entry, day, template = response.meta["entry"], response.meta["day"], response.meta["template"]
        if response.status == 404:
            if not response.meta.get("is_page") and template + 1 < len(entry.issue_urls):
                yield self._issue_request(entry, day, template + 1)
            elif not response.meta.get("is_page"):
                self.logger.info("%s: no issue found for %s under any template", self.source.name, day)
            return
        self.count("discovery_pages")
        links = self._discovery_links(response)
        if entry.page_pattern:
            tokens = day_tokens(day)
            for url in links:
                if re.search(entry.page_pattern, url) and any(t in url for t in tokens) and url != response.url:
                    yield self._request(url, self.parse_issue, True, entry=entry, day=day, template=template,
                                        is_page=True, handle_httpstatus_list=[404])
        _, requests = self._follow_articles(links, response.url, epaper=True, report=True)
        yield from requests

    def _follow_articles(self, links: list[str], found_on: str, list_key: str | None = None,
                         epaper: bool = False, report: bool = False) -> tuple[bool, list[scrapy.Request]]:
        """Requests for the article links among `links`; `fresh` says whether any link new to this list
        (`list_key`: its first page) is not older than the window — a sidebar of today's stories repeated on
        every page of a list does not keep the paging going. With `report`, the page's figures (links, those
        matching an article pattern, those in the window) go to the run ledger (crawler.extensions.discovered)."""
        fresh = False
        on_list = self._list_links.setdefault(list_key, set()) if list_key else set()
        candidates: list[tuple[str, object]] = []
        matching = in_window = 0
        for url in links:
            if (not matches(url, self.patterns) or not self.source.owns(urlsplit(url).hostname or "")
                    or self.source.excluded(url)):
                continue
            day = url_date(url, self.patterns)
            matching += 1
            in_window += day is None or self.window.contains_day(day)
            if (day is None or day >= self.window.first) and url not in on_list:
                fresh = True
            on_list.add(url)
            if url in self._links_seen:
                continue
            self._links_seen.add(url)
            self.count("links_found")
            if day is not None and not self.window.contains_day(day):
                self.count("skipped_window")
                continue
            candidates.append((url, day))
        if report:
            discovered(self.crawler, found_on, len(set(links)), matching, in_window)
        if self.check:  # the canary: the newest link only, stored or not, and only one per run
            candidates = sorted(candidates, key=lambda c: c[1] or self.window.last, reverse=True)[:1]
            if candidates and self._links_seen_sample:
                candidates = []
            self._links_seen_sample = self._links_seen_sample or bool(candidates)
        requests = []
        for url, day in candidates:
            # dont_filter: links are de-duplicated above; a redirect loop must run into REDIRECT_MAX_TIMES
            # (and be recorded) instead of vanishing in the dupefilter
            requests.append(self._request(url, self.parse_article, dont_filter=True, hiwatch_kind="article",
                                          article_url=url, url_date=day, found_on=found_on, pages=[], epaper=epaper))
        return fresh, requests

    # ---- articles -------------------------------------------------------------------------------------------
    def parse_article(self, response: Response):
        """An article page; continuation pages (multipage) are fetched in turn, then one item goes to the pipelines."""
        pages: list[FetchedPage] = response.meta["pages"] + [FetchedPage(
            url=response.url, body=response.body, status=response.status,
            headers={k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()})]
        multipage = self.source.multipage
        if multipage and len(pages) < multipage.max_pages:
            next_url = self._next_page(response, pages)
            if next_url:
                yield self._request(next_url, self.parse_article, **{**response.meta, "pages": pages,
                                                                      "hiwatch_kind": "article"})
                return
        self.count("fetched")
        yield {"url": response.meta["article_url"], "site": self.source.name, "url_date": response.meta["url_date"],
               "pages": pages, "epaper": response.meta.get("epaper", False), "found_on": response.meta.get("found_on")}

    def _next_page(self, response: Response, pages: list[FetchedPage]) -> str | None:
        """The next continuation page of a multi-page article, or None when this is the last."""
        multipage, first = self.source.multipage, response.meta["article_url"]
        stem, _, ext = first.rpartition(".")
        if multipage.count_pattern:
            if len(pages) == 1:  # page 1 says how many pages there are
                match = re.search(multipage.count_pattern, self._text(response))
                count = min(int(match.group(1)), multipage.max_pages) if match else 1
                response.meta["more_urls"] = [multipage.page_url.format(stem=stem, ext=ext, n=n)
                                              for n in range(multipage.first_index, multipage.first_index + count - 1)]
            remaining = response.meta.get("more_urls") or []
            if not remaining:
                return None
            response.meta["more_urls"] = remaining[1:]
            return remaining[0]
        pattern = re.compile(multipage.next_pattern.replace("{stem}", re.escape(stem)))
        fetched = {canonical(p.url) for p in pages} | {first}
        for url in links_in(self._text(response), response.url):
            if url not in fetched and pattern.search(url):
                return url
        return None

    # ---- failures -------------------------------------------------------------------------------------------
    def on_error(self, failure: Failure) -> None:
        """A request that gave no response: reported to the run ledger (crawler.extensions) with its reason."""
        request = failure.request
        kind, reason, status = failure_reason(failure, self.crawler.settings)
        fail(self.crawler, request.meta.get("article_url") or request.url, kind, reason, status, request=request)
        if request.meta.get("hiwatch_kind") == "discovery" and request.callback != self.parse_period:
            discovered(self.crawler, request.url, http_status=status, error=reason)


def spider_for(source: Source) -> type[SourceSpider]:
    """A SourceSpider subclass for one site, named after it, with the site's politeness as its settings."""
    headers = {"Referer": f"https://www.{source.hosts[0]}/", **source.headers}
    settings = {
        "CONCURRENT_REQUESTS_PER_DOMAIN": source.politeness.concurrency,
        "DOWNLOAD_DELAY": source.politeness.delay,
        "DEFAULT_REQUEST_HEADERS": {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                                    "Accept-Language": "zh-CN,zh;q=0.9", **headers},
    }
    if source.js:
        settings["HIWATCH_BROWSER"] = True
        settings["DOWNLOAD_HANDLERS"] = {
            "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
            "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
        }
    class_name = "".join(part.capitalize() for part in source.name.split("_")) + "Spider"
    return type(class_name, (SourceSpider,), {"name": source.name, "source": source, "custom_settings": settings,
                                              "__module__": "spiders.sites",
                                              "__doc__": f"Crawl {source.label} ({', '.join(source.hosts)})."})


def all_spiders(path=None) -> dict[str, type[SourceSpider]]:
    return {source.name: spider_for(source) for source in load_sources(path).sources}
