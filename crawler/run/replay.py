"""Offline replay: a real HTTP server on 127.0.0.1 that serves saved pages at their original URLs.

A replay directory holds MANIFEST.jsonl (`url`, `file`, optional `status`, `headers` and `challenge` per line:
`{"cookie", "file", "status"}` answers the challenge page until the request carries the cookie); a
directory without one is searched for sub-directories that have one. The crawl reaches the server as an HTTP
proxy through ReplayDownloadHandler, so everything else (robots.txt, redirects, retries, decoding,
conditional requests) runs exactly as it does live.
"""
from __future__ import annotations

import email.utils
import json
import mimetypes
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

URL_HEADER = "X-Hiwatch-Url"
_TYPES = {".html": "text/html", ".htm": "text/html", ".shtml": "text/html", ".json": "application/json",
          ".js": "application/javascript", ".xml": "application/xml", ".txt": "text/plain"}


def replay_key(url: str) -> str:
    """Scheme-less lookup key: host (no default port) + path + query."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    return host + path + (("?" + parts.query) if parts.query else "")


@dataclass
class Entry:
    url: str
    file: Path | None
    status: int = 200
    headers: dict = field(default_factory=dict)
    challenge: dict | None = None  # {cookie, file, status}: served instead until the request carries the cookie


def find_manifests(directory: Path) -> list[Path]:
    """MANIFEST.jsonl of the directory, else of every sub-directory that has one (sorted)."""
    own = directory / "MANIFEST.jsonl"
    if own.is_file():
        return [own]
    return sorted(directory.rglob("MANIFEST.jsonl"))


def load_manifest(directories: list[Path | str]) -> dict[str, Entry]:
    """Index every manifest line of the directories by replay key; later lines win over earlier ones."""
    index: dict[str, Entry] = {}
    for directory in map(Path, directories):
        manifests = find_manifests(directory)
        if not manifests:
            raise FileNotFoundError(f"{directory}: no MANIFEST.jsonl here or below")
        for manifest in manifests:
            for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    url = record["url"]
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(f"{manifest}:{number}: needs a JSON object with `url` and `file` ({exc})") from None
                if not url:
                    continue
                file = record.get("file")
                challenge = record.get("challenge")
                if challenge:
                    challenge = {**challenge, "file": manifest.parent / challenge["file"]}
                index[replay_key(url)] = Entry(url=url, file=(manifest.parent / file) if file else None,
                                               status=int(record.get("status") or 200),
                                               headers=dict(record.get("headers") or {}), challenge=challenge)
    return index


class ReplayServer:
    """Serve a replay index on 127.0.0.1 (any port); every request is logged in `requests` (and `log_path`)."""

    def __init__(self, directories: list[Path | str], log_path: Path | str | None = None, port: int = 0):
        self.index = load_manifest(directories)
        self.requests: list[dict] = []
        self.log_path = Path(log_path) if log_path else None
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two sends: without TCP_NODELAY a kept-alive request waits ~40 ms
            # for the client's delayed ACK (Nagle), which would make every replay crawl look slow
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # quiet: the crawl logs what matters
                pass

            def do_GET(self) -> None:  # noqa: N802
                server._serve(self)

            def do_HEAD(self) -> None:  # noqa: N802
                server._serve(self, head=True)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        # stop() waits for the serving loop to notice: poll every 50 ms, not the default 0.5 s
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="replay-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "ReplayServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def requested(self) -> list[str]:
        with self._lock:
            return [r["url"] for r in self.requests]

    def _record(self, url: str, status: int) -> None:
        entry = {"url": url, "status": status, "at": time.time()}
        with self._lock:
            self.requests.append(entry)
            if self.log_path:
                with self.log_path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def _serve(self, handler: BaseHTTPRequestHandler, head: bool = False) -> None:
        url = handler.headers.get(URL_HEADER) or handler.path
        entry = self.index.get(replay_key(url))
        if entry is None:
            body, status, headers = b"not in the replay set\n", 404, {"Content-Type": "text/plain"}
        elif entry.challenge and not self._passes(handler, entry.challenge["cookie"]):
            # a script challenge (瑞数-style 412): the page sets the cookie by script and reloads
            status, headers = int(entry.challenge.get("status") or 412), {"Content-Type": "text/html; charset=utf-8"}
            body = Path(entry.challenge["file"]).read_bytes()
        else:
            status, headers = entry.status, dict(entry.headers)
            body = entry.file.read_bytes() if entry.file and entry.file.is_file() else b""
            if entry.file and not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = _TYPES.get(entry.file.suffix.lower()) or (
                    mimetypes.guess_type(entry.file.name)[0] or "application/octet-stream")
            if status == 200 and self._not_modified(handler, headers, body):
                status, body = 304, b""
        self._record(url, status)
        handler.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                handler.send_header(name, str(value))
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if not head and body:
            handler.wfile.write(body)

    @staticmethod
    def _passes(handler: BaseHTTPRequestHandler, cookie: str) -> bool:
        """True when the request carries the challenge's cookie (any value)."""
        sent = "; ".join(handler.headers.get_all("Cookie") or [])
        return any(part.strip().startswith(cookie + "=") for part in sent.split(";"))

    @staticmethod
    def _not_modified(handler: BaseHTTPRequestHandler, headers: dict, body: bytes) -> bool:
        """Honour If-None-Match / If-Modified-Since against the entry's ETag / Last-Modified headers."""
        lower = {k.lower(): v for k, v in headers.items()}
        if "etag" not in lower and "last-modified" not in lower:
            return False
        inm = handler.headers.get("If-None-Match")
        if inm and "etag" in lower:
            return inm.strip() == str(lower["etag"]).strip()
        ims = handler.headers.get("If-Modified-Since")
        if ims and "last-modified" in lower:
            try:
                return email.utils.parsedate_to_datetime(ims) >= email.utils.parsedate_to_datetime(lower["last-modified"])
            except (TypeError, ValueError):
                return False
        return False


