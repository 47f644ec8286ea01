"""The review page (crawler.web) through Flask's test client, on SQLite and PostgreSQL: every route, the issue
shared with `hiwatch digest build`, escaping, CSRF, the token, the Host check."""
from __future__ import annotations

import io
import re
import threading
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from crawler.cli import main as hiwatch
from crawler.db import connect
from crawler.db.models import Article, Digest, RawPage, Run, RunSource
from crawler.db.cluster import assign_cluster
from crawler.analyse.relevance import score
from crawler.web import create_app, is_loopback
from crawler.window import SHANGHAI

FRIDAY = date(2025, 9, 5)
WEEK = "/week/2025-09-05"
NOW = datetime(2025, 9, 6, tzinfo=timezone.utc)

# (key, source_name, title, body, day, hour). Bodies differ enough not to cluster, except the syndicated copy.
STORY_A = ("北京市卫生健康委推进医检互认和电子病历共享，患者在不同医院的检查检验结果可以跨院调阅。\n"
           "全市二级以上医院接入医检互认平台，信息化建设让数据多跑路、群众少跑腿。\n"
           "下一步将推进电子健康档案向个人开放，影像云平台覆盖基层医疗机构。")
STORY_B = ("互联网医院服务已覆盖全市，患者可在线复诊、在线开方，药品配送到家。\n"
           "智慧医疗建设加快推进，医院信息系统完成互联互通改造，远程医疗延伸到乡镇卫生院。\n"
           "卫生健康部门表示，将继续推动数字健康服务便民惠民。")
STORY_C = ("<b>远程会诊</b>平台上线 & 基层医生可实时连线三甲医院专家，<script>alert('body')</script>\n"
           "该平台依托健康医疗大数据中心建设，医疗机构之间的电子病历实现共享调阅。\n"
           "卫生健康委信息中心负责平台运维，数据安全按等级保护要求管理。")
STORY_D = "秋季运动会今日开幕，来自全市的两千名运动员参加田径、游泳等项目的比赛。\n开幕式上进行了文艺表演。"
STORY_E = ("医保电子凭证在全市定点医院全面推广，参保人看病就医可以扫码结算。\n"
           "医院信息系统与医保平台打通，智慧医院建设持续推进，卫生健康服务更加便捷。")
SEED = [
    ("a", "人民网", "北京推进医检互认 电子病历跨院调阅", STORY_A, date(2025, 8, 31), 9),
    ("a2", "新华网", "北京：医检互认让电子病历跨院调阅", STORY_A, date(2025, 9, 1), 10),
    ("b", "光明日报", "互联网医院服务覆盖全市 智慧医疗再提速", STORY_B, date(2025, 9, 2), 8),
    ("c", "京报网", "<script>alert('x')</script>远程医疗平台上线 电子病历共享", STORY_C, date(2025, 9, 3), 15),
    ("d", "央广网", "秋季运动会开幕", STORY_D, date(2025, 9, 4), 11),
    ("old", "人民网", "上周：医保电子凭证全面推广 智慧医院建设提速", STORY_E, date(2025, 8, 25), 9),
]


def seed_week(database) -> dict[str, int]:
    """The week ending 2025-09-05 (and one article of the week before): ids by key."""
    ids = {}
    with database.session() as session:
        for key, source, title, body, day, hour in SEED:
            moment = datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(timezone.utc)
            result = score(title, body)
            article = Article(url=f"http://news.example.cn/{day:%Y%m%d}/{key}.html", site="test", source_name=source,
                              title=title, body=body, published_at=moment, relevance=result.score,
                              relevance_terms=result.terms, fetched_at=NOW, updated_at=NOW, origin="import",
                              extractor="rules:test", date_source="rule", date_precision="minute")
            session.add(article)
            session.flush()
            assign_cluster(session, article)
            ids[key] = article.id
    return ids


@pytest.fixture
def seeded(db):
    return seed_week(db)


