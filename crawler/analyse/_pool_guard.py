"""Imported only inside the extraction forkserver (a preload module): it dies when the crawl process dies."""
from crawler.analyse.pool import die_with_parent

die_with_parent()
