"""The review page end to end in a real browser: Debian's Chromium driven by Playwright against the app served on
127.0.0.1 with a seeded database (SQLite; the stories that write, on PostgreSQL too). Screenshots go to a temporary
directory (or to $HIWATCH_SCREENSHOTS when set, to look at them).

Never `playwright install`: the tests use /usr/bin/chromium (apt-get install chromium). Without it they skip
with a message, except under CI=true where they fail.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from test_web import FRIDAY, NOW, seed_week

from crawler.db.models import Article, Digest, Run, RunSource
from crawler.web import create_app, make_server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TITLE_A = "北京推进医检互认 电子病历跨院调阅"
TITLE_B = "互联网医院服务覆盖全市 智慧医疗再提速"


# What the browser does is the same on both databases (tests/test_web.py checks every page and form on each): the
# end-to-end stories that write — building an issue, the archive, saved drafts — run on SQLite and PostgreSQL, the
# rest on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _need_browser() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is absent: apt-get install chromium to run the browser tests"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed: pip install -e '.[dev]' (never `playwright install`)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path, request) -> Path:
    base = os.environ.get("HIWATCH_SCREENSHOTS")
    folder = Path(base) / request.node.name if base else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _serve(app):
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def site(db, db_url):
    """The app on a free port of 127.0.0.1, in a thread, over the seeded database: (base URL, ids)."""
    ids = seed_week(db)
    with db.session() as session:  # last night's crawl: one site found nothing
        run = Run(kind="crawl", started_at=NOW, finished_at=NOW, status="partial", sources=["people", "xinhua"],
                  args={})
        session.add(run)
        session.flush()
        session.add_all([RunSource(run_id=run.id, source="people", links_found=40, fetched=12, stored=12),
                         RunSource(run_id=run.id, source="xinhua", links_found=0)])
    app = create_app(db_url)
    server = _serve(app)
    yield f"http://127.0.0.1:{server.server_port}", ids
    server.shutdown()
    server.server_close()
    app.extensions["hiwatch"]["database"].dispose()


@pytest.fixture
def page(browser, shots):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text)
           if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    # a stylesheet, script, icon or frame that fails to load (documents may answer 4xx on purpose: 422 …)
    tab.on("response", lambda r: errors.append(f"{r.status} {r.url}")
           if r.status >= 400 and r.request.resource_type != "document" else None)
    yield tab
    context.close()
    assert errors == [], f"errors in the page: {errors}"


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def _docx_titles(path: str) -> list[str]:
    import docx

    document = docx.Document(path)
    return [p.text for p in document.paragraphs if re.match(r"^\d+\. ", p.text)]


def test_pick_two_reorder_build_and_download_the_docx(site, page, shots, db):
    base, ids = site
    page.goto(f"{base}/week/2025-09-05")
    assert page.locator("li.cand").count() == 3
    assert page.locator("li.cand").first.locator("mark").count() > 0  # matched terms highlighted
    assert page.locator("#crawl-status.bad .src.nothing").inner_text() == "新华网 0/0 无结果"
    assert page.locator(".src.nothing").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(180, 35, 24)"
    page.screenshot(path=shots / "1-week.png", full_page=True)

    # pick A then B: the panel lists them in picking order
    page.locator(f'input.pick[value="{ids["a"]}"]').check()
    page.locator(f'input.pick[value="{ids["b"]}"]').check()
    assert page.locator("#dirty").is_visible()  # until saved
    selection = page.locator("#selection li .sel-title")
    assert selection.all_inner_texts() == [TITLE_A, TITLE_B]
    # reorder: B first
    page.locator(f'#selection li[data-id="{ids["b"]}"] button.up').click()
    assert selection.all_inner_texts() == [TITLE_B, TITLE_A]
    assert page.locator("#order").input_value() == f"{ids['b']},{ids['a']}"
    assert page.locator(f'li.cand[data-id="{ids["b"]}"] .pos').inner_text() == "第 1 篇"
    assert page.locator(f'li.cand[data-id="{ids["a"]}"] .pos').inner_text() == "第 2 篇"
    page.fill("#number", "640")
    page.screenshot(path=shots / "2-picked.png", full_page=False)

    page.click("#save-issue")
    page.wait_for_selector("#saved")
    assert "已保存第 640 期" in page.locator(".flash.ok").inner_text()
    assert page.locator("#selection li .sel-title").all_inner_texts() == [TITLE_B, TITLE_A]
    assert not page.locator("#dirty").is_visible()
    frame = page.frame_locator("#preview-frame")
    assert frame.locator("h1").inner_text() == "全国卫生信息化舆情监测周报"
    assert frame.locator("h3").all_inner_texts() == [f"1. {TITLE_B}", f"2. {TITLE_A}"]
    page.screenshot(path=shots / "3-saved.png", full_page=True)

    with page.expect_download() as info:
        page.click("#download-docx")
    download = info.value
    assert download.suggested_filename == "周报-640-20250905.docx"
    saved = shots / download.suggested_filename
    download.save_as(saved)
    assert _docx_titles(str(saved)) == [f"1. {TITLE_B}", f"2. {TITLE_A}", f"1. {TITLE_B}", f"2. {TITLE_A}"]

    with db.session() as session:
        digest = session.scalars(select(Digest).where(Digest.friday == FRIDAY)).one()
        assert digest.number == 640 and [i.article_id for i in digest.items] == [ids["b"], ids["a"]]


@SQLITE_ONLY
def test_another_copy_replaces_the_first_and_removing_unpicks(site, page, shots):
    base, ids = site
    page.goto(f"{base}/week/2025-09-05")
    page.locator(f'input.pick[value="{ids["b"]}"]').check()
    page.locator(f'input.pick[value="{ids["a"]}"]').check()
    page.locator(f'input.pick[value="{ids["a2"]}"]').check()  # the 新华网 copy of story A
    assert not page.locator(f'input.pick[value="{ids["a"]}"]').is_checked()
    assert page.locator("#selection li").evaluate_all("els => els.map(e => e.dataset.id)") == [
        str(ids["b"]), str(ids["a2"])]
    page.locator(f'#selection li[data-id="{ids["b"]}"] button.remove').click()
    assert not page.locator(f'input.pick[value="{ids["b"]}"]').is_checked()
    assert page.locator("#order").input_value() == str(ids["a2"])
    # preview without saving opens the issue in a new tab
    page.fill("#number", "641")
    with page.context.expect_page() as opened:
        page.click("#preview-unsaved")
    preview = opened.value
    preview.wait_for_load_state()
    assert preview.locator("h3").all_inner_texts() == ["1. 北京：医检互认让电子病历跨院调阅"]
    body = preview.locator("body").inner_text()  # the issue as sent: the picked copy, no 同题报道 line
    assert "来源：新华网" in body and "同题报道" not in body  # (config/digest.yaml print_also_reported: false)
    preview.screenshot(path=shots / "preview.png", full_page=False)


@SQLITE_ONLY
def test_article_view_exclude_filters_and_add_error(site, page, shots, db):
    base, ids = site
    page.goto(f"{base}/week/2025-09-05")
    page.click(f'li.cand[data-id="{ids["c"]}"] h2 a')
    assert page.locator("#article-title").inner_text() == "<script>alert('x')</script>远程医疗平台上线 电子病历共享"
    assert "<b>远程会诊</b>平台上线" in page.locator("#article-body").inner_text()  # shown as text, not markup
    assert page.locator("#original-link").get_attribute("href") == "http://news.example.cn/20250903/c.html"
    page.screenshot(path=shots / "article.png", full_page=True)
    page.fill('#exclude-form input[name="reason"]', "标题抽取错误")
    page.click('#exclude-form button[type="submit"]')
    assert "已排除：标题抽取错误" in page.locator("#excluded-note").inner_text()
    with db.session() as session:
        assert session.get(Article, ids["c"]).status == "excluded"

    page.goto(f"{base}/week/2025-09-05")
    assert page.locator(f'li.cand[data-id="{ids["c"]}"]').count() == 0
    page.select_option('#filters select[name="site"]', "光明日报")
    page.click('#filters button[type="submit"]')
    page.wait_for_url("**/week/2025-09-05?site=*")
    expect(page.locator("li.cand")).to_have_count(1)
    page.fill('#filters input[name="q"]', "电子病历")
    page.click('#filters button[type="submit"]')
    page.wait_for_url("**&q=*")
    expect(page.locator("li.cand")).to_have_count(0)
    assert "没有符合筛选条件的" in page.locator(".empty").inner_text()
    page.click("#prev-week")
    page.wait_for_url("**/week/2025-08-29")
    expect(page.locator("li.cand")).to_have_count(1)

    page.goto(f"{base}/add")
    page.fill('#add-form input[name="url"]', "http://127.0.0.1:9/nothing-listens-here.html")
    page.click('#add-form button[type="submit"]')
    assert "添加失败" in page.locator("#add-error").inner_text()
    page.screenshot(path=shots / "add-error.png")


@SQLITE_ONLY
def test_with_a_token_the_login_form_lets_the_analyst_in(db, db_url, page, shots):
    seed_week(db)
    app = create_app(db_url, token="correct-horse-battery")
    server = _serve(app)
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        page.goto(f"{base}/week/2025-09-05?q=电子病历")
        assert "/login" in page.url and page.locator("#crawl-status").count() == 0
        assert page.locator("header nav").count() == 0  # no way in but the token
        page.fill('input[name="token"]', "wrong-guess")
        page.click('#login-form button[type="submit"]')
        assert "访问令牌不正确" in page.locator(".flash.error").inner_text()
        page.screenshot(path=shots / "login.png")
        page.fill('input[name="token"]', "correct-horse-battery")
        page.click('#login-form button[type="submit"]')
        page.wait_for_url("**/week/2025-09-05?q=*")
        assert page.locator("li.cand").count() == 2
        cookie = next(c for c in page.context.cookies() if c["name"] == "hiwatch_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        page.click("header button.link")  # 退出
        page.wait_for_url("**/login")
    finally:
        server.shutdown()
        server.server_close()
        app.extensions["hiwatch"]["database"].dispose()


def test_without_chromium_the_browser_tests_skip_except_on_ci(monkeypatch, tmp_path):
    import test_web_browser as module

    monkeypatch.setattr(module, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        module._need_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="is absent"):
        module._need_browser()


# ---------------------------------------------------------------------------------------------------------------
# issue 21: what the analyst sees is what gets published


def _seen(page) -> tuple[list[str], list[str], list[str]]:
    """(the panel's ids in order, the ticked boxes' ids sorted, the ids the form would post in order)."""
    panel = page.locator("#selection li").evaluate_all("els => els.map(e => e.dataset.id)")
    ticks = page.locator("input.pick[type=checkbox]:checked").evaluate_all("els => els.map(e => e.value)")
    posted = page.locator("#issue-form").evaluate("f => new FormData(f).getAll('pick')")
    return panel, sorted(ticks), posted


def _agree(page, ids: list[int]) -> None:
    expected = [str(i) for i in ids]
    assert _seen(page) == (expected, sorted(expected), expected)


def test_panel_ticks_and_post_agree_after_back_forward_and_reload(site, page, shots, db):
    base, ids = site
    page.goto(f"{base}/week/2025-09-05")
    page.locator(f'input.pick[value="{ids["a"]}"]').check()
    page.locator(f'input.pick[value="{ids["b"]}"]').check()
    page.fill("#number", "640")
    _agree(page, [ids["a"], ids["b"]])
    page.click(f'li.cand[data-id="{ids["c"]}"] h2 a')  # open an article, then Back
    page.wait_for_url("**/article/*")
    page.go_back()
    page.wait_for_url("**/week/2025-09-05")
    _agree(page, [ids["a"], ids["b"]])
    assert page.locator("#dirty").is_visible() and page.locator("#number").input_value() == "640"
    assert page.locator(f'li.cand[data-id="{ids["b"]}"] .pos').inner_text() == "第 2 篇"
    page.go_forward()
    page.wait_for_url("**/article/*")
    page.go_back()
    page.wait_for_url("**/week/2025-09-05")
    _agree(page, [ids["a"], ids["b"]])
    # the reverse: untick, leave, come back, and what is posted is what is shown
    page.locator(f'input.pick[value="{ids["a"]}"]').uncheck()
    page.click(f'li.cand[data-id="{ids["c"]}"] h2 a')
    page.wait_for_url("**/article/*")
    page.go_back()
    page.wait_for_url("**/week/2025-09-05")
    _agree(page, [ids["b"]])
    page.reload()
    _agree(page, [ids["b"]])
    # a page restored from the back/forward cache takes the selection from the cookie, which another tab of
    # the same week may have changed meanwhile
    page.evaluate(f"document.cookie = 'hiwatch_draft_20250905=640:{ids['c']}-{ids['b']}; path=/'")
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    _agree(page, [ids["c"], ids["b"]])
    assert page.locator(f'li.cand[data-id="{ids["c"]}"] .pos').inner_text() == "第 1 篇"
    page.click("#save-issue")
    page.wait_for_selector("#saved")
    _agree(page, [ids["c"], ids["b"]])
    assert not page.locator("#dirty").is_visible()
    with db.session() as session:
        digest = session.scalars(select(Digest).where(Digest.friday == FRIDAY)).one()
        assert digest.number == 640 and [i.article_id for i in digest.items] == [ids["c"], ids["b"]]


@SQLITE_ONLY
def test_filters_and_week_changes_keep_unsaved_picks(site, page, shots, db):
    base, ids = site
    page.goto(f"{base}/week/2025-09-05")
    page.locator(f'input.pick[value="{ids["c"]}"]').check()
    page.locator(f'input.pick[value="{ids["a2"]}"]').check()  # the 新华网 copy of story A
    page.fill("#number", "640")
    page.select_option('#filters select[name="site"]', "光明日报")
    page.click('#filters button[type="submit"]')
    page.wait_for_url("**/week/2025-09-05?site=*")
    expect(page.locator("li.cand")).to_have_count(1)
    assert page.locator("#selection li .sel-title").all_inner_texts() == [
        "<script>alert('x')</script>远程医疗平台上线 电子病历共享", "北京：医检互认让电子病历跨院调阅"]
    assert page.locator("#issue-form").evaluate("f => new FormData(f).getAll('pick')") == [
        str(ids["c"]), str(ids["a2"])]
    assert page.locator("#dirty").is_visible()
    page.click("#prev-week")
    page.wait_for_url("**/week/2025-08-29")
    assert page.locator("#selection li").count() == 0  # another week, another issue
    page.click("#next-week")
    page.wait_for_url("**/week/2025-09-05")
    _agree(page, [ids["c"], ids["a2"]])
    assert page.locator("#number").input_value() == "640"
    page.click("#save-issue")
    page.wait_for_selector("#saved")
    with db.session() as session:
        digest = session.scalars(select(Digest).where(Digest.friday == FRIDAY)).one()
        assert [i.article_id for i in digest.items] == [ids["c"], ids["a2"]]


@SQLITE_ONLY
def test_clear_and_confirm_before_overwriting_a_saved_issue(site, page, shots, db):
    base, ids = site
    page.goto(f"{base}/week/2025-09-05")
    for key in ("a", "b"):
        page.locator(f'input.pick[value="{ids[key]}"]').check()
    page.fill("#number", "640")
    page.click("#save-issue")
    page.wait_for_selector("#saved")
    page.click("#clear-selection")  # one click, not one ✕ per pick
    _agree(page, [])
    assert page.locator("#dirty").is_visible()
    page.locator(f'input.pick[value="{ids["c"]}"]').check()
    page.click("#save-issue")
    dialog = page.locator("#confirm-overwrite")
    expect(dialog).to_be_visible()
    assert dialog.locator("h2").inner_text() == "覆盖已保存的第 640 期？"
    assert dialog.locator("li").all_inner_texts() == [
        "新增：<script>alert('x')</script>远程医疗平台上线 电子病历共享", f"移出：{TITLE_A}", f"移出：{TITLE_B}"]
    page.screenshot(path=shots / "confirm-overwrite.png")
    page.click("#overwrite-cancel")
    expect(dialog).to_be_hidden()
    with db.session() as session:
        digest = session.scalars(select(Digest).where(Digest.friday == FRIDAY)).one()
        assert [i.article_id for i in digest.items] == [ids["a"], ids["b"]]
    page.click("#save-issue")
    page.click("#overwrite-confirm")
    page.wait_for_selector(".flash.ok")
    _agree(page, [ids["c"]])
    with db.session() as session:
        digest = session.scalars(select(Digest).where(Digest.friday == FRIDAY)).one()
        assert [i.article_id for i in digest.items] == [ids["c"]]


def test_archive_lists_every_issue_and_opens_it(site, page, shots, db, db_url, tmp_path):
    from click.testing import CliRunner

    from crawler.cli import main as hiwatch

    base, ids = site
    result = CliRunner().invoke(hiwatch, ["digest", "build", "--week", "2025-08-29", "--db", db_url, "-o",
                                          str(tmp_path), "--number", "640", "--pick", str(ids["old"]), "--only"])
    assert result.exit_code == 0, result.output
    page.goto(f"{base}/week/2025-09-05")
    for key in ("a", "b"):
        page.locator(f'input.pick[value="{ids[key]}"]').check()
    page.click("#save-issue")
    page.wait_for_selector("#saved")
    page.click("#nav-archive")
    page.wait_for_url("**/issues")
    rows = page.locator("#archive tbody tr")
    assert rows.count() == 2
    assert [r.split("\t") for r in rows.evaluate_all("els => els.map(e => e.innerText)")] == [
        ["第 641 期 （第六四一）", "2025-08-30 – 09-05", "2", rows.nth(0).locator("td").nth(3).inner_text(), "审阅页面",
         "DOCX Markdown HTML"],
        ["第 640 期 （第六四零）", "2025-08-23 – 08-29", "1", rows.nth(1).locator("td").nth(3).inner_text(), "命令行",
         "DOCX Markdown HTML"]]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows.nth(1).locator("td").nth(3).inner_text())
    page.screenshot(path=shots / "archive.png")
    with page.expect_download() as info:
        rows.nth(1).locator("a", has_text="DOCX").click()
    assert info.value.suggested_filename == "周报-640-20250829.docx"
    rows.nth(1).locator("a.open-issue").click()  # last week's issue, as published, one click away
    page.wait_for_url("**/week/2025-08-29/issue.html")
    assert page.locator("h3").all_inner_texts() == ["1. 上周：医保电子凭证全面推广 智慧医院建设提速"]
    page.go_back()
    page.locator("#archive a.open-week").first.click()
    page.wait_for_url("**/week/2025-09-05")
    _agree(page, [ids["a"], ids["b"]])


ALLOWED_LATIN = {"hiwatch", "DOCX", "Markdown", "HTML", "HTTP"}
LATIN_WORDS = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll("code, kbd, iframe, script").forEach(e => e.remove());  // identifiers, key names
  const attrs = Array.from(document.querySelectorAll("[title], [placeholder], [aria-label]"))
    .flatMap(e => [e.getAttribute("title"), e.getAttribute("placeholder"), e.getAttribute("aria-label")]);
  return [document.title, copy.innerText].concat(attrs).filter(Boolean).join("\\n");
}"""