@pytest.fixture
def app(db, db_url):
    application = create_app(db_url, testing=True)
    yield application
    application.extensions["hiwatch"]["database"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def csrf(client) -> str:
    with client.session_transaction() as session:
        if "csrf_token" not in session:
            session["csrf_token"] = "test-csrf-token-0123456789"
        return session["csrf_token"]


def post(client, url, data=None, **kwargs):
    data = dict(data or {})
    data.setdefault("csrf_token", csrf(client))
    return client.post(url, data=data, **kwargs)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def checked_ids(page: str) -> list[int]:
    """The article ids whose pick checkbox is ticked in the week page."""
    tags = re.findall(r'<input type="checkbox" class="pick"[^>]*>', page)
    return sorted(int(re.search(r'value="(\d+)"', tag).group(1)) for tag in tags if re.search(r"\schecked\b", tag))


def docx_titles(data: bytes) -> list[str]:
    import docx

    document = docx.Document(io.BytesIO(data))
    return [p.text for p in document.paragraphs if re.match(r"^\d+\. ", p.text)]


# ---------------------------------------------------------------------------------------------------------------
# week view


def test_week_lists_candidates_ranked_one_row_per_cluster(client, seeded):
    page = text_of(client.get(WEEK))
    rows = re.findall(r'<li class="cand[^"]*" data-id="(\d+)"', page)
    assert len(rows) == 3  # a/a2 one story; the sports news is below the threshold; last week's is not here
    assert str(seeded["a"]) in rows and str(seeded["a2"]) not in rows  # 人民网 is the preferred copy
    assert set(rows) == {str(seeded[k]) for k in ("a", "b", "c")}
    scores = [float(s) for s in re.findall(r'<span class="score"[^>]*>([\d.]+)</span>', page)]
    assert scores == sorted(scores, reverse=True)
    assert "同题报道" in page and f'value="{seeded["a2"]}"' in page and "新华网" in page
    assert "<mark>电子病历</mark>" in page  # matched terms highlighted
    assert "2025-08-31 09:00" in page and "人民网" in page  # date in Asia/Shanghai, source
    assert "患者在不同医院的检查检验结果" in re.sub(r"</?mark>", "", page)  # opening of the body
    assert "秋季运动会" not in page
    everything = text_of(client.get(WEEK + "?all=1"))
    assert "秋季运动会" in everything and 'class="cand below' in everything


def test_week_filters_by_site_and_text(client, seeded):
    page = text_of(client.get(WEEK + "?site=光明日报"))
    assert re.findall(r'data-id="(\d+)"', page.split('<ol class="cand-list">')[1].split("</ol>")[0]) \
        == [str(seeded["b"])]
    by_copy = text_of(client.get(WEEK + "?site=新华网"))  # the other copy's source finds the story too
    assert f'data-id="{seeded["a"]}"' in by_copy and f'data-id="{seeded["b"]}"' not in by_copy
    by_text = text_of(client.get(WEEK + "?q=互联网医院"))
    assert f'data-id="{seeded["b"]}"' in by_text and f'data-id="{seeded["a"]}"' not in by_text
    assert "没有符合筛选条件的候选文章" in text_of(client.get(WEEK + "?q=不存在的词"))


def test_moving_between_weeks(client, seeded):
    assert client.get("/").status_code == 302 and "/week/" in client.get("/").headers["Location"]
    wednesday = client.get("/week/2025-09-03?q=x")
    assert wednesday.status_code == 302 and wednesday.headers["Location"].endswith("/week/2025-09-05?q=x")
    assert client.get("/week?day=2025-08-30").headers["Location"].endswith("/week/2025-09-05")
    assert client.get("/week?day=2025-08-29").headers["Location"].endswith("/week/2025-08-29")
    assert client.get("/week?day=nonsense").status_code == 302
    assert client.get("/week/not-a-date").status_code == 404
    page = text_of(client.get(WEEK))
    assert 'href="/week/2025-08-29"' in page and 'href="/week/2025-09-12"' in page
    before = text_of(client.get("/week/2025-08-29"))
    assert "上周：医保电子凭证全面推广" in before and "电子病历跨院调阅" not in before


# ---------------------------------------------------------------------------------------------------------------
# escaping


def test_article_text_is_escaped_everywhere(client, db, seeded):
    week = text_of(client.get(WEEK))
    assert "<script>alert" not in week and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in week
    article = re.sub(r"</?mark>", "", text_of(client.get(f"/article/{seeded['c']}")))
    assert "<script>alert" not in article and "<b>远程会诊</b>" not in article
    assert "&lt;b&gt;远程会诊&lt;/b&gt;" in article and "&amp;" in article
    response = post(client, f"{WEEK}/issue", {"pick": [seeded["c"]], "number": "640"})
    assert response.status_code == 302
    for fmt in ("html", "md"):
        printed = text_of(client.get(f"{WEEK}/issue.{fmt}"))
        assert "<script>alert" not in printed
    preview = text_of(post(client, f"{WEEK}/preview", {"pick": [seeded["c"]], "number": "640"}))
    assert "<script>" not in preview and "&lt;script&gt;" in preview


def test_highlighting_escapes_every_piece():
    from crawler.web.app import highlight

    assert str(highlight("<i>AI</i>医院 MAIL & AI", ["AI", "医院"])) == (
        "&lt;i&gt;<mark>AI</mark>&lt;/i&gt;<mark>医院</mark> MAIL &amp; <mark>AI</mark>")
    assert str(highlight("<b>", [])) == "&lt;b&gt;" and str(highlight(None, ["x"])) == ""


# ---------------------------------------------------------------------------------------------------------------
# article view, exclusion


def test_article_view_shows_full_text_and_original_link(client, db, seeded):
    page = text_of(client.get(f"/article/{seeded['a']}"))
    assert "<mark>电子病历</mark>" in page
    for paragraph in STORY_A.split("\n"):
        assert f"<p>{paragraph}</p>" in re.sub(r"</?mark>", "", page)
    assert 'href="http://news.example.cn/20250831/a.html"' in page and 'rel="noopener noreferrer"' in page
    assert "新华网" in page and f'href="/article/{seeded["a2"]}"' in page  # the other copy of the story
    assert "得分 " in page and "rules:test" in page and "score" not in page
    assert client.get("/article/99999").status_code == 404


def test_marking_an_article_wrong_and_restoring_it(client, db, seeded):
    article_id = seeded["b"]
    no_reason = post(client, f"/article/{article_id}/exclude", {"reason": " "})
    assert no_reason.status_code == 302
    with db.session() as session:
        assert session.get(Article, article_id).status == "ok"
    assert post(client, f"/article/{article_id}/exclude", {"reason": "正文抽取不全"}).status_code == 302
    with db.session() as session:
        row = session.get(Article, article_id)
        assert (row.status, row.excluded_reason) == ("excluded", "正文抽取不全")
    assert "已排除：正文抽取不全" in text_of(client.get(f"/article/{article_id}"))
    week = text_of(client.get(WEEK))
    assert f'data-id="{article_id}"' not in week
    assert "本周已排除 1 篇" in week and "正文抽取不全" in week.split('id="excluded-list"')[1]
    assert post(client, f"/article/{article_id}/restore").status_code == 302
    with db.session() as session:
        row = session.get(Article, article_id)
        assert (row.status, row.excluded_reason) == ("ok", None)
    assert f'data-id="{article_id}"' in text_of(client.get(WEEK))
    assert post(client, "/article/99999/exclude", {"reason": "x"}).status_code == 404
    assert post(client, "/article/99999/restore").status_code == 404


def test_raw_page_is_served_as_plain_text(client, db, seeded):
    import gzip

    with db.session() as session:
        session.add(RawPage(article_id=seeded["a"], page_no=1, url="http://news.example.cn/20250831/a.html",
                            http_status=200, headers={}, encoding="utf-8",
                            html_gz=gzip.compress("<html><script>x()</script>医检互认</html>".encode()),
                            size=40, fetched_at=NOW))
    response = client.get(f"/article/{seeded['a']}/raw")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "<script>x()</script>医检互认" in text_of(response)
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert client.get(f"/article/{seeded['b']}/raw").status_code == 404


# ---------------------------------------------------------------------------------------------------------------
# the issue: page and CLI share it


def stored_items(db) -> tuple[int | None, list[int]]:
    with db.session() as session:
        digest = session.scalars(select(Digest).where(Digest.friday == FRIDAY)).first()
        if digest is None:
            return None, []
        return digest.number, [item.article_id for item in digest.items]


def test_picked_in_the_page_is_seen_by_the_cli(client, db, db_url, seeded, tmp_path):
    order = [seeded["c"], seeded["a2"], seeded["b"]]  # not date order; the 新华网 copy instead of 人民网's
    response = post(client, f"{WEEK}/issue", {"pick": [seeded["b"], seeded["a2"], seeded["c"]],
                                              "order": ",".join(map(str, order)), "number": "640"})
    assert response.status_code == 302
    assert stored_items(db) == (640, order)
    with db.session() as session:
        digest = session.scalars(select(Digest).where(Digest.friday == FRIDAY)).one()
        first = digest.items[1]
        assert first.source_name == "新华网" and [a["source_name"] for a in first.also_reported_by] == ["人民网"]
    page = text_of(client.get(WEEK))
    assert "已保存：第 640 期 （第六四零）" in page and 'value="640"' in page
    panel = page.split('id="selection"')[1].split("</ol>")[0]
    assert [int(i) for i in re.findall(r'data-id="(\d+)"', panel)] == order
    assert checked_ids(page) == sorted(order)  # the 新华网 copy is ticked, not the 人民网 one
    # the CLI prints the stored issue again, in the page's order
    result = CliRunner().invoke(hiwatch, ["digest", "build", "--week", "2025-09-05", "--db", db_url, "-o",
                                          str(tmp_path), "--format", "md"])
    assert result.exit_code == 0, result.output
    assert "printed again from its stored items" in result.output
    lines = [line for line in result.output.splitlines() if re.match(r"\s+\d\. \[", line)]
    assert [int(re.search(r"\[(\d+)\]", line).group(1)) for line in lines] == order
    assert stored_items(db) == (640, order)


def test_built_by_the_cli_is_seen_by_the_page(client, db, db_url, seeded, tmp_path):
    result = CliRunner().invoke(hiwatch, ["digest", "build", "--week", "2025-09-05", "--db", db_url, "-o",
                                          str(tmp_path), "--number", "641", "--pick", f"{seeded['a']},{seeded['b']}",
                                          "--only"])
    assert result.exit_code == 0, result.output
    page = text_of(client.get(WEEK))
    assert "已保存：第 641 期" in page and 'name="number" id="number" min="1" value="641"' in page
    panel = page.split('id="selection"')[1].split("</ol>")[0]
    assert [int(i) for i in re.findall(r'data-id="(\d+)"', panel)] == [seeded["a"], seeded["b"]]
    assert checked_ids(page) == sorted([seeded["a"], seeded["b"]])
    # every pick is posted from the panel, so saving a filtered page keeps the story the filter hides
    filtered = text_of(client.get(WEEK + "?site=光明日报"))
    assert f'<input type="hidden" name="pick" value="{seeded["a"]}">' in filtered
    assert f'<input type="hidden" name="pick" value="{seeded["b"]}">' in filtered
    assert 'name="pick" form=' not in filtered  # the ticks are not posted: the panel is
    # and the page's download is the CLI's issue
    assert docx_titles(client.get(f"{WEEK}/issue.docx").data)[:2] == [
        "1. 北京推进医检互认 电子病历跨院调阅", "2. 互联网医院服务覆盖全市 智慧医疗再提速"]


def test_the_draft_cookie_is_what_the_page_shows_and_posts(client, db, seeded):
    from crawler.web.drafts import cookie_name

    client.set_cookie(cookie_name(FRIDAY), f"650:{seeded['c']}-{seeded['a2']}-99999", path="/")
    page = text_of(client.get(WEEK + "?site=京报网"))  # the 新华网 copy is filtered out, and still in the panel
    panel = page.split('id="selection"')[1].split("</ol>")[0]
    assert re.findall(r'name="pick" value="(\d+)"', panel) == [str(seeded["c"]), str(seeded["a2"])]  # no 99999
    assert 'id="number" min="1" value="650"' in page and 'id="dirty" >' in page
    assert checked_ids(page) == [seeded["c"]]
    client.delete_cookie(cookie_name(FRIDAY), path="/")
    assert 'id="dirty" hidden' in text_of(client.get(WEEK))


def test_overwriting_a_stored_issue_needs_confirmation(client, db, seeded):
    from crawler.web.drafts import cookie_name

    assert post(client, f"{WEEK}/issue", {"pick": [seeded["a"], seeded["b"]], "number": "640"}).status_code == 302
    client.set_cookie(cookie_name(FRIDAY), f"640:{seeded['c']}", path="/")
    refused = post(client, f"{WEEK}/issue", {"pick": [seeded["c"], seeded["b"]], "number": "641"},
                   follow_redirects=True)
    message = text_of(refused)
    assert "第 640 期已保存，未覆盖" in message and "期号 640 → 641" in message
    assert "新增：&lt;script&gt;" in message and "移出：北京推进医检互认" in message
    assert stored_items(db) == (640, [seeded["a"], seeded["b"]])
    assert client.get_cookie(cookie_name(FRIDAY)) is not None  # the draft is kept
    same = post(client, f"{WEEK}/issue", {"pick": [seeded["a"], seeded["b"]], "number": "640"})
    assert same.status_code == 302 and stored_items(db) == (640, [seeded["a"], seeded["b"]])  # nothing changes
    confirmed = post(client, f"{WEEK}/issue", {"pick": [seeded["b"], seeded["c"]], "number": "640", "overwrite": "1"})
    assert confirmed.status_code == 302 and stored_items(db) == (640, [seeded["b"], seeded["c"]])
    assert client.get_cookie(cookie_name(FRIDAY)) is None  # saved: the draft is gone


def test_the_archive_says_who_built_each_issue(client, db, db_url, seeded, tmp_path):
    assert "还没有保存过周报" in text_of(client.get("/issues"))
    assert post(client, f"{WEEK}/issue", {"pick": [seeded["a"]], "number": "640"}).status_code == 302
    with db.session() as session:
        assert session.scalars(select(Digest)).one().built_by == "page"
    page = text_of(client.get("/issues"))
    assert '<td class="built-by">审阅页面</td>' in page and 'href="/week/2025-09-05/issue.docx"' in page
    result = CliRunner().invoke(hiwatch, ["digest", "build", "--week", "2025-09-05", "--db", db_url, "-o",
                                          str(tmp_path), "--pick", str(seeded["b"]), "--only"])
    assert result.exit_code == 0, result.output
    with db.session() as session:
        assert session.scalars(select(Digest)).one().built_by == "cli"  # rebuilt on the command line
    assert '<td class="built-by">命令行</td>' in text_of(client.get("/issues"))


def test_saving_needs_a_pick_and_a_free_number(client, db, seeded):
    response = post(client, f"{WEEK}/issue", {"number": "640"}, follow_redirects=True)
    assert "请至少选入一篇文章" in text_of(response) and stored_items(db) == (None, [])
    response = post(client, f"{WEEK}/issue", {"pick": [seeded["a"]]}, follow_redirects=True)
    assert "请填写本期期号" in text_of(response) and stored_items(db) == (None, [])  # no earlier issue: say the number
    response = post(client, f"{WEEK}/issue", {"pick": [seeded["a"]], "number": "六四零"}, follow_redirects=True)
    assert "期号必须是正整数" in text_of(response)
    assert post(client, "/week/2025-08-29/issue", {"pick": [seeded["old"]], "number": "639"}).status_code == 302
    assert 'id="number" min="1" value="640"' in text_of(client.get(WEEK))  # suggested: the last issue + 1
    clash = post(client, f"{WEEK}/issue", {"pick": [seeded["a"]], "number": "639"}, follow_redirects=True)
    assert "期号 639 已被 2025-08-29 那一期使用" in text_of(clash) and stored_items(db) == (None, [])
    # the next number is suggested now, and used when the field is left as suggested
    assert post(client, f"{WEEK}/issue", {"pick": [seeded["a"]], "number": "640"}).status_code == 302
    assert stored_items(db) == (640, [seeded["a"]])
    assert post(client, "/week/2025-09-04/issue", {"pick": [seeded["a"]]}).status_code == 404


def test_preview_renders_the_issue_without_storing_it(client, db, seeded):
    response = post(client, f"{WEEK}/preview", {"pick": [seeded["b"], seeded["a"]],
                                                "order": f"{seeded['b']},{seeded['a']}", "number": "650"})
    page = text_of(response)
    assert response.status_code == 200 and "（第六五零）" in page and "全国卫生信息化舆情监测周报" in page
    assert page.index("1. 互联网医院服务覆盖全市") < page.index("2. 北京推进医检互认")
    assert "'unsafe-inline'" in response.headers["Content-Security-Policy"]
    assert stored_items(db) == (None, [])
    with db.session() as session:
        assert session.scalars(select(Digest)).first() is None
    empty = post(client, f"{WEEK}/preview", {"number": "650"})  # nothing picked: back to its week, saying why
    assert empty.status_code == 302 and empty.headers["Location"].endswith(WEEK)
    assert post(client, f"{WEEK}/preview", {"pick": [seeded["a"]]}).status_code == 400  # no number known


def test_downloads_of_the_stored_issue(client, db, seeded):
    for fmt in ("docx", "md", "html"):
        assert client.get(f"{WEEK}/issue.{fmt}").status_code == 404
    post(client, f"{WEEK}/issue", {"pick": [seeded["a"], seeded["b"]], "order": f"{seeded['b']},{seeded['a']}",
                                   "number": "640"})
    docx_response = client.get(f"{WEEK}/issue.docx")
    assert docx_response.status_code == 200 and "attachment" in docx_response.headers["Content-Disposition"]
    assert "filename*=UTF-8''%E5%91%A8%E6%8A%A5-640-20250905.docx" in docx_response.headers["Content-Disposition"]
    assert docx_titles(docx_response.data)[:2] == ["1. 互联网医院服务覆盖全市 智慧医疗再提速",
                                                   "2. 北京推进医检互认 电子病历跨院调阅"]
    md = client.get(f"{WEEK}/issue.md")
    assert "attachment" in md.headers["Content-Disposition"] and md.mimetype == "text/markdown"
    assert text_of(md).index("互联网医院服务覆盖全市") < text_of(md).index("北京推进医检互认")
    inline = client.get(f"{WEEK}/issue.html")
    assert inline.headers["Content-Disposition"].startswith("inline") and "<h1>全国卫生信息化舆情监测周报</h1>" in text_of(inline)
    assert client.get(f"{WEEK}/issue.html?download=1").headers["Content-Disposition"].startswith("attachment")
    assert client.get(f"{WEEK}/issue.pdf").status_code == 404
    assert 'id="preview-frame"' in text_of(client.get(WEEK))


# ---------------------------------------------------------------------------------------------------------------
# add by URL


ARTICLE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>互联网医院接入医保移动支付</title></head>
<body><h1>互联网医院接入医保移动支付</h1><div class="date">2025-09-02 10:00</div><div class="content">
<p>本市互联网医院已全部接入医保移动支付，患者在线复诊后可以直接用医保电子凭证结算，不必再到医院窗口排队。</p>
<p>市卫生健康委介绍，医院信息系统与医保平台完成对接，电子处方流转平台同时上线，处方可以配送到家。</p>
<p>下一步将推动检查检验结果互认，建设全民健康信息平台，让智慧医疗服务覆盖更多基层医疗机构。</p>
</div></body></html>"""


@pytest.fixture
def article_server():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/n1/"):
                body, status = ARTICLE_PAGE.encode("utf-8"), 200
            else:
                body, status = b"not found", 404
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_add_an_article_by_url(client, db, article_server):
    assert "按网址添加文章" in text_of(client.get("/add"))
    response = post(client, "/add", {"url": f"{article_server}/n1/2025/0902/a1.html", "source_name": "测试网"})
    assert response.status_code == 302 and "/article/" in response.headers["Location"]
    with db.session() as session:
        row = session.scalars(select(Article).where(Article.origin == "add")).one()
        assert row.title == "互联网医院接入医保移动支付" and row.source_name == "测试网"
    page = text_of(client.get(response.headers["Location"]))
    assert "已添加" in page and "医保电子凭证" in page


def test_adding_a_bad_url_shows_the_reason(client, db, article_server):
    missing = post(client, "/add", {"url": f"{article_server}/gone.html"})
    assert missing.status_code == 422 and "添加失败" in text_of(missing) and "HTTP 404" in text_of(missing)
    ftp = post(client, "/add", {"url": "ftp://example.cn/a.html"})
    assert "只能添加 http 或 https 网址" in text_of(ftp)
    assert "请填写网址" in text_of(post(client, "/add", {"url": ""}))
    with db.session() as session:
        assert session.scalars(select(Article)).first() is None


# ---------------------------------------------------------------------------------------------------------------
# crawl status


def test_last_crawl_status_is_shown_and_red_when_a_source_found_nothing(client, db, seeded):
    assert "尚无抓取记录" in text_of(client.get(WEEK))
    with db.session() as session:
        run = Run(kind="crawl", started_at=NOW, finished_at=NOW, status="ok", sources=["people", "xinhua"], args={})
        session.add(run)
        session.flush()
        session.add_all([RunSource(run_id=run.id, source="people", links_found=40, fetched=12, stored=12),
                         RunSource(run_id=run.id, source="xinhua", links_found=0)])
    page = text_of(client.get(WEEK))
    status = page.split('id="crawl-status"')[0][-80:] + page.split('id="crawl-status"')[1].split("</section>")[0]
    assert 'class="status bad"' in status and "人民网 12/40" in status  # the 来源 label, not the site code
    assert re.search(r'class="src nothing"[^>]*>新华网 0/0 无结果', status) and "xinhua" not in status
    with db.session() as session:
        run = Run(kind="crawl", started_at=NOW, finished_at=NOW, status="ok", sources=["people"], args={})
        session.add(run)
        session.flush()
        session.add(RunSource(run_id=run.id, source="people", links_found=3, stored=1))
    page = text_of(client.get(WEEK))
    assert 'class="status good"' in page and f"最近抓取 #{run.id}" in page


def test_the_top_bar_names_list_pages_silent_in_their_last_runs(client, db, seeded):
    """As `hiwatch status`: a discovery page with no article link in each of its site's last runs is named, red."""
    from crawler.db.models import RunDiscovery

    moved = "http://health.people.com.cn/GB/408568/index.html"
    with db.session() as session:
        for _ in range(3):
            run = Run(kind="crawl", started_at=NOW, finished_at=NOW, status="ok", sources=["people"], args={})
            session.add(run)
            session.flush()
            session.add(RunSource(run_id=run.id, source="people", links_found=40, fetched=3, stored=3))
            session.add_all([RunDiscovery(run_id=run.id, source="people", url=moved, fetches=1, links_found=12),
                             RunDiscovery(run_id=run.id, source="people", url="http://health.people.com.cn/",
                                          fetches=1, links_found=60, links_matching=40, links_in_window=3)])
    page = text_of(client.get(WEEK))
    status = page.split('id="crawl-status"')[1].split("</section>")[0]
    assert "1 个列表页近期没有文章链接" in status and moved in status and "人民网" in status
    assert "http://health.people.com.cn/</a>" not in status
    assert 'class="status bad"' in page.split('id="crawl-status"')[0][-80:] + status


# ---------------------------------------------------------------------------------------------------------------
# security


POSTS = ["/week/2025-09-05/issue", "/week/2025-09-05/preview", "/article/1/exclude", "/article/1/restore", "/add",
         "/logout"]


def test_every_form_needs_the_csrf_token(client, db, seeded):
    client.get(WEEK)  # a session with a token exists
    for url in POSTS:
        assert client.post(url, data={"pick": "1", "number": "640", "reason": "x", "url": "http://a.cn/"}) \
            .status_code == 400, url
        assert client.post(url, data={"csrf_token": "forged", "reason": "x"}).status_code == 400, url
    with db.session() as session:
        assert session.get(Article, 1).status == "ok" and session.scalars(select(Digest)).first() is None
    page = text_of(client.get(f"/article/{seeded['a']}"))
    token = csrf(client)
    assert page.count(f'name="csrf_token" value="{token}"') >= 1
    assert text_of(client.get(WEEK)).count('name="csrf_token"') == 2  # the issue form and the add form
    assert "安全令牌缺失或已过期" in text_of(client.post("/add", data={"url": "x"}))


def test_security_headers_and_the_host_check(client, seeded):
    response = client.get(WEEK)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "HttpOnly" in response.headers.get("Set-Cookie", "HttpOnly")
    for host in ("127.0.0.1:8765", "localhost", "[::1]:8765"):
        assert client.get(WEEK, headers={"Host": host}).status_code == 200, host
    rebound = client.get(WEEK, headers={"Host": "evil.example:8765"})
    assert rebound.status_code == 400 and "不接受的主机名" in text_of(rebound)
    assert "crawl-status" not in text_of(rebound)  # nothing about the crawl on a refused Host


def test_a_token_is_required_when_configured(db, db_url, seeded):
    app = create_app(db_url, token="s3cret-token", testing=True)
    try:
        client = app.test_client()
        first = client.get(WEEK)
        assert first.status_code == 302 and "/login?next=/week/2025-09-05" in first.headers["Location"]
        assert client.get(f"{WEEK}/issue.docx").status_code == 302
        refused = client.post("/add", data={"url": "http://a.cn/"})
        assert refused.status_code == 401 and "crawl-status" not in text_of(refused)
        login = client.get("/login?next=/week/2025-09-05")
        assert login.status_code == 200 and 'type="password"' in text_of(login)
        assert client.post("/login", data={"token": "s3cret-token"}).status_code == 400  # login has CSRF too
        wrong = post(client, "/login", {"token": "guess", "next": WEEK})
        assert wrong.status_code == 401 and "访问令牌不正确" in text_of(wrong)
        assert client.get(WEEK).status_code == 302
        right = post(client, "/login", {"token": "s3cret-token", "next": WEEK})
        assert right.status_code == 302 and right.headers["Location"] == WEEK
        assert client.get(WEEK).status_code == 200
        for elsewhere in ("//evil.example/", "/\\evil.example/", "http://evil.example/"):
            assert post(client, "/login", {"token": "s3cret-token", "next": elsewhere}).headers["Location"] == "/"
        assert post(client, "/logout").status_code == 302
        assert client.get(WEEK).status_code == 302
        # a header instead of the cookie: no CSRF token needed, no Host restriction
        other = app.test_client()
        headers = {"Authorization": "Bearer s3cret-token", "Host": "review.lan:8765"}
        assert other.get(WEEK, headers=headers).status_code == 200
        assert other.get(WEEK, headers={"X-Hiwatch-Token": "s3cret-token"}).status_code == 200
        assert other.get(WEEK, headers={"X-Hiwatch-Token": "wrong"}).status_code == 302
        saved = other.post(f"{WEEK}/issue", data={"pick": str(seeded["a"]), "number": "640"}, headers=headers)
        assert saved.status_code == 302 and stored_items(db) == (640, [seeded["a"]])
    finally:
        app.extensions["hiwatch"]["database"].dispose()


def test_without_a_token_login_is_not_needed(client):
    assert client.get("/login").status_code == 302
    assert client.get("/favicon.ico").status_code == 204
    assert client.get("/static/review.js").status_code == 200 and client.get("/static/style.css").status_code == 200


def test_serve_refuses_other_addresses_without_a_token(monkeypatch, tmp_path):
    import crawler.web.app as web_app

    started = []
    monkeypatch.setattr(web_app, "make_server", lambda *a, **k: started.append(a))
    monkeypatch.delenv("HIWATCH_WEB_TOKEN", raising=False)
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    connect(url).dispose()  # serve only reads: it never creates the database
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        result = CliRunner().invoke(hiwatch, ["serve", "--host", host, "--db", url])
        assert result.exit_code == 2 and "needs an access token" in result.output, result.output
    result = CliRunner().invoke(hiwatch, ["serve", "--host", "0.0.0.0", "--db", url, "--token", "short"])
    assert result.exit_code == 2 and "too short" in result.output
    assert started == []
    unreachable = CliRunner().invoke(hiwatch, ["serve", "--db", "postgresql://nobody@127.0.0.1:1/none"])
    assert unreachable.exit_code == 3 and "cannot reach" in unreachable.output and started == []
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.1.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("example.com")


def test_serve_runs_the_app_on_localhost(monkeypatch, tmp_path):
    import crawler.web.app as web_app

    class FakeServer:
        server_port = 8765

        def serve_forever(self):
            raise KeyboardInterrupt

        def server_close(self):
            pass

    calls = []
    monkeypatch.setattr(web_app, "make_server", lambda app, host, port: calls.append((host, port)) or FakeServer())
    connect(f"sqlite:///{tmp_path / 'x.sqlite3'}").dispose()  # serve only reads: it never creates the database
    result = CliRunner().invoke(hiwatch, ["serve", "--db", f"sqlite:///{tmp_path / 'x.sqlite3'}"])
    assert result.exit_code == 0, result.output
    assert calls == [("127.0.0.1", 8765)] and "http://127.0.0.1:8765/" in result.output
    result = CliRunner().invoke(hiwatch, ["serve", "--host", "0.0.0.0", "--port", "9000", "--db",
                                          f"sqlite:///{tmp_path / 'x.sqlite3'}"], env={"HIWATCH_WEB_TOKEN": "long-enough"})
    assert result.exit_code == 0 and calls[-1] == ("0.0.0.0", 9000) and "access token required" in result.output


# ---------------------------------------------------------------------------------------------------------------
# a week of many stories: the best hundred cards first, the rest on demand, every one reachable and selectable

MANY_WORDS = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"


def seed_many(database, count: int) -> list[int]:
    """`count` distinct relevant stories in the week ending 2025-09-05, each its own cluster; ids in insert order."""
    from crawler.analyse.minhash import signature
    from crawler.analyse.relevance import default_lexicon, stored

    ids = []
    with database.session() as session:
        for n in range(count):
            tag = "".join(MANY_WORDS[int(d)] for d in f"{n:03d}") + f"号{n}"  # a token only this story has
            title, body = f"第{n}号 智慧医疗建设推进", f"{STORY_B}\n本条编号{tag}，仅此一篇。"
            moment = datetime(2025, 9, 1 + n % 4, 8, n % 60, tzinfo=SHANGHAI).astimezone(timezone.utc)
            article = Article(url=f"http://many.example.cn/{n}.html", site="test", source_name="人民网", title=title,
                              body=body, published_at=moment, fetched_at=NOW, updated_at=NOW, origin="import",
                              minhash=signature(title, body), **stored(score(title, body), default_lexicon()))
            session.add(article)
            session.flush()
            article.cluster_id = article.id
            ids.append(article.id)
    return ids


def card_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="cand[^"]*" data-id="(\d+)"', page)]


