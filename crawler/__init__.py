"""hiwatch: the crawler core, importable without Scrapy running."""
__version__ = "0.1.0"
