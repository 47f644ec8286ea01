"""Bytes to text, once: strict UTF-8 first, then the declared charset upgraded (gb2312/gbk → gb18030)."""
from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]+)", re.I)
# Labels that under-promise: pages labelled so routinely hold characters of the wider set (喆, 镕 under gb2312).
_UPGRADE = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030", "cp936": "gb18030",
            "euc-cn": "gb18030", "hz-gb-2312": "gb18030", "big5": "big5hkscs", "iso-8859-1": "cp1252",
            "latin-1": "cp1252", "ascii": "cp1252", "us-ascii": "cp1252"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def normalise_label(label: str | None) -> str | None:
    """A Python codec name for a declared charset, upgraded to its superset; None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _UPGRADE.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def declared_charset(body: bytes, content_type: str | None = None) -> str | None:
    """The charset the HTTP header declares, else the first <meta> charset in the first 4 KB."""
    if content_type:
        match = _HEADER_CHARSET.search(content_type)
        if match:
            return match.group(1)
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii", "ignore") if match else None


def decode(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Return (text, codec used). Never raises; a replacement character appears only if no codec fits."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace"), codec
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    declared = normalise_label(declared_charset(body, content_type))
    candidates = [c for c in (declared, "gb18030", "big5hkscs") if c]
    for codec in dict.fromkeys(candidates):
        try:
            return body.decode(codec), codec
        except UnicodeDecodeError:
            continue
    # Damaged bytes: keep the most that the best guess can read, marking the rest.
    codec = declared or "gb18030"
    utf8_text = body.decode("utf-8", errors="replace")
    guess_text = body.decode(codec, errors="replace")
    if utf8_text.count("\ufffd") <= guess_text.count("\ufffd"):
        return utf8_text, "utf-8"
    return guess_text, codec
