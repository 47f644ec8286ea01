"""Page → article: decode the bytes, parse, choose the body, read title, author, 来源 and dates (`extract`)."""
from crawler.extract.article import Extracted
from crawler.extract.core import extract

__all__ = ["Extracted", "extract"]
