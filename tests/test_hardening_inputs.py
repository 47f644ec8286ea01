"""Issue 14: every bad input gets a clear answer (message + documented exit code or HTTP status), binary and
oversized content never becomes an article on any path, and no spelling of an SQLite path dodges the crawl lock."""
from __future__ import annotations

import gzip
import json
import random
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from crawler.cli import main
from crawler.config import SourcesError, load_sources
from crawler.db import DatabaseMissing, DatabaseURLError, connect
from crawler.db.lock import DatabaseLock, LockHeld
from crawler.db.models import Article, RawPage
from crawler.extract import extract
from crawler.extract.sniff import MAX_PAGE_BYTES
from replaykit import SOURCES, build_replay, run_cli, write_manifest

URL = "http://health.people.com.cn/n1/2025/0902/c14739-41009999.html"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(14).randbytes(135_000)
# a slice out of an executable (the Python running the tests): no magic number, control characters all through
ELF_SLICE = Path(sys.executable).resolve().read_bytes()[4096:36_000]
PARAS = "".join(f"<p>国家卫生健康委员会发布第{i}条关于推进智慧医院建设和互联网医疗服务的通知，要求各地加快落实。</p>"
                for i in range(12))


def _page(depth: int = 1) -> bytes:
    return ("<html><head><meta charset='utf-8'><title>智慧医院建设通知</title></head><body>" + "<div>" * depth
            + "<h1>智慧医院建设通知</h1>" + PARAS + "</div>" * depth + "</body></html>").encode("utf-8")


def invoke(*args: str, input: bytes | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def _sources_file(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES.format(), encoding="utf-8")
    return path


# --- 1. the crawl lock is keyed on the database file, not on how its path is written ---------------------------

def test_a_symlink_or_another_spelling_meets_the_same_lock(tmp_path):
    real = tmp_path / "data" / "hiwatch.sqlite3"
    database = connect(f"sqlite:///{real}")
    (tmp_path / "alias.sqlite3").symlink_to(real)
    spellings = [f"sqlite:///{tmp_path / 'alias.sqlite3'}",
                 f"sqlite:///{tmp_path / 'data' / '..' / 'data' / 'hiwatch.sqlite3'}"]
    with DatabaseLock(database):
        for url in spellings:
            other = connect(url)
            with pytest.raises(LockHeld):
                DatabaseLock(other).acquire()
            other.dispose()
    database.dispose()


def test_a_second_crawl_through_a_symlink_exits_4(tmp_path):
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root)
    real = tmp_path / "hiwatch.sqlite3"
    database = connect(f"sqlite:///{real}")
    (tmp_path / "alias.sqlite3").symlink_to(real)
    with DatabaseLock(database, "crawl"):  # the first crawl, still running
        second = run_cli("crawl", "--replay", str(root), "--week", "2025-09-05", "--db",
                         f"sqlite:///{tmp_path / 'alias.sqlite3'}", "--sources", str(_sources_file(tmp_path)))
    assert second.returncode == 4, second.stderr
    assert "another crawl is running" in second.stderr
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 0
    database.dispose()


# --- 2. binary content is refused on every path that makes an article ------------------------------------------

@pytest.mark.parametrize("data, reason", [(PNG, "PNG image"), (ELF_SLICE, "binary"),
                                          (PARAS.encode() + bytes(range(1, 9)) * 400, "control characters")])
def test_extract_refuses_binary_content_whatever_it_is_called(data, reason):
    result = extract(data, URL, content_type="text/html; charset=utf-8")
    assert result.blocked and result.blocked.startswith("not text") and reason in result.blocked, result.blocked
    assert result.body == ""
    assert extract(_page(), URL).blocked is None  # a page with one stray control character is still a page
    assert extract(_page().replace(b"<p>", b"<p>\x01", 1), URL).blocked is None


def test_extract_command_refuses_an_image_and_a_missing_file(tmp_path):
    image = tmp_path / "image.png"
    image.write_bytes(PNG)
    result = invoke("extract", str(image), "--url", URL, "--sources", str(_sources_file(tmp_path)))
    assert result.exit_code == 1
    assert "not an article page (not text: the content is binary (PNG image)" in result.output
    assert json.loads(result.output[:result.output.rindex("}") + 1])["body"] == ""
    missing = invoke("extract", str(tmp_path / "no" / "such.html"), "--url", URL)
    assert missing.exit_code == 2 and "cannot read" in missing.output and "Traceback" not in missing.output
    good = tmp_path / "good.html"
    good.write_bytes(_page())
    ok = invoke("extract", str(good), "--url", URL, "--sources", str(_sources_file(tmp_path)))
    assert ok.exit_code == 0 and "智慧医院建设" in json.loads(ok.output)["body"]