def _english(page) -> list[str]:
    """Latin words the analyst reads on this page (text, tooltips, placeholders), but URLs, <code>, <kbd>, names."""
    text = re.sub(r"https?://\S+", " ", page.evaluate(LATIN_WORDS))
    text = re.sub(r"<script>alert\('\w+'\)</script>|</?b>", " ", text)  # the seeded articles' own text
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in ALLOWED_LATIN]


@SQLITE_ONLY
def test_one_language_chinese_everywhere(site, page, shots, db):
    base, ids = site
    page.goto(f"{base}/week/2025-09-05")
    assert page.locator("#crawl-status .src").all_inner_texts() == ["人民网 12/40", "新华网 0/0 无结果"]
    assert page.locator(f'li.cand[data-id="{ids["a"]}"] .score').get_attribute("title").startswith("相关度")
    page.locator(f'input.pick[value="{ids["a"]}"]').check()
    page.fill("#number", "640")
    page.click("#save-issue")
    page.wait_for_selector("#saved")
    assert page.locator(".flash.ok").inner_text() == "已保存第 640 期 （第六四零），共 1 篇"
    assert _english(page) == []
    page.click(f'li.cand[data-id="{ids["b"]}"] h2 a')
    page.fill('#exclude-form input[name="reason"]', "与卫生信息化无关")
    page.click('#exclude-form button[type="submit"]')
    assert page.locator(".flash.ok").inner_text() == f"#{ids['b']} 已标记为错误并排除：与卫生信息化无关"
    assert page.locator("#explain").inner_text().startswith("得分 ")
    assert _english(page) == []
    page.goto(f"{base}/issues")
    assert _english(page) == []
    # error pages
    page.goto(f"{base}/article/99999")
    assert page.locator("h1").inner_text() == "找不到（404）" and _english(page) == []
    page.goto(f"{base}/week/2025-09-05/issue.pdf")
    assert "没有这种格式的周报文件" in page.locator("#error-message").inner_text() and _english(page) == []
    page.click("#error-back")  # back to the week the failed address was about
    page.wait_for_url("**/week/2025-09-05")
    # an empty preview comes back to its week and says why
    page.click("#clear-selection")
    with page.context.expect_page() as opened:
        page.click("#preview-unsaved")
    preview = opened.value
    preview.wait_for_load_state()
    assert preview.url.endswith("/week/2025-09-05")
    assert preview.locator(".flash.error").inner_text() == "没有可预览的内容：请先选入至少一篇文章"
    assert _english(preview) == []
    preview.close()
    # a failed save says why in Chinese
    page.goto(f"{base}/week/2025-08-29")
    page.locator(f'input.pick[value="{ids["old"]}"]').check()
    page.fill("#number", "700")
    page.click("#save-issue")
    page.wait_for_selector("#saved")
    page.click("#next-week")
    page.locator(f'input.pick[value="{ids["c"]}"]').check()
    page.fill("#number", "700")
    page.click("#save-issue")
    page.click("#overwrite-confirm")
    page.wait_for_selector(".flash.error")
    assert page.locator(".flash.error").inner_text() == "期号 700 已被 2025-08-29 那一期使用，请换一个期号"
    page.goto(f"{base}/add")
    page.fill('#add-form input[name="url"]', "http://127.0.0.1:9/nothing-listens-here.html")
    page.click('#add-form button[type="submit"]')
    assert page.locator("#add-error").inner_text() == (
        "添加失败：http://127.0.0.1:9/nothing-listens-here.html：无法连接（连接被拒绝）")
    assert _english(page) == []


