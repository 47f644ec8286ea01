"""Page → article: decode the bytes, parse, choose the body, read title, author, 来源 and dates (`extract`)."""
from crawler.extract.article import Extracted

__all__ = ["Extracted", "extract"]


def __getattr__(name: str):
    """`extract` imported on first use: the crawl process needs `Extracted` and the sniffing, not the extractor
    (it runs in the extraction workers, which import it when they start)."""
    if name == "extract":
        from crawler.extract.core import extract

        return extract
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
