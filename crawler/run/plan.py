"""The nightly plan: every discovery URL a crawl would request for the window, per site and host, with the
politeness applied and an estimate of the wall time — computed from sources.yaml alone, nothing fetched."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from crawler.config import EpaperDiscovery, FeedDiscovery, JsonDiscovery, ListDiscovery, Source, SourcesFile
from crawler.urls import fill_template
from crawler.window import Window

# The estimate's assumptions, stated in the plan's output (docs/sources.md explains them).
ARTICLES_PER_PAGE = 8  # new in-window article links a discovery page yields on a night (stored ones are skipped)
PAGES_PER_ISSUE = 8  # 版面 pages an e-paper issue leads to (光明日报 has 8–16 on a weekday)
LATENCY = 0.5  # seconds a live answer takes on average
SCRAPY_DEFAULTS = {"CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 2, "DOWNLOAD_DELAY": 1.0}


@dataclass
class PlannedUrl:
    url: str
    what: str  # "list", "json", "rss", "issue", "period", "locator"
    note: str = ""  # e.g. "+ up to 4 follow-on pages while fresh"
    extra_pages: int = 0  # pages the crawl may request after this one (list paging, e-paper 版面 or issue pages)


@dataclass
class HostPlan:
    host: str
    urls: list[PlannedUrl] = field(default_factory=list)

    def requests(self, articles_per_page: int) -> int:
        """Requests this host may get: robots.txt, every discovery page with all its follow-on pages (the worst
        case: paging stops earlier once a page holds nothing newer than the window) and their new articles."""
        pages = sum(1 + u.extra_pages for u in self.urls)
        return 1 + pages + articles_per_page * pages


@dataclass
class SitePlan:
    name: str
    label: str
    concurrency: int
    delay: float
    hosts: dict[str, HostPlan] = field(default_factory=dict)

    @property
    def discovery_urls(self) -> int:
        return sum(len(h.urls) for h in self.hosts.values())

    def add(self, planned: PlannedUrl) -> None:
        host = (urlsplit(planned.url).hostname or "?").lower()
        self.hosts.setdefault(host, HostPlan(host)).urls.append(planned)

    def seconds(self, articles_per_page: int = ARTICLES_PER_PAGE, latency: float = LATENCY,
                concurrent: int = SCRAPY_DEFAULTS["CONCURRENT_REQUESTS"]) -> float:
        """Wall time of the site's spider: its busiest host one request per `delay` (or per latency/concurrency
        when answers are slower), bounded below by all its requests through `concurrent` slots at `latency`."""
        per_request = max(self.delay, latency / self.concurrency)
        busiest = max((h.requests(articles_per_page) * per_request for h in self.hosts.values()), default=0.0)
        total = sum(h.requests(articles_per_page) for h in self.hosts.values())
        return max(busiest, total * latency / concurrent)


def planned_urls(source: Source, window: Window, today: date) -> list[PlannedUrl]:
    """The first requests of each discovery entry, as SourceSpider.discovery_requests makes them."""
    out: list[PlannedUrl] = []
    for entry in source.discovery:
        if isinstance(entry, (ListDiscovery, JsonDiscovery)):
            paginate = entry.paginate
            note = (f"+ up to {paginate.max_pages - 1} follow-on pages ({paginate.template}) while links are fresh"
                    if paginate else "")
            for url in entry.urls:
                out.append(PlannedUrl(url, entry.type, note, paginate.max_pages - 1 if paginate else 0))
            if isinstance(entry, JsonDiscovery) and entry.from_page:
                template = entry.url_template or "the match"
                out.append(PlannedUrl(entry.from_page, "locator",
                                      f"names its JSON list ({template}), fetched next; " + note if note
                                      else f"names its JSON list ({template}), fetched next"))
        elif isinstance(entry, FeedDiscovery):
            out.extend(PlannedUrl(url, entry.type) for url in entry.urls)
        elif isinstance(entry, EpaperDiscovery):
            days = [d for d in window.days() if d <= today]
            if entry.dates_from:
                for month in dict.fromkeys(f"{d:%Y%m}" for d in days):
                    url = entry.dates_from.format(yyyymm=month, yyyy=month[:4], mm=month[4:])
                    issues = sum(1 for d in days if f"{d:%Y%m}" == month)
                    out.append(PlannedUrl(url, "period", f"then up to {issues} issue pages, one per listed day",
                                          issues))
            else:
                fallback = f" (404: {len(entry.issue_urls) - 1} older template(s))" if len(entry.issue_urls) > 1 else ""
                for day in days:
                    out.append(PlannedUrl(fill_template(entry.issue_urls[0], day), "issue",
                                          "then the day's 版面 pages" + fallback,
                                          PAGES_PER_ISSUE if entry.page_pattern else 0))
    return out


def build_plan(sources: SourcesFile, window: Window, site_names: list[str] | None = None,
               today: date | None = None) -> list[SitePlan]:
    """One SitePlan per site the crawl would run (the enabled ones, or those named)."""
    from crawler.window import today_shanghai

    today = today or today_shanghai()
    selected = [sources.get(name) for name in site_names] if site_names else sources.enabled()
    plans = []
    for source in selected:
        plan = SitePlan(source.name, source.label, source.politeness.concurrency, source.politeness.delay)
        for planned in planned_urls(source, window, today):
            plan.add(planned)
        plans.append(plan)
    return plans


def format_plan(plans: list[SitePlan], window: Window, articles_per_page: int = ARTICLES_PER_PAGE,
                latency: float = LATENCY) -> str:
    """The plan as the operator reads it: site → host → URLs, the politeness, counts and the estimated time."""
    lines = [f"crawl plan for {window} (nothing fetched)", ""]
    for plan in plans:
        lines.append(f"{plan.name} ({plan.label}): {plan.discovery_urls} discovery URLs on {len(plan.hosts)} hosts; "
                     f"per host at most {plan.concurrency} at a time, {plan.delay:g} s apart (±50%), robots.txt "
                     f"obeyed, AutoThrottle on; estimated {_minutes(plan.seconds(articles_per_page, latency))}")
        for host in sorted(plan.hosts.values(), key=lambda h: h.host):
            lines.append(f"  {host.host} ({len(host.urls)})")
            for planned in host.urls:
                lines.append(f"    {planned.what:7} {planned.url}" + (f"  [{planned.note}]" if planned.note else ""))
        lines.append("")
    total_urls = sum(p.discovery_urls for p in plans)
    hosts = {h for p in plans for h in p.hosts}
    wall = max((p.seconds(articles_per_page, latency) for p in plans), default=0.0)
    lines.append(f"total: {len(plans)} sites, {len(hosts)} hosts, {total_urls} discovery URLs (page 1 of each list; "
                 f"follow-on pages only while they hold links newer than the window)")
    lines.append(f"estimated wall time: {_minutes(wall)} (sites run side by side; the slowest sets the time), assuming "
                 f"{articles_per_page} new articles per discovery page and {latency:g} s per answer")
    return "\n".join(lines)


def plan_totals(plans: list[SitePlan], articles_per_page: int = ARTICLES_PER_PAGE,
                latency: float = LATENCY) -> dict:
    """The plan's figures for scripts and tests: sites, hosts, discovery URLs and the estimate in seconds."""
    return {"sites": len(plans), "hosts": len({h for p in plans for h in p.hosts}),
            "discovery_urls": sum(p.discovery_urls for p in plans),
            "seconds": max((p.seconds(articles_per_page, latency) for p in plans), default=0.0),
            "per_site": {p.name: {"hosts": len(p.hosts), "discovery_urls": p.discovery_urls,
                                  "seconds": round(p.seconds(articles_per_page, latency), 1)} for p in plans}}


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
