"""Record a crawl as a replay set: a downloader middleware writes every response the crawl receives — list
pages, JSON, feeds, e-paper pages, articles, robots.txt, redirects and errors — with its status and headers, into
a folder `hiwatch crawl --replay` serves (MANIFEST.jsonl + one file per URL, crawler/run/replay.py)."""
from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from pathlib import Path
from urllib.parse import urlsplit

from crawler.run.replay import replay_key

# Next to the downloader: it sees each answer as the server sent it, before redirects, retries and the
# decompression middleware act on it (Scrapy's RedirectMiddleware is 600, HttpCompressionMiddleware 590), and
# after crawler.browser.BrowserStatusMiddleware (950) has given a browser page its final document's status.
PRIORITY = 940
NOT_KEPT = {"content-length", "transfer-encoding", "connection", "keep-alive", "date", "set-cookie"}

_NAMES: dict[Path, dict[str, str]] = {}  # per folder: file name → the replay key it holds (all crawlers share it)


def record_settings(directory: str | Path) -> dict:
    """Scrapy settings for a recorded crawl: the middleware and its folder (created here)."""
    folder = Path(directory).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    from crawler import settings as base  # a setting given here replaces the project's dict: keep its middlewares

    return {"HIWATCH_RECORD": str(folder),
            "DOWNLOADER_MIDDLEWARES": {**base.DOWNLOADER_MIDDLEWARES, "crawler.run.record.RecordMiddleware": PRIORITY}}


def file_name(url: str) -> str:
    """A readable relative path for a URL (host/path, the query folded in); a name another URL already holds
    gets a hash of the URL appended."""
    parts = urlsplit(url)
    path = parts.path.lstrip("/") or "index.html"
    if path.endswith("/"):
        path += "index.html"
    if parts.query:
        path += "__" + hashlib.sha1(parts.query.encode("utf-8")).hexdigest()[:10]
    safe = "/".join(part for part in path.split("/") if part not in ("", ".", ".."))
    return f"{(parts.hostname or 'unknown').lower()}/{safe or 'index.html'}"


def decoded_body(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The body as a reader sees it: gzip / deflate undone (and Content-Encoding dropped); other encodings kept."""
    encoding = next((v for k, v in headers.items() if k.lower() == "content-encoding"), "").strip().lower()
    try:
        if encoding in ("gzip", "x-gzip"):
            body = gzip.decompress(body)
        elif encoding == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = zlib.decompress(body, -zlib.MAX_WBITS)
        else:
            return body, headers
    except (OSError, zlib.error, EOFError):
        return body, headers  # not what it claims: kept as received, header and all
    return body, {k: v for k, v in headers.items() if k.lower() != "content-encoding"}


class Recorder:
    """Write responses into one replay folder: the file, then its MANIFEST.jsonl line (later lines win)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.manifest = self.directory / "MANIFEST.jsonl"
        self.names = _NAMES.setdefault(self.directory.resolve(), self._existing())

    def _existing(self) -> dict[str, str]:
        names: dict[str, str] = {}
        if self.manifest.is_file():
            for line in self.manifest.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    if record.get("file"):
                        names[record["file"]] = replay_key(record["url"])
        return names

    def _name_for(self, url: str) -> str:
        key, name = replay_key(url), file_name(url)
        if self.names.get(name, key) != key:
            stem, dot, ext = name.rpartition(".")
            digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
            name = f"{stem}__{digest}.{ext}" if dot and "/" not in ext else f"{name}__{digest}"
        self.names[name] = key
        return name

    def write(self, url: str, status: int, headers: dict[str, str], body: bytes) -> str:
        body, headers = decoded_body(body, headers)
        name = self._name_for(url)
        path = self.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        kept = {k: v for k, v in headers.items() if k.lower() not in NOT_KEPT}
        record = {"url": url, "file": name, "status": status, "headers": kept}
        with self.manifest.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return name


class RecordMiddleware:
    """Downloader middleware: every response received is written to HIWATCH_RECORD as a replay set."""

    def __init__(self, directory: str):
        self.recorder = Recorder(directory)

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy.exceptions import NotConfigured

        directory = crawler.settings.get("HIWATCH_RECORD")
        if not directory:
            raise NotConfigured
        return cls(directory)

    def process_response(self, request, response):
        headers = {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}
        self.recorder.write(response.url, response.status, headers, response.body)
        return response
