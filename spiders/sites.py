"""One spider class per site of config/sources.yaml (or $HIWATCH_SOURCES), so `scrapy list` and `scrapy crawl <site>` work."""
from spiders.source import all_spiders

globals().update({spider.__name__: spider for spider in all_spiders().values()})
