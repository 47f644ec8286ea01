"""Recognise bytes that are not a web page at all (images, PDFs, archives) whatever the server calls them."""
from __future__ import annotations

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF87a", "GIF image"),
          (b"GIF89a", "GIF image"), (b"%PDF-", "PDF document"), (b"PK\x03\x04", "ZIP archive"),
          (b"\x1f\x8b", "gzip data"), (b"RIFF", "RIFF media"), (b"\x00\x00\x00", "binary data"),
          (b"BM", None), (b"\xd0\xcf\x11\xe0", "MS Office document"), (b"7z\xbc\xaf", "7z archive"))


def binary_kind(body: bytes) -> str | None:
    """A name for the binary format of `body`, or None when it may be text (HTML, JSON, XML …)."""
    head = body[:16]
    for magic, name in _MAGIC:
        if name and head.startswith(magic):
            return name
    sample = body[:4096]
    if sample.count(b"\x00") > 8:  # text in any encoding we decode has no NUL bytes
        return "binary data"
    return None
