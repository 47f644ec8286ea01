"""Recognise bytes that are not a web page at all (images, PDFs, archives, executables) whatever the server calls
them, and pages too large to be an article: `refusal()` is the one check every path into `extract()` meets."""
from __future__ import annotations

# The largest page hiwatch accepts, in bytes: a news page is < 1 MB. Scrapy's DOWNLOAD_MAXSIZE (crawler/settings.py),
# `hiwatch add` / the review page's fetch, `hiwatch extract` and `articles import` all use this number.
MAX_PAGE_BYTES = 8 * 1024 * 1024
WARN_PAGE_BYTES = 2 * 1024 * 1024

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF87a", "GIF image"),
          (b"GIF89a", "GIF image"), (b"%PDF-", "PDF document"), (b"PK\x03\x04", "ZIP archive"),
          (b"\x1f\x8b", "gzip data"), (b"RIFF", "RIFF media"), (b"\x00\x00\x00", "binary data"),
          (b"BM", None), (b"\xd0\xcf\x11\xe0", "MS Office document"), (b"7z\xbc\xaf", "7z archive"),
          (b"\x7fELF", "ELF executable"), (b"MZ", None), (b"\xca\xfe\xba\xbe", "Mach-O / Java class"),
          (b"\x00asm", "WebAssembly"), (b"OggS", "Ogg media"), (b"fLaC", "FLAC audio"), (b"ID3", "MP3 audio"))
# C0 control characters other than tab, newline, form feed and carriage return (and DEL): text never holds many.
# Counted as bytes of the UTF-8 form (each is one byte there, and no other character has such a byte): 3× faster
# than a regular expression over the characters.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0b, *range(0x0e, 0x20), 0x7f])


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


def binary_text(text: str) -> str | None:
    """'binary data' when decoded `text` is really binary bytes (control characters, mostly undecodable), else None.

    Catches what has no magic number: a slice of an executable, an image without its header. One stray control
    character in a real page is tolerated."""
    sample = text[:65536]
    if not sample:
        return None
    utf8 = sample.encode("utf-8", "surrogatepass")
    if len(utf8) - len(utf8.translate(None, _CONTROL_BYTES)) > max(8, len(sample) // 500):
        return "binary data (control characters)"
    if sample.count("\ufffd") > max(64, len(sample) // 10):
        return "binary data (mostly undecodable bytes)"
    return None


def refusal(body: bytes | str) -> str | None:
    """Why `body` is not a page hiwatch extracts (too large, binary), or None when it may be an article page.

    Bytes are judged by size and magic number before decoding (cheap: a 20 MB image is never parsed); text (decoded
    or handed over as text) by size and its control characters."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        size = len(body)
    else:  # characters → UTF-8 bytes: count exactly only when it could matter
        size = len(body) if len(body) * 4 <= MAX_PAGE_BYTES else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_PAGE_BYTES:
        return f"too large: more than {MAX_PAGE_BYTES // 2**20} MB, the limit of a page"
    kind = binary_kind(bytes(body)) if isinstance(body, (bytes, bytearray, memoryview)) else binary_text(body)
    return not_text(kind) if kind else None


def not_text(kind: str) -> str:
    """The refusal reason for binary content of `kind`."""
    return f"not text: the content is binary ({kind}), not an article page"