@SQLITE_ONLY
def test_marks_only_the_terms_that_carried_the_score_and_say_why(site, page, shots):
    base, ids = site
    page.goto(f"{base}/week/2025-09-05")
    card = page.locator(f'li.cand[data-id="{ids["a"]}"]')
    assert set(card.locator("mark").all_inner_texts()) == {"医检互认", "电子病历", "影像云"}
    marked = set(page.locator("li.cand mark").all_inner_texts())
    assert marked and not marked & {"医院", "患者", "医生", "系统", "数据", "平台", "卫生健康委"}  # generic words
    assert card.locator(".reason").inner_text() == (
        "50.2 分，达到阈值：主要因为 医检互认（标题、正文 2 次），电子病历（标题、正文 1 次），影像云（正文 1 次）；"
        "卫生健康 53 × 信息化 47.5")
    assert "医院" in card.locator(".terms").inner_text()  # the other matched terms are listed, not marked
    assert card.locator(".score").get_attribute("title").startswith("相关度得分 50.2 分，达到阈值")
    page.click(f'li.cand[data-id="{ids["a"]}"] h2 a')
    assert set(page.locator("#article-body mark").all_inner_texts()) == {"医检互认", "电子病历", "影像云"}
    assert page.locator("#reason").inner_text().startswith("50.2 分，达到阈值：主要因为 医检互认")


