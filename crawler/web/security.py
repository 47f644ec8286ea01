"""Access control for the review page: token login, CSRF tokens, Host check, response headers.

- No token (bound to localhost): every request must name a loopback Host (127.0.0.1, localhost, [::1]), so a
  web page elsewhere cannot reach the app through DNS rebinding.
- With a token (required when bound to anything but localhost): a request is let in when its session cookie was
  set by the login form, or when it carries `Authorization: Bearer TOKEN` / `X-Hiwatch-Token: TOKEN`.
- A wrong token, however it arrives (login form, `Authorization: Bearer`, `X-Hiwatch-Token`), costs half a
  second, and failed attempts are served one at a time across all clients (at most two guesses a second in all);
  a client with ten failures in ten minutes gets 429 without its token being looked at until the window passes.
- Every POST made with the session cookie carries the session's CSRF token (form field `csrf_token` or header
  `X-CSRF-Token`); a request authenticated by the token header needs none (browsers never add it cross-site).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections import deque

from flask import Flask, abort, g, make_response, redirect, render_template, request, session, url_for

CSRF_FIELD = "csrf_token"
OPEN_ENDPOINTS = {"login", "static"}
FAILED_LOGIN_DELAY = 0.5  # seconds a wrong token costs, served one at a time across all clients
CLIENT_FAILURES = 10  # failed attempts one client may make within CLIENT_WINDOW before it is refused (429)
CLIENT_WINDOW = 600.0  # seconds
LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; False for 0.0.0.0, :: and every other address or name."""
    name = (host or "").strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """'127.0.0.1:8765' → '127.0.0.1', '[::1]:80' → '::1', 'localhost' → 'localhost'."""
    host = host_header or ""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class TokenThrottle:
    """Failed token attempts: each costs `delay` seconds under one lock (parallel guesses queue up, whichever
    client sends them), and a client with `limit` failures within `window` seconds is refused outright."""

    def __init__(self, delay: float = FAILED_LOGIN_DELAY, limit: int = CLIENT_FAILURES,
                 window: float = CLIENT_WINDOW) -> None:
        self.delay, self.limit, self.window = delay, limit, window
        self._serial = threading.Lock()
        self._book = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def retry_after(self, client: str) -> int:
        """Seconds until `client` may try a token again (0: now)."""
        now = time.monotonic()
        with self._book:
            times = self._recent(client, now)
            if len(times) < self.limit:
                return 0
            return max(1, int(times[-self.limit] + self.window - now + 0.999))

    def failed(self, client: str, delay: float | None = None) -> None:
        """Record a failed attempt and make the caller wait its turn plus `delay` seconds (default self.delay)."""
        with self._book:
            self._recent(client, time.monotonic()).append(time.monotonic())
            if len(self._failures) > 10_000:  # forget clients whose window has passed
                for name in [n for n, t in self._failures.items() if not t]:
                    del self._failures[name]
        with self._serial:
            time.sleep(self.delay if delay is None else delay)


def usable_token(token: str | None) -> str | None:
    """The configured token, None when there is none; a blank or whitespace-only one is refused (ValueError)."""
    if token is None or token == "":
        return None
    if not token.strip():
        raise ValueError("the access token is blank (only whitespace): choose a real one")
    if token != token.strip():
        raise ValueError("the access token starts or ends with whitespace: remove it (headers and forms trim it)")
    return token


def csrf_token() -> str:
    token = session.get(CSRF_FIELD)
    if not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def _token_fingerprint(token: str) -> str:
    return hashlib.sha256(("hiwatch-web:" + token).encode("utf-8")).hexdigest()[:32]


def check_token(app: Flask, offered: str | None) -> bool:
    expected = app.config["HIWATCH_TOKEN"]
    return bool(expected and offered) and hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))


def _header_token() -> str | None:
    """The token offered in a header (None when no header offers one)."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    offered = request.headers.get("X-Hiwatch-Token")
    return None if offered is None else offered.strip()


def _client() -> str:
    return request.remote_addr or "?"


def _refuse_if_throttled(app: Flask) -> None:
    """429 with Retry-After for a client that has used up its failed attempts (its token is not looked at)."""
    wait = app.extensions["hiwatch_throttle"].retry_after(_client())
    if wait:
        response = make_response(f"too many wrong access tokens from this address: try again in {wait} s\n", 429)
        response.headers["Retry-After"] = str(wait)
        response.mimetype = "text/plain"
        abort(response)


def _failed(app: Flask) -> None:
    app.extensions["hiwatch_throttle"].failed(_client(), app.config.get("HIWATCH_FAILED_TOKEN_DELAY"))


def logged_in(app: Flask) -> bool:
    token = app.config["HIWATCH_TOKEN"]
    return bool(token) and hmac.compare_digest(session.get("auth", ""), _token_fingerprint(token))


def log_in(app: Flask) -> None:
    session.clear()
    session["auth"] = _token_fingerprint(app.config["HIWATCH_TOKEN"])
    csrf_token()


def install(app: Flask) -> None:
    """Register the checks (before every request) and the response headers (after)."""

    app.config["HIWATCH_TOKEN"] = usable_token(app.config.get("HIWATCH_TOKEN"))
    app.extensions["hiwatch_throttle"] = TokenThrottle()  # config HIWATCH_FAILED_TOKEN_DELAY overrides the delay

    @app.before_request
    def _guard():
        token = app.config["HIWATCH_TOKEN"]
        if not token and not is_loopback(_host_name(request.host)):
            abort(400, description=f"不接受的主机名（unexpected Host）{request.host}：审阅页面只响应 "
                                   "127.0.0.1、localhost 或 [::1]")
        offered = _header_token() if token else None
        by_header = False
        if offered is not None:
            _refuse_if_throttled(app)
            by_header = check_token(app, offered)
            if not by_header:
                _failed(app)  # a wrong header token costs as much as a wrong login
        if token and not by_header and not logged_in(app) and request.endpoint not in OPEN_ENDPOINTS:
            if request.method == "GET":
                return redirect(url_for("login", next=request.full_path.rstrip("?")))
            abort(401, description="请先登录（需要访问令牌）")
        g.authorized = not token or by_header or logged_in(app)
        if request.method == "POST" and not by_header:
            offered = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
            expected = session.get(CSRF_FIELD) or ""
            if not expected or not hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8")):
                abort(400, description="表单的安全令牌缺失或已过期：请刷新页面后重新提交")
        return None

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")
        if request.method == "GET" and response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if not app.config["HIWATCH_TOKEN"]:
            return redirect(url_for("index"))
        target = request.values.get("next") or url_for("index")
        if not target.startswith("/") or target[1:2] in ("/", "\\"):  # neither //host nor /\host: stay here
            target = url_for("index")
        error = None
        if request.method == "POST":
            _refuse_if_throttled(app)
            if check_token(app, (request.form.get("token") or "").strip()):
                log_in(app)
                return redirect(target)
            _failed(app)  # guessing costs time, one guess at a time
            error = "访问令牌不正确"
        return render_template("login.html", next=target, error=error), (401 if error else 200)

    @app.route("/logout", methods=["POST"])
    def logout():
        session.clear()
        return redirect(url_for("login") if app.config["HIWATCH_TOKEN"] else url_for("index"))
