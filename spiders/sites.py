"""One spider class per site of config/sources.yaml (or $HIWATCH_SOURCES), so `scrapy list` and `scrapy crawl <site>` work."""
from spiders.source import all_spiders

for _name, _spider in all_spiders().items():
    globals()[_spider.__name__] = _spider