@SQLITE_ONLY
def test_the_front_page_opens_the_latest_week_with_candidates_or_a_draft(site, page, shots):
    base, ids = site
    page.goto(f"{base}/")
    page.wait_for_url("**/week/2025-09-05")  # not today's still empty week
    assert page.locator(".flash.info").inner_text() == "已打开 2025-08-30 – 2025-09-05：最近有候选文章的一周"
    assert page.locator("li.cand").count() == 3
    page.click("#next-week")
    page.wait_for_url("**/week/2025-09-12")
    page.fill("#number", "641")  # an unsaved change in a later week
    expect(page.locator("#dirty")).to_be_visible()
    page.click("header .brand")
    page.wait_for_url("**/week/2025-09-12")
    assert page.locator(".flash.info").inner_text() == "已打开 2025-09-06 – 2025-09-12：这一周有未保存的选择"
    assert page.locator("#number").input_value() == "641"


def _inside(page, selector: str) -> bool:
    """The element is entirely within the visible part of the window."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return bool(box) and box["y"] >= 0 and box["x"] >= 0 and box["y"] + box["height"] <= size["height"] + 0.5 \
        and box["x"] + box["width"] <= size["width"] + 0.5


SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
    'main input:not([type=hidden]), main button, main select, header button'))
  .filter(e => e.offsetParent !== null)
  .map(e => [e.id || e.className || e.name || e.tagName, e.getBoundingClientRect()])
  .filter(([, r]) => r.width < 24 || r.height < 24)
  .map(([name, r]) => `${name} ${Math.round(r.width)}x${Math.round(r.height)}`)"""