@pytest.fixture
def png_server():
    """A local server answering every article URL with a PNG labelled text/html."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body, status = (PNG, 200) if self.path.startswith("/n1/") else (b"not found", 404)
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_add_refuses_a_png_served_as_html(tmp_path):
    root = tmp_path / "replay"
    root.mkdir()
    (root / "image.png").write_bytes(PNG)
    write_manifest(root, [{"url": URL, "file": "image.png", "headers": {"Content-Type": "text/html"}}])
    db_url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    result = invoke("add", URL, "--replay", str(root), "--db", db_url, "--sources", str(_sources_file(tmp_path)))
    assert result.exit_code == 1, result.output
    assert "not an article page (not text: the content is binary (PNG image)" in result.output
    database = connect(db_url)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 0
    database.dispose()


def test_the_review_page_add_refuses_a_png(tmp_path, png_server):
    from crawler.web import create_app

    db_url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    connect(db_url).dispose()
    app = create_app(db_url, testing=True, sources_path=_sources_file(tmp_path))
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "test-csrf-token-0123456789"
    response = client.post("/add", data={"url": f"{png_server}/n1/2025/0902/a1.html",
                                         "csrf_token": "test-csrf-token-0123456789"})
    assert response.status_code == 422 and "PNG image" in response.get_data(as_text=True)
    with app.extensions["hiwatch"]["database"].session() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 0
    app.extensions["hiwatch"]["database"].dispose()


def test_reextract_keeps_an_article_whose_stored_page_is_binary(tmp_path):
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root)
    db_url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    sources = _sources_file(tmp_path)
    assert run_cli("crawl", "--replay", str(root), "--week", "2025-09-05", "--db", db_url, "--sources",
                   str(sources)).returncode == 0
    database = connect(db_url)
    with database.session() as session:
        session.execute(update(RawPage).values(html_gz=gzip.compress(PNG)))
        session.execute(update(Article).values(title="kept"))
    result = invoke("reextract", "--db", db_url, "--sources", str(sources))
    assert result.exit_code == 0, result.output
    assert "re-extracted 3 articles: 0 changed, 0 unchanged, 3 kept" in result.output
    with database.session() as session:
        assert set(session.scalars(select(Article.title))) == {"kept"}
    database.dispose()


def _jsonl(path: Path, *records: dict) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def _record(n: int, **changes) -> dict:
    return {"url": f"https://example.cn/a{n}.html", "title": f"标题{n}", "source_name": "测试",
            "published_at": "2025-09-01", "body": "智慧医院建设第一段。\n第二段。", **changes}


def test_import_refuses_binary_and_strips_nul_the_same_on_both_databases(tmp_path, db_url):
    binary = _jsonl(tmp_path / "bin.jsonl", _record(1), _record(2, body=ELF_SLICE.decode("latin-1")))
    result = invoke("articles", "import", str(binary), "--db", db_url)
    assert result.exit_code == 1 and f"{binary}:2: body not text: the content is binary" in result.output
    nul = _jsonl(tmp_path / "nul.jsonl", _record(3, body="智慧医院\x00建设第一段。\u2028续", title="标\x00题"))
    result = invoke("articles", "import", str(nul), "--db", db_url)
    assert result.exit_code == 0, result.output
    database = connect(db_url)
    with database.session() as session:  # U+2028 inside a body is no line break of the JSON Lines file
        assert session.execute(select(Article.title, Article.body)).all() == [("标题", "智慧医院建设第一段。\u2028续")]
    database.dispose()


# --- 4. wrong arguments are answered, not traced back ------------------------------------------------------------

@pytest.mark.parametrize("url, words", [("garbage", "is not a database URL"),
                                        ("foo://bar", "unknown kind of database 'foo'"),
                                        ("mysql://user@localhost/hiwatch", "driver is not installed")])
@pytest.mark.parametrize("command", [("runs",), ("digest", "candidates", "--week", "2025-09-05"),
                                     ("articles", "import", "-")])
def test_a_wrong_database_url_exits_2_with_a_message(url, words, command):
    result = invoke(*command, "--db", url, input=b"")
    assert result.exit_code == 2, result.output
    assert words in result.output and not isinstance(result.exception, (TypeError, ImportError))
    with pytest.raises(DatabaseURLError):
        connect(url)


def test_schedule_refuses_a_negative_grace():
    result = invoke("schedule", "--grace", "-5")
    assert result.exit_code == 2 and "--grace" in result.output and "x>=1" in result.output


def test_import_of_a_date_past_the_calendar_names_the_line(tmp_path):
    file = _jsonl(tmp_path / "late.jsonl", _record(1), _record(2, published_at="9999-12-31T23:59:59-12:00"))
    result = invoke("articles", "import", str(file), "--db", f"sqlite:///{tmp_path / 'i.sqlite3'}")
    assert result.exit_code == 1, result.output
    assert f"{file}:2: published_at '9999-12-31T23:59:59-12:00' is out of range" in result.output


def test_review_page_answers_out_of_range_ids_and_weeks(tmp_path):
    from crawler.web import create_app

    db_url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    connect(db_url).dispose()
    app = create_app(db_url, testing=True, sources_path=_sources_file(tmp_path))
    client = app.test_client()
    assert client.get("/article/99999999999999999999").status_code == 404
    assert client.get("/article/99999999999999999999/raw").status_code == 404
    assert client.get("/week/9999-12-31").status_code == 400
    assert client.get("/week/0001-01-01").status_code == 400
    assert client.get("/week?day=9999-12-30").status_code == 302  # back to the index, with a message
    assert client.get("/week/2025-09-05").status_code == 200
    app.extensions["hiwatch"]["database"].dispose()


# --- 5. a mistyped SQLite path is an error for commands that only read -------------------------------------------

@pytest.mark.parametrize("command", [("runs",), ("status",), ("digest", "candidates", "--week", "2025-09-05"),
                                     ("reextract",), ("serve", "--port", "0")])
def test_reading_commands_do_not_create_a_database(tmp_path, command):
    missing = tmp_path / "nonexistent" / "dir" / "x.sqlite3"
    extra = ("--sources", str(_sources_file(tmp_path))) if command[0] in ("status", "reextract") else ()
    result = invoke(*command, *extra, "--db", f"sqlite:///{missing}")
    assert result.exit_code == 3, result.output
    assert f"{missing}: no such database" in result.output
    assert not (tmp_path / "nonexistent").exists()
    with pytest.raises(DatabaseMissing):
        connect(f"sqlite:///{missing}", create=False)


def test_writing_commands_still_create_the_database(tmp_path):
    target = tmp_path / "new" / "x.sqlite3"
    assert invoke("db", "upgrade", "--db", f"sqlite:///{target}").exit_code == 0 and target.is_file()
    assert invoke("runs", "--db", f"sqlite:///{target}").exit_code == 0  # exists now: reading is fine


# --- 6. sources.yaml: duplicate keys, duplicate sites, the operator's words ---------------------------------------

GOOD = SOURCES.format()


def _load(tmp_path: Path, text: str) -> str:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourcesError) as error:
        load_sources(path)
    return str(error.value)


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    text = GOOD.replace("    hosts: [people.com.cn]\n", "    hosts: [people.com.cn]\n    hosts: [example.cn]\n")
    message = _load(tmp_path, text)
    assert f"{tmp_path / 'sources.yaml'}:6: key 'hosts' appears twice in one mapping (first on line 5)" in message


def test_a_site_name_used_twice_points_at_the_second_record(tmp_path):
    record = GOOD[GOOD.index("  - name: testsite"):]
    message = _load(tmp_path, GOOD + record)
    second = (GOOD + record).splitlines().index("  - name: testsite", 3) + 1
    assert message == (f"{tmp_path / 'sources.yaml'}:{second}: site 'testsite': the name is used twice "
                       f"(first on line 3); site names must be unique")


def test_validation_errors_speak_the_operators_language(tmp_path):
    text = GOOD.replace("    label: 人民网\n", "    label: 人民网\n    politness: {delay: 2}\n").replace(
        "max_pages: 10", "max_pages: 500")
    message = _load(tmp_path, text)
    assert "field politness: unknown setting 'politness'; did you mean politeness?" in message
    assert "field discovery.0.paginate.max_pages: must be at most 200, not 500" in message
    assert "Extra inputs" not in message and "max_pages.max_pages" not in message and "Input should" not in message


def test_sources_validate_does_not_say_nothing_crawled(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD.replace("    label: 人民网\n", "    label: 人民网\n    colour: red\n"), encoding="utf-8")
    result = invoke("sources", "validate", str(path))
    assert result.exit_code == 2 and "unknown setting 'colour'" in result.output
    assert "nothing crawled" not in result.output


# --- 8. the largest page, and deep pages ----------------------------------------------------------------------------

def test_one_size_limit_everywhere(tmp_path):
    from crawler import settings
    from crawler.run import fetch

    assert settings.DOWNLOAD_MAXSIZE == fetch.MAX_BYTES == MAX_PAGE_BYTES == 8 * 1024 * 1024
    big = _page()[:-14] + b"<p>" + "智慧医院".encode() * (MAX_PAGE_BYTES // 12 + 1) + b"</p></body></html>"
    assert extract(big, URL).blocked == "too large: more than 8 MB, the limit of a page"
    file = tmp_path / "big.html"
    file.write_bytes(big)
    result = invoke("extract", str(file), "--url", URL, "--sources", str(_sources_file(tmp_path)))
    assert result.exit_code == 1 and "too large: more than 8 MB" in result.output
    lines = _jsonl(tmp_path / "big.jsonl", _record(1, body="智慧医院" * (MAX_PAGE_BYTES // 12 + 1)))
    result = invoke("articles", "import", str(lines), "--db", f"sqlite:///{tmp_path / 'b.sqlite3'}")
    assert result.exit_code == 1 and f"{lines}:1: body too large: more than 8 MB" in result.output


@pytest.mark.parametrize("depth", [300, 1000])
def test_a_deeply_nested_body_is_extracted(depth):
    result = extract(_page(depth), URL)
    assert result.blocked is None and "第11条关于推进智慧医院建设" in result.body


def test_a_page_deeper_than_the_parser_allows_says_why():
    result = extract(_page(5000), URL)
    assert result.blocked == "no article body (the page is nested deeper than 2048 elements, the parser's limit)"
    assert any("nested deeper than 2048" in w for w in result.warnings)
