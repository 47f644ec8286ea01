"""A fault-injecting HTTP server for crawl tests, speaking the replay proxy protocol of crawler/run/replay.py.

The crawl's ReplayDownloadHandler sends every request to the HIWATCH_REPLAY URL as an absolute-URI proxy
request carrying `X-Hiwatch-Url: <original url>`. This server answers such requests from a table of
*behaviours* keyed by the original URL (scheme-less, see crawler.run.replay.replay_key): a static page, a status
sequence, a sleep past the download timeout, a reset connection, a truncated body, a redirect, a 20 MB body …
Every request is logged (URL, time, headers) so a test can check what was — and was not — requested.

`crawl(...)` runs one crawl in a fresh subprocess through crawler.run.crawl.run_crawl with this server as the
replay proxy and any extra Scrapy settings (a short DOWNLOAD_TIMEOUT, say).
"""
from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from crawler.run.replay import URL_HEADER, replay_key

REPO = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------------------------------------ pages

ARTICLE = """<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}--健康·生活--人民网</title>
<meta name="publishdate" content="{day}"></head><body>
<div class="rm_txt cf"><div class="col col-1 fl"><h1>{title}</h1>
<div class="channel cf"><div class="col-1-1 fl">{when} | 来源：<a href="http://www.people.com.cn/">人民网－人民日报</a></div></div>
<div class="rm_txt_con cf" id="rm_txt_zw">
<p>　　记者胡喆报道：互联网医院和电子病历共享让患者少跑腿，医检互认平台已接入全市医疗机构。</p>
<p>　　记者在现场看到，医生调阅外院影像只需几秒钟，数字化改革提高了诊疗效率，也减轻了群众负担。</p>
<p>　　下一步，当地将继续推进全民健康信息平台建设，让数据多跑路、群众少跑腿。</p>
<div class="edit cf">(责编：张三、李四)</div></div></div></div></body></html>"""

LIST = """<html><head><meta charset="utf-8"><title>健康·生活--人民网</title></head><body>
<div class="p2j_list"><ul>{items}</ul></div></body></html>"""