@SQLITE_ONLY
def test_phone_and_long_issue_keep_the_panel_actions_in_reach(site, browser, shots):
    base, ids = site
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", has_touch=True)
    try:
        tab = phone.new_page()
        tab.goto(f"{base}/week/2025-09-05")
        assert tab.evaluate(SMALL_TARGETS) == []  # every box and button at least 24 px
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        for key in ("a", "b", "c"):
            box = tab.locator(f'input.pick[value="{ids[key]}"]')
            box.scroll_into_view_if_needed()
            box.tap()
        assert tab.locator("#sel-count").inner_text() == "3 篇"
        tab.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        for selector in ("#save-issue", "#preview-unsaved", "#clear-selection", "#dirty", "#panel-toggle"):
            assert _inside(tab, selector), selector
        tab.evaluate("window.scrollTo(0, 0)")
        tab.screenshot(path=shots / "phone.png")
        tab.tap("#panel-toggle")  # the drawer opens over the list, its actions still in sight
        expect(tab.locator("#selection")).to_be_visible()
        assert tab.locator("#selection li").count() == 3 and _inside(tab, "#save-issue")
        tab.fill("#number", "640")
        assert tab.evaluate(SMALL_TARGETS) == []
        tab.screenshot(path=shots / "phone-panel.png")
        tab.tap("#save-issue")
        tab.wait_for_selector("#saved", state="attached")
        assert tab.locator(".flash.ok").inner_text().startswith("已保存第 640 期")
    finally:
        phone.close()
    # a long issue on a low window: the panel scrolls, its buttons stay on screen
    low = browser.new_context(viewport={"width": 1366, "height": 480}, locale="zh-CN")
    try:
        tab = low.new_page()
        tab.goto(f"{base}/week/2025-09-05?all=1")
        tab.locator(f'input.pick[value="{ids["d"]}"]').check()
        assert tab.locator("#selection li").count() == 4
        assert tab.locator("#panel-more").evaluate("e => e.scrollHeight > e.clientHeight")  # the list scrolls
        bottom = tab.locator(".add-mini").evaluate("e => e.getBoundingClientRect().bottom + window.scrollY") - 480
        for y in (0, 200, 400, bottom):  # anywhere along the candidates
            tab.evaluate(f"window.scrollTo(0, {y})")
            assert _inside(tab, "#save-issue") and _inside(tab, "#preview-unsaved"), y
        tab.locator("#panel-more").evaluate("e => e.scrollTo(0, e.scrollHeight)")
        assert _inside(tab, "#save-issue")
    finally:
        low.close()


