"""Per-article work that needs no database: done in the extraction worker, so the store only writes."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from isal import igzip

from crawler.extract.article import Extracted

if TYPE_CHECKING:  # the store imports gzip_page from here: it must not pull in the extractor
    from crawler.config import Rules

_LEXICON = None
# Raw pages are kept for `hiwatch reextract`, gzipped by ISA-L (python-isal), whose output any gzip reader reads.
# Its level 2 against zlib's level 3 (the level used before): 73 vs 289 µs for a generated 56 KB page, 214 vs
# 1,066 µs for the real pages' mean, for 2 % and 5 % more bytes (bench/extract_cost.py --gzip; docs/benchmarks.md).
GZIP_LEVEL = 2


def gzip_page(body: bytes) -> bytes:
    """A raw page as stored in raw_pages.html_gz."""
    return igzip.compress(body, GZIP_LEVEL)


def gunzip_page(data: bytes) -> bytes:
    """A stored raw page's bytes (any gzip member, whichever compressor wrote it)."""
    return igzip.decompress(data)


@dataclass
class Prepared:
    """What the store pipeline writes beside the extracted fields: score, signatures, compressed pages."""

    relevance: float
    relevance_terms: list[str]
    relevant: bool
    relevance_lexicon: str
    content_hash: str
    minhash: bytes
    pages_gz: list[bytes]
    band_keys: list[int]  # the signature's LSH band keys (minhash.band_keys): hashed here, not in the crawl process


def prepare(extracted: Extracted, bodies: Sequence[bytes], lexicon=None) -> Prepared:
    """Relevance score, text hash, MinHash signature and gzip of the raw pages: pure functions of the page."""
    global _LEXICON
    from crawler.analyse.minhash import band_keys, fingerprints
    from crawler.analyse.relevance import load_lexicon, score

    if lexicon is None:
        _LEXICON = _LEXICON or load_lexicon()  # once per worker process
        lexicon = _LEXICON
    relevance = score(extracted.title, extracted.body, lexicon)
    text_hash, minhash = fingerprints(extracted.title, extracted.body)
    return Prepared(relevance.score, relevance.terms, relevance.relevant, lexicon.fingerprint, text_hash, minhash,
                    [gzip_page(body) for body in bodies], band_keys(minhash))


def extract_and_prepare(page: bytes, url: str, rules: Rules | None, content_type: str | None,
                        more_pages: Sequence[tuple[bytes, str]] = (),
                        now: datetime | None = None) -> tuple[Extracted, Prepared | None]:
    """The extraction worker's job: extract, then prepare (nothing to prepare for a blocked page)."""
    from crawler.extract.core import extract  # imported when the worker started (pool.start_worker)

    extracted = extract(page, url, rules, content_type, now=now, more_pages=more_pages)
    if extracted.blocked:
        return extracted, None
    return extracted, prepare(extracted, [page, *(body for body, _ in more_pages)])
