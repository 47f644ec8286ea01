"""Scrapy settings for hiwatch: polite by default; each site's record in sources.yaml can tighten or relax them."""

BOT_NAME = "hiwatch"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# Identify ourselves; sources.yaml `user_agent` replaces this at crawl time.
USER_AGENT = "hiwatch/0.1 (+weekly health-informatization digest crawler)"
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9",
}

# Politeness: obey robots.txt, at most 2 requests at a time per host, at least 1 s apart, and let
# AutoThrottle slow down further when a server answers slowly. A site's `politeness:` overrides these.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # ±50% around DOWNLOAD_DELAY
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Failures: retry transient errors a few times; 403/405 mean "blocked" and are never retried.
RETRY_ENABLED = True
DOWNLOADER_MIDDLEWARES = {  # RetryMiddleware replaced by one that honours Retry-After (429/503)
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
    "crawler.middlewares.BlockedHostBackoffMiddleware": 50,
    "crawler.middlewares.ConditionalDiscoveryMiddleware": 560,  # ETag / Last-Modified for list pages
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,  # replaced: it decoded every whole page
    "crawler.middlewares.HeadMetaRefreshMiddleware": 580,
    "crawler.browser.BrowserStatusMiddleware": 950,  # a js: true page's status is the final document's
}
HIWATCH_RETRY_AFTER_MAX = 120  # seconds; a server asking for longer is recorded, not waited for
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_TIMEOUT = 30
# The largest page hiwatch accepts (8 MB; a news page is < 1 MB): one number for the crawl, add, extract and import.
from crawler.extract.sniff import MAX_PAGE_BYTES as DOWNLOAD_MAXSIZE, WARN_PAGE_BYTES as DOWNLOAD_WARNSIZE  # noqa: E402
REDIRECT_MAX_TIMES = 5

# Items processed at once *per response*. Only an article page yields an item, and only one; Scrapy starts this
# many asyncio tasks for every response (list pages too), so 1 costs nothing and saves ~15 tasks per request.
CONCURRENT_ITEMS = 1
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.window.WindowPipeline": 200,
    "pipelines.store.StorePipeline": 300,
}

SPIDER_MIDDLEWARES = {"crawler.middlewares.KnownArticlesMiddleware": 650}  # stored articles are not fetched again

# The run ledger (counts and failed URLs, written to the database) and the terminal's progress line.
EXTENSIONS = {"crawler.extensions.RunLedger": 100, "crawler.extensions.Progress": 500}
HIWATCH_PROGRESS = True  # a progress line on stderr when it is a terminal

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
LOG_FORMATTER = "crawler.logformatter.ShortItemLogFormatter"  # a dropped item is logged by URL and reason only
FEED_EXPORT_ENCODING = "utf-8"

# scrapy-playwright is wired per request (`js: true` sources only: spiders/source.py sets the download handlers and
# HIWATCH_BROWSER for them, and a replay crawl sends their pages through crawler.run.replay); Chromium comes from Debian.
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {"executable_path": "/usr/bin/chromium", "headless": True,
                             "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]}

# hiwatch's own settings (set by `hiwatch crawl`; defaults for `scrapy crawl <site>`):
HIWATCH_DATABASE_URL = None  # None: HIWATCH_DATABASE_URL from the environment, else var/hiwatch.sqlite3
HIWATCH_SOURCES = None  # None: config/sources.yaml
HIWATCH_RUN_ID = None  # the run ledger row; `scrapy crawl` makes its own
HIWATCH_BROWSER = False  # True for the spider of a `js: true` source (set by spiders.source.spider_for)
HIWATCH_REPLAY = None  # replay server URL: http/https go through crawler.run.replay.ReplayDownloadHandler
HIWATCH_EXTRACT_WORKERS = None  # process-pool size for extraction; None: one per CPU
# the extraction workers' priority above the crawl's own (os.nice; 0-19): 19, the lowest, so the crawl process
# wins a core whenever it wakes (crawler.analyse.pool.NICE); lower it only if nothing else shares the machine
HIWATCH_WORKER_NICE = 19
HIWATCH_BLOCKED_BACKOFF = 3  # after this many blocked answers from a source, stop requesting its articles
