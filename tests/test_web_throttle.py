"""Token guessing on the review page is slow whichever way the token arrives, one guess at a time across
clients, and a client that keeps guessing is refused; a blank token is refused at start-up."""
from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner

from crawler.cli import main as hiwatch
from crawler.web import create_app, make_server
from crawler.web.security import FAILED_LOGIN_DELAY

CLIENT_FAILURES = 10  # README: a client with ten failures in ten minutes is refused

TOKEN = "s3cret-token-for-tests"
WEEK = "/week/2025-09-05"


@pytest.fixture(scope="module")
def _server(tmp_path_factory):
    """The review page with a token on a real threaded server (127.0.0.1, a free port), once for the module."""
    app = create_app(f"sqlite:///{tmp_path_factory.mktemp('throttle') / 'hiwatch.sqlite3'}", token=TOKEN,
                     testing=True)
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        app.extensions["hiwatch"]["database"].dispose()


@pytest.fixture
def served(_server):
    """The module's server with a fresh throttle (no failure remembered) and the documented delay."""
    app, base = _server
    app.config.pop("HIWATCH_FAILED_TOKEN_DELAY", None)
    if "hiwatch_throttle" in app.extensions:
        app.extensions["hiwatch_throttle"] = type(app.extensions["hiwatch_throttle"])()
    return app, base


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def status(url: str, headers: dict[str, str] | None = None, data: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with _opener.open(request, timeout=60) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def guesses(base: str, n: int, way: str, parallel: bool = False) -> tuple[float, list[int]]:
    def one(i: int) -> int:
        wrong = f"wrong-guess-{i:04d}"
        if way == "bearer":
            return status(base + "/", {"Authorization": f"Bearer {wrong}"})[0]
        return status(base + "/", {"X-Hiwatch-Token": wrong})[0]

    started = time.monotonic()
    if parallel:
        with ThreadPoolExecutor(n) as pool:
            codes = list(pool.map(one, range(n)))
    else:
        codes = [one(i) for i in range(n)]
    return time.monotonic() - started, codes


@pytest.mark.parametrize("way", ["x-hiwatch-token", "bearer"])
def test_wrong_header_tokens_cost_the_documented_half_second(served, way):
    """The issue: 200 wrong header guesses were answered in 2.4 s. Each now costs FAILED_LOGIN_DELAY."""
    _, base = served
    n = 4
    elapsed, codes = guesses(base, n, way)
    assert codes == [302] * n  # refused as before (sent to the login page), only later
    assert elapsed >= n * FAILED_LOGIN_DELAY, elapsed
    assert status(base + WEEK, {"X-Hiwatch-Token": TOKEN})[0] == 200  # the right token is not delayed
    assert status(base + WEEK, {"Authorization": f"Bearer {TOKEN}"})[0] == 200


@pytest.mark.parametrize("way", ["x-hiwatch-token", "bearer"])
def test_parallel_wrong_header_tokens_are_served_one_at_a_time(served, way):
    app, base = served
    app.config["HIWATCH_FAILED_TOKEN_DELAY"] = delay = 0.1  # the serialisation, not the size of the delay
    n = 8
    elapsed, codes = guesses(base, n, way, parallel=True)
    assert codes == [302] * n
    assert elapsed >= n * delay, elapsed


def _login_form(base: str) -> tuple[str, str]:
    """A session cookie and its CSRF token from the login page."""
    with _opener.open(base + "/login", timeout=30) as response:
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode()).group(1)
    return cookie, csrf


def test_parallel_wrong_logins_are_served_one_at_a_time(served):
    """The issue: 20 parallel login attempts were answered in 0.8 s."""
    app, base = served
    app.config["HIWATCH_FAILED_TOKEN_DELAY"] = delay = 0.1
    n = 8
    forms = [_login_form(base) for _ in range(n)]

    def login(i: int) -> int:
        cookie, csrf = forms[i]
        body = f"csrf_token={csrf}&token=wrong-{i}".encode()
        return status(base + "/login", {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
                      body)[0]

    started = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        codes = list(pool.map(login, range(n)))
    elapsed = time.monotonic() - started
    assert codes == [401] * n
    assert elapsed >= n * delay, elapsed


def test_a_client_that_keeps_guessing_is_refused_even_with_the_right_token(served):
    app, base = served
    app.config["HIWATCH_FAILED_TOKEN_DELAY"] = 0.0
    _, codes = guesses(base, CLIENT_FAILURES, "bearer")
    assert codes == [302] * CLIENT_FAILURES
    code, headers = status(base + "/", {"X-Hiwatch-Token": TOKEN})
    assert code == 429 and 0 < int(headers["Retry-After"]) <= 600, (code, headers)
    cookie, csrf = _login_form(base)
    code, _ = status(base + "/login", {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
                     f"csrf_token={csrf}&token={TOKEN}".encode())
    assert code == 429  # the login form is the same door
    app.extensions["hiwatch_throttle"].window = 0.0  # the window passes
    assert status(base + WEEK, {"X-Hiwatch-Token": TOKEN})[0] == 200


@pytest.mark.parametrize("token", ["        ", " \t ", "\u3000\u3000\u3000\u3000\u3000\u3000\u3000\u3000"])
def test_a_blank_token_is_refused_at_start_up(tmp_path, monkeypatch, token):
    """The issue: a token of eight spaces was accepted (anyone sending eight spaces got in)."""
    from crawler.web import app as web_app

    class NeverServed:
        server_port = 0

        def serve_forever(self):
            raise AssertionError("the review page started with a blank token")

        def server_close(self):
            pass

    monkeypatch.setattr(web_app, "make_server", lambda *args: NeverServed())
    url = f"sqlite:///{tmp_path / 'hiwatch.sqlite3'}"
    for host in ("0.0.0.0", "127.0.0.1"):
        result = CliRunner().invoke(hiwatch, ["serve", "--host", host, "--db", url, "--token", token])
        assert result.exit_code == 2 and "blank" in result.output, result.output
    with pytest.raises(ValueError, match="blank"):
        create_app(url, token=token, testing=True)