# people.com.cn's WAF answers 403 with a page that shows this image.
WAF_403 = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>403</title></head><body>
<div style="text-align:center"><img src="https://blocksrc.haplat.net/_bot_sbu/sbu-pic.gif" alt="">
<p>您的访问可能对网站造成威胁，已被拦截。</p></div></body></html>"""

# A JavaScript challenge served with status 200: sets a cookie and reloads, no article at all.
CHALLENGE_200 = """<html><head><meta charset="utf-8"></head><body><script>
var arg1='3F6B0D2C0A1C9E0F7C1B2A4D6E8F0A1B2C3D4E5F';
function setCookie(n,v){var e=new Date();e.setTime(e.getTime()+3600*1000);
document.cookie=n+'='+v+';expires='+e.toGMTString()+';path=/';}
function reload(x){setCookie('acw_sc__v2',x);document.location.reload();}
</script><noscript>请开启JavaScript并刷新该页。</noscript></body></html>"""


def article_html(title: str, day: str = "2025-09-01", clock: str = "09:12", charset: str = "utf-8") -> str:
    """A people.com.cn (current template) article page; `day` YYYY-MM-DD, `clock` HH:MM Asia/Shanghai."""
    y, m, d = day.split("-")
    return ARTICLE.format(charset=charset, title=title, day=day, when=f"{y}年{m}月{d}日{clock}")


def list_html(urls: list[str]) -> str:
    items = "".join(f'<li><a href="{u}" target="_blank">文章{i}</a></li>' for i, u in enumerate(urls, 1))
    return LIST.format(items=items)


# ------------------------------------------------------------------------------------------------ behaviours


@dataclass
class Call:
    """One request as the behaviour sees it: which URL, the how-many-th for that URL (1-based), when."""

    server: "FaultServer"
    handler: BaseHTTPRequestHandler
    url: str
    attempt: int
    first_at: float  # time of the first request for this URL

    def send(self, status: int, body: bytes = b"", headers: dict | None = None, length: int | None = None) -> None:
        h = self.handler
        h.send_response(status)
        headers = {"Content-Type": "text/html; charset=utf-8", **(headers or {})}
        for name, value in headers.items():
            h.send_header(name, str(value))
        h.send_header("Content-Length", str(len(body) if length is None else length))
        h.end_headers()
        if body and h.command != "HEAD":
            h.wfile.write(body)
            h.wfile.flush()

    def drop(self, reset: bool = True) -> None:
        """Close the connection without an answer; with `reset` the peer sees a TCP RST."""
        h = self.handler
        h.close_connection = True
        try:
            h.wfile.flush()
        except OSError:
            pass
        if reset:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            h.connection.shutdown(socket.SHUT_RDWR) if not reset else None
        except OSError:
            pass
        h.connection.close()
        raise _Dropped()


class _Dropped(Exception):
    """Raised after a behaviour closed the connection itself (caught by the handler, silently)."""


Behaviour = Callable[[Call], None]


def page(body: str | bytes, status: int = 200, headers: dict | None = None,
         content_type: str = "text/html; charset=utf-8") -> Behaviour:
    data = body.encode("utf-8") if isinstance(body, str) else body

    def behave(call: Call) -> None:
        call.send(status, data, {"Content-Type": content_type, **(headers or {})})
    return behave


def sequence(*steps: Behaviour) -> Behaviour:
    """The n-th request gets the n-th behaviour; the last one repeats."""
    def behave(call: Call) -> None:
        steps[min(call.attempt, len(steps)) - 1](call)
    return behave


def status(code: int, body: str = "", headers: dict | None = None) -> Behaviour:
    return page(body or f"<html><body><h1>{code}</h1></body></html>", code, headers)


def sleep(seconds: float, then: Behaviour) -> Behaviour:
    def behave(call: Call) -> None:
        time.sleep(seconds)
        then(call)
    return behave


def reset() -> Behaviour:
    def behave(call: Call) -> None:
        call.drop(reset=True)
    return behave


def truncated(body: str | bytes, missing: int = 5000) -> Behaviour:
    """Declare Content-Length `missing` bytes longer than what is sent, then close the connection."""
    data = body.encode("utf-8") if isinstance(body, str) else body

    def behave(call: Call) -> None:
        call.send(200, data, length=len(data) + missing)
        call.drop(reset=False)
    return behave


def redirect(to: str, code: int = 302) -> Behaviour:
    def behave(call: Call) -> None:
        call.send(code, b"", {"Location": to})
    return behave


def big(size: int, chunked: bool = False) -> Behaviour:
    """A `size`-byte HTML page, with Content-Length or chunked (no length announced), streamed in 64 KB blocks."""
    block = ("<p>" + "医疗信息化" * 2000 + "</p>\n").encode("utf-8")[:65536]

    def behave(call: Call) -> None:
        h = call.handler
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Content-Length", str(size))
        h.end_headers()
        sent = 0
        try:
            while sent < size:
                chunk = block[: min(len(block), size - sent)]
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                sent += len(chunk)
            if chunked:
                h.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client gave up (DOWNLOAD_MAXSIZE): that is the point
            h.close_connection = True
    return behave


def retry_after(seconds: int, then: Behaviour) -> Behaviour:
    """429 with `Retry-After: seconds` to every request made less than `seconds` after the first one."""
    def behave(call: Call) -> None:
        if time.monotonic() - call.first_at < seconds:
            call.send(429, b"<html><body>Too Many Requests</body></html>", {"Retry-After": seconds})
        else:
            then(call)
    return behave


def callback(fn: Callable[[Call], None], then: Behaviour) -> Behaviour:
    """Run `fn(call)` (a side effect: stop a database, say), then behave as `then`."""
    def behave(call: Call) -> None:
        fn(call)
        then(call)
    return behave


# ------------------------------------------------------------------------------------------------ server


@dataclass
class Logged:
    url: str
    method: str
    at: float
    headers: dict = field(default_factory=dict)


class FaultServer:
    """Answer proxy requests on 127.0.0.1 from `routes` (original URL → behaviour); anything else is a 404."""

    def __init__(self, routes: dict[str, Behaviour] | None = None):
        self.routes: dict[str, Behaviour] = {}
        for url, behaviour in (routes or {}).items():
            self.add(url, behaviour)
        self.log: list[Logged] = []
        self._counts: dict[str, int] = defaultdict(int)
        self._first: dict[str, float] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each kept-alive response waits ~40 ms for a delayed ACK

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server._serve(self)

            def do_HEAD(self) -> None:  # noqa: N802
                server._serve(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:  # broken pipes after resets: expected
                pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="fault-server", daemon=True)

    def add(self, url: str, behaviour: Behaviour) -> None:
        self.routes[replay_key(url)] = behaviour

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FaultServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "FaultServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def requested(self) -> list[str]:
        with self._lock:
            return [entry.url for entry in self.log]

    def count(self, url: str) -> int:
        key = replay_key(url)
        with self._lock:
            return sum(1 for entry in self.log if replay_key(entry.url) == key)

    def times(self, url: str) -> list[float]:
        key = replay_key(url)
        with self._lock:
            return [entry.at for entry in self.log if replay_key(entry.url) == key]

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        url = handler.headers.get(URL_HEADER) or handler.path
        key = replay_key(url)
        now = time.monotonic()
        with self._lock:
            self._counts[key] += 1
            self._first.setdefault(key, now)
            attempt, first = self._counts[key], self._first[key]
            self.log.append(Logged(url, handler.command, now, dict(handler.headers.items())))
        behaviour = (self.routes.get(key) or self.routes.get(key.split("?", 1)[0])  # a route covers its queries
                     or status(404, "not in the fault table"))
        try:
            behaviour(Call(self, handler, url, attempt, first))
        except _Dropped:
            pass
        except OSError:
            handler.close_connection = True


# ------------------------------------------------------------------------------------------------ crawling

_CRAWL = """
import json, sys
from crawler.config import load_sources
from crawler.run.crawl import run_crawl
from crawler.db import connect
from crawler.window import Window
args = json.loads(sys.argv[1])
database = connect(args["db"])
extra = {"HIWATCH_REPLAY": args["proxy"],
         "DOWNLOAD_HANDLERS": {"http": "crawler.run.replay.ReplayDownloadHandler",
                               "https": "crawler.run.replay.ReplayDownloadHandler"}, **args["extra"]}
result = run_crawl(database, load_sources(args["sources"]), Window.resolve(args["week"], None, None, crawl=True),
                   polite=False, sources_file=args["sources"], log_level=args["log_level"], extra_settings=extra)
print(json.dumps({"run_id": result.run_id, "status": result.status,
                  "counts": {k: dict(v) for k, v in result.per_source.items()}}))
"""


def crawl(db_url: str, sources_file: Path | str, proxy_url: str, week: str = "2025-09-05",
          extra: dict | None = None, timeout: float = 150, log_level: str = "WARNING") -> subprocess.CompletedProcess:
    """One crawl in a fresh process (Scrapy's reactor runs once per process) through `proxy_url`."""
    args = {"db": db_url, "sources": str(sources_file), "proxy": proxy_url, "week": week, "extra": extra or {},
            "log_level": log_level}
    env = {**os.environ, "HIWATCH_SOURCES": str(sources_file)}  # Scrapy's spider loader reads this file too
    return subprocess.run([sys.executable, "-c", _CRAWL, json.dumps(args)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=env)


def result_of(process: subprocess.CompletedProcess) -> dict | None:
    """The JSON summary line the crawl printed last, if it got that far."""
    for line in reversed(process.stdout.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None