@SQLITE_ONLY
def test_the_keyboard_does_the_friday_job(site, page, shots, db):
    base, ids = site
    page.goto(f"{base}/week/2025-09-05")
    order = page.locator("li.cand").evaluate_all("els => els.map(e => e.dataset.id)")
    page.keyboard.press("?")
    help_box = page.locator("#kbd-help")
    expect(help_box).to_be_visible()
    assert "选入或移出当前这篇" in help_box.inner_text()
    page.screenshot(path=shots / "keys.png")
    page.keyboard.press("?")
    expect(help_box).to_be_hidden()
    page.keyboard.press("j")
    assert page.locator("li.cand.current").get_attribute("data-id") == order[0]
    page.keyboard.press("x")  # pick the first
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.locator("li.cand.current").get_attribute("data-id") == order[2]
    page.keyboard.press("x")  # and the third
    page.keyboard.press("k")
    assert page.locator("li.cand.current").get_attribute("data-id") == order[1]
    _agree(page, [int(order[0]), int(order[2])])
    page.keyboard.press("k")
    page.keyboard.press("x")  # x again takes it out
    _agree(page, [int(order[2])])
    page.fill("#number", "640")  # typing in a field is not a command
    page.keyboard.press("x")
    page.keyboard.press("j")
    assert page.locator("#number").input_value() == "640"
    _agree(page, [int(order[2])])
    page.locator("#number").blur()
    page.keyboard.press("j")
    page.keyboard.press("o")  # open the current article
    page.wait_for_url(f"**/article/{order[1]}")
