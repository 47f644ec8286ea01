"""Extractor contract: never raises, flags block/challenge/empty pages, joins continuation pages, cleans titles."""
from __future__ import annotations

import pickle
import random
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.config import Rules
from crawler.extract import extract
from crawler.extract.text import strip_title_suffix

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
PARA = "国家卫生健康委今日发布通知，要求各地加快推进全民健康信息平台建设，提升医疗数据互联互通水平。"


def _article(paragraphs: list[str], extra: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html><head><title>全民健康信息平台建设提速--健康--人民网</title></head><body>"
            f"<div class='rm_txt'><h1>全民健康信息平台建设提速</h1>"
            f"<div class='channel'><div class='col-1-1'>2025年08月31日09:12 | 来源：<a>人民网</a></div></div>"
            f"<div class='rm_txt_con'>{body}{extra}</div></div></body></html>")


@pytest.mark.parametrize("page", [
    b"", "", b"\x00\x00\x00", bytes(range(256)) * 20, b"<html", "<<<>>>", "<?xml version='1.0' encoding='utf-8'?><html/>",
    b"\xef\xbb\xbf", "<html><body>" + "<div>" * 3000 + "x" + "</div>" * 3000 + "</body></html>",
    "<html><body><p>" + "字" * 200000 + "</p></body></html>", "<table><tr><td><a>" * 200,
])
def test_never_raises_on_garbage(page):
    got = extract(page, "https://example.org/x.html", now=NOW)
    assert got.url == "https://example.org/x.html"
    if not got.body:
        assert got.blocked


def test_wrong_argument_types_do_not_raise():
    got = extract(None, "https://example.org/", now=NOW)  # type: ignore[arg-type]
    assert got.blocked


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000) | st.text(max_size=3000))
def test_never_raises_fuzz(page):
    got = extract(page, "http://www.people.com.cn/n1/2025/0101/c1-1.html", now=NOW)
    assert isinstance(got.body, str) and isinstance(got.warnings, list)


def test_mutated_real_template_never_raises():
    html = _article([PARA] * 4)
    rnd = random.Random(7)
    for _ in range(40):
        cut = list(html)
        for _ in range(30):
            cut[rnd.randrange(len(cut))] = rnd.choice("<>/\"'=& \x00字")
        extract("".join(cut).encode("utf-8", "ignore"), "https://example.org/a.html", now=NOW)


def test_people_waf_page_is_blocked():
    waf = (b"<html><head><title>403 Forbidden</title></head><body><img src='https://blocksrc.haplat.net/_bot_sbu/"
           b"sbu-pic.gif'><p>event id: 5f2a9c</p><p>your ip: 203.0.113.9</p></body></html>")
    got = extract(waf, "http://politics.people.com.cn/n1/2025/0831/c1001-40000001.html", now=NOW)
    assert got.blocked and "haplat" in got.blocked


def test_js_challenge_with_200_is_blocked():
    page = ("<html><head><script>var arg1='3F2A';document.cookie='acw_sc__v2='+x;location.reload();</script>"
            "</head><body></body></html>")
    got = extract(page, "https://www.news.cn/health/20250101/abc/c.html", now=NOW)
    assert got.blocked and "challenge" in got.blocked


def test_page_without_body_is_blocked():
    got = extract("<html><head><title>首页</title></head><body><a href='/a'>首页</a><a href='/b'>健康</a></body></html>",
                  "https://example.org/", now=NOW)
    assert got.blocked == "no article body"


def test_real_article_is_not_blocked_by_a_marker_in_its_text():
    got = extract(_article([PARA] * 6 + ["网友反映某网站出现“访问被拒绝”提示，相关部门已介入调查处理。" * 3]),
                  "http://health.people.com.cn/n1/2025/0831/c14739-1.html", now=NOW)
    assert got.blocked is None and "访问被拒绝" in got.body


def test_multipage_bodies_are_joined_in_order():
    first = _article([PARA, "第一页第二段：平台已覆盖全市二级以上公立医院，群众看病就医更加方便快捷。"], "<div class='zdfy'>【1】【2】</div>")
    second = _article(["第二页第一段：下一步将推动基层医疗卫生机构全部接入平台，实现数据共享。", PARA])
    got = extract(first.encode("gb18030"), "http://health.people.com.cn/n1/2025/0831/c14739-1.html",
                  more_pages=[(second.encode("utf-8"), "http://health.people.com.cn/n1/2025/0831/c14739-1-2.html")],
                  now=NOW)
    lines = got.body.split("\n")
    assert lines[0] == PARA
    assert lines[1].startswith("第一页第二段") and lines[2].startswith("第二页第一段")
    assert got.body.count(PARA) == 1  # a paragraph repeated on page 2 is not duplicated
    assert "【2】" not in got.body


def test_site_rules_win_and_noise_is_dropped():
    html = ("<html><head><title>标题_光明网</title></head><body><h1>别的标题</h1><div class='x'><h2 class='t'>规则标题文本</h2>"
            f"<div class='b'><p>{PARA}</p><p class='ad'>广告：点击领取优惠券，限时抢购。广告：点击领取优惠券，限时抢购。</p><p>{PARA}</p></div></div>"
            "</body></html>")
    rules = Rules(title=[".t"], body=[".b"], noise=[".ad"])
    got = extract(html, "https://example.org/a.html", rules=rules, now=NOW)
    assert got.title == "规则标题文本"
    assert "广告" not in got.body and got.body.count(PARA) == 2
    assert got.extractor == "rules:.b"