class ReplayDownloadHandler(BaseDownloadHandler):
    """Send every http/https request to the replay server as a plain-HTTP proxy request (a `js: true` source's
    through Chromium, proxied to the same server: replayed browser pages must be http:// URLs).

    The response comes back under the original URL, so the rest of Scrapy cannot tell replay from live.
    """

    lazy = False

    def __init__(self, crawler):
        super().__init__(crawler)
        self.proxy = crawler.settings.get("HIWATCH_REPLAY")
        if not self.proxy:
            raise ValueError("ReplayDownloadHandler needs the HIWATCH_REPLAY setting (the replay server URL)")
        self.inner = HTTP11DownloadHandler.from_crawler(crawler)
        # every host's requests go to the one replay server, so they share one pool key: keep as many idle
        # connections as requests may run at once (Scrapy's per-host cap would close and reopen them)
        # a `js: true` source's pages go to Chromium (scrapy-playwright), which reaches this server as its HTTP proxy
        # (crawler.run.crawl sets PLAYWRIGHT_LAUNCH_OPTIONS["proxy"]): only such a spider starts a browser
        self.browser = None
        if crawler.settings.getbool("HIWATCH_BROWSER"):
            from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

            self.browser = ScrapyPlaywrightDownloadHandler.from_crawler(crawler)
        pool = getattr(self.inner, "_pool", None)  # Scrapy's own attribute: without it, only speed is lost
        if pool is not None:
            pool.maxPersistentPerHost = max(pool.maxPersistentPerHost, crawler.settings.getint("CONCURRENT_REQUESTS"))

    async def download_request(self, request):
        if self.browser is not None and request.meta.get("playwright"):
            return await self.browser.download_request(request)
        plain_url = "http://" + request.url.split("://", 1)[1]
        proxied = request.replace(url=plain_url, meta={**request.meta, "proxy": self.proxy})
        proxied.headers[URL_HEADER] = request.url
        response = await self.inner.download_request(proxied)
        return response.replace(url=request.url, request=request)

    async def close(self) -> None:
        await self.inner.close()
        if self.browser is not None:
            await self.browser.close()