def test_week_view_renders_the_best_hundred_cards_and_the_rest_on_demand(client, db):
    from crawler.web.drafts import cookie_name

    ids = seed_many(db, 130)
    page = text_of(client.get(WEEK))
    first = card_ids(page)
    assert len(first) == 100 and "还有 30 条未显示" in page
    more = re.search(r'id="show-more" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "n=200" in more
    everything = card_ids(text_of(client.get(more.split("#")[0])))
    assert sorted(everything) == sorted(ids) and everything[:100] == first  # same order, the rest appended
    assert card_ids(text_of(client.get(WEEK + "?n=all"))) == everything
    # a story past the first hundred: found by its own words in the body, and once picked it stays on the page
    late = everything[120]
    tag = "".join(MANY_WORDS[int(d)] for d in f"{ids.index(late):03d}")
    assert card_ids(text_of(client.get(WEEK + f"?q={tag}"))) == [late]
    client.set_cookie(cookie_name(FRIDAY), f"640:{late}", path="/")
    picked_page = text_of(client.get(WEEK))
    assert card_ids(picked_page) == first + [late] and checked_ids(picked_page) == [late]
    assert "还有 29 条未显示" in picked_page


def test_a_weeks_candidates_are_loaded_without_their_bodies(db):
    """Ranking a week reads titles, scores and clusters; the bodies (most of a row) only where a card shows one."""
    from sqlalchemy import inspect

    from crawler.digest import candidates as C
    from crawler.window import Window

    seed_many(db, 5)
    with db.session() as session:
        found = C.candidates(session, Window.week(FRIDAY))
        assert len(found) == 5
        assert all("body" in inspect(c.article).unloaded for c in found)
        C.load_bodies(session, [c.article for c in found[:2]])
        assert [("body" in inspect(c.article).unloaded) for c in found] == [False, False, True, True, True]
        assert found[0].article.body.endswith("仅此一篇。") and found[4].article.body.endswith("仅此一篇。")


def test_the_week_view_is_built_with_the_garbage_collector_paused_and_puts_it_back(db, client):
    """Collector passes over a week's ORM rows made the week view's p95 at 250,000 stored articles (docs/benchmarks.md)."""
    import gc

    seed_many(db, 30)
    client.get(WEEK)  # warm: templates compiled, lexicon loaded
    started = []

    def seen(phase, info):
        if phase == "start":
            started.append(info["generation"])

    gc.collect()
    threshold = gc.get_threshold()
    gc.set_threshold(50, *threshold[1:])  # a collection every 50 net allocations, were the collector running
    gc.callbacks.append(seen)
    try:
        response = client.get(WEEK)
    finally:
        gc.callbacks.remove(seen)
        gc.set_threshold(*threshold)
    assert response.status_code == 200 and "仅此一篇" in response.get_data(as_text=True)
    assert len(started) < 20  # Flask's own work around the view; building the page unpaused made hundreds
    assert gc.isenabled()