def test_extract_is_picklable_for_process_pools():
    pickle.dumps(extract)
    with ProcessPoolExecutor(max_workers=1) as pool:
        got = pool.submit(extract, _article([PARA] * 3).encode("utf-8"),
                          "http://health.people.com.cn/n1/2025/0831/c14739-1.html", None, None, NOW).result()
    assert got.title == "全民健康信息平台建设提速"
    assert got.published_at == datetime(2025, 8, 31, 1, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("raw, expected", [
    ("促进航天技术更好惠及人民--时政--人民网", "促进航天技术更好惠及人民"),
    ("宇航员在太空中喝酒会怎么样？后果很严重 _探索者 _光明网", "宇航员在太空中喝酒会怎么样？后果很严重"),
    ("法国全国大罢工再次严重影响交通-新华网", "法国全国大罢工再次严重影响交通"),
    ("湖南衡阳一小区消防安全隐患被要求整改_央广网", "湖南衡阳一小区消防安全隐患被要求整改"),
    ("多家医院医生有了“AI分身”_京报网", "多家医院医生有了“AI分身”"),
    ("诺思罗普-格鲁曼公司研制的新型无人机亮相", "诺思罗普-格鲁曼公司研制的新型无人机亮相"),
])
def test_title_suffixes(raw, expected):
    assert strip_title_suffix(raw) == expected


def test_editor_author_source_kept_apart():
    html = _article([f"本报北京8月30日电（记者 胡喆）{PARA}", PARA, "(责编：毛思远、邱烨)"])
    got = extract(html, "http://health.people.com.cn/n1/2025/0831/c14739-1.html", now=NOW)
    assert got.author == "胡喆"
    assert got.editor == "毛思远、邱烨"
    assert got.original_source == "人民网"
    assert "责编" not in got.body


@pytest.mark.parametrize("closing", ["</h1>", "<h1>"])
def test_unclosed_anchor_and_headline_in_broken_markup(closing):
    """An unclosed <a> swallows the body and an unclosed <h1> the whole page: title and body stay clean."""
    html = ("<html><head><meta charset=utf-8><title>基层医院接入远程会诊平台_健康_人民网</title></head><body>"
            f"<div class='rm_txt'><h1>基层医院接入远程会诊平台{closing}"
            "<div class=channel><div class='col-1-1'>2025年09月02日10:30 | 来源：<a href=/>人民网"
            "<div class=rm_txt_con><p>　　记者王镕报道：全省乡镇卫生院已全部接入远程会诊平台，患者在家门口就能看专家。"
            "<p>　　平台上线以来累计开展远程会诊两万余例，基层首诊率明显提高。</span></td>"
            "<table><tr><td>　　下一步将推动检查结果互认，减少重复检查。</div></div><p <<>> </p><scr")
    got = extract(html.encode("utf-8"), "http://health.people.com.cn/n1/2025/0902/c14739-2.html", now=NOW)
    assert got.title == "基层医院接入远程会诊平台"
    assert got.body.split("\n")[0].startswith("记者王镕报道")
    assert got.body.endswith("减少重复检查。")
    assert got.author == "王镕" and got.original_source == "人民网"
    assert got.published_at == datetime(2025, 9, 2, 2, 30, tzinfo=timezone.utc)


def test_sentences_that_mention_sharing_or_copyright_stay():
    keep = ["市民把检查报告分享到家庭群，异地就医的家人也能查看。",
            "法院认定，该平台对患者健康数据并不享有版权所有权，判决其删除相关数据并赔礼道歉。"]
    got = extract(_article([PARA] + keep + ["分享到：微信 微博", "人民网版权所有，未经书面授权禁止使用"]),
                  "http://health.people.com.cn/n1/2025/0831/c14739-1.html", now=NOW)
    assert got.body.split("\n") == [PARA] + keep


@pytest.mark.parametrize("line, editor", [
    ("(责编：毛思远、邱烨)", "毛思远、邱烨"), ("【责任编辑:崔红宗】", "崔红宗"), ("编辑:李楠", "李楠"),
    ("[责编：孙宗鹤]", "孙宗鹤"), ("责任编辑：孙重远", "孙重远"),
])
def test_editor_lines_leave_the_body(line, editor):
    got = extract(_article([PARA, PARA + "（二）", line]), "http://health.people.com.cn/n1/2025/0831/c14739-1.html",
                  now=NOW)
    assert got.editor == editor and line not in got.body


def test_a_sentence_starting_with_bianji_is_body():
    line = "编辑部近日收到读者来信，反映某医院挂号难的问题，记者随即展开调查。"
    got = extract(_article([PARA, line]), "http://health.people.com.cn/n1/2025/0831/c14739-1.html", now=NOW)
    assert line in got.body and got.editor is None


def test_lines_keep_text_after_comments_and_skipped_elements_once():
    from crawler.extract.html import _lines, _parse

    root = _parse("<html><body><div>通行证：用户名<input name=u> 密码<input name=p></div>"
                  "<p>萧乾是这份刊物的元老<!-- 注释 -->，还在香港时<script>var x = 1;</script>就为刊物改稿。</p>"
                  "<p>第二段<br>换行<?php echo 1; ?>之后</p></body></html>")
    assert _lines(root) == ["通行证：用户名 密码", "萧乾是这份刊物的元老，还在香港时就为刊物改稿。", "第二段", "换行之后"]
