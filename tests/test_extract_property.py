"""Property-based: random bytes, random text and mutated news pages through crawler.extract.core.extract.

Two properties, whatever the input: extract() never raises (it reports instead), and it never returns a
published_at later than `now` — not even when the page, its <meta> tags or its URL carry dates in the future.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crawler.extract.article import Extracted
from crawler.config import Rules
from crawler.extract import extract

REPO = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 9, 6, 4, 0, tzinfo=timezone.utc)  # Saturday 12:00 in Shanghai

PEOPLE_RULES = Rules(title=[".rm_txt h1"], body=["#rm_txt_zw", ".rm_txt_con"], date=[".channel .col-1-1"],
                     editor=[".edit"], source=[".channel .col-1-1 a"], noise=[".edit"],
                     title_suffix="(?:--|_)人民网$")
RULES = st.sampled_from([None, PEOPLE_RULES, Rules(body=["#nothing-matches"], date=["p"], title=["a"])])
CONTENT_TYPES = st.sampled_from([None, "text/html", "text/html; charset=utf-8", "text/html; charset=gb2312",
                                 "text/html; charset=GBK", "text/html; charset=big5", "text/html; charset=bogus-9",
                                 "application/octet-stream", "text/plain; charset=utf-16"])

TEMPLATE = """<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}--健康·生活--人民网</title>
<meta name="publishdate" content="{meta}"><meta property="article:published_time" content="{iso}"></head><body>
<div class="rm_txt cf"><div class="col col-1 fl"><h1>{title}</h1>
<div class="channel cf"><div class="col-1-1 fl">{when} | 来源：<a href="http://www.people.com.cn/">人民网－人民日报</a></div></div>
<div class="rm_txt_con cf" id="rm_txt_zw">
<p>　　记者胡喆报道：{text}互联网医院和电子病历共享让患者少跑腿，医检互认平台已接入全市医疗机构。</p>
<p>　　{inline}记者在现场看到，医生调阅外院影像只需几秒钟，数字化改革提高了诊疗效率，也减轻了群众负担。</p>
<div class="edit cf">(责编：张三、李四)</div></div></div></div><!--<date>{comment}</date>--></body></html>"""


def _seed_pages() -> list[bytes]:
    """Pages the project wrote (fixtures/replay), a few per site, as bytes in their own encodings."""
    pages = []
    for manifest in sorted((REPO / "fixtures" / "replay").glob("*/MANIFEST.jsonl")):
        taken = 0
        for line in manifest.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line) if line.strip() else {}
            file = manifest.parent / entry.get("file", "")
            if file.is_file() and file.suffix in (".html", ".htm", ".shtml") and taken < 3:
                pages.append(file.read_bytes()[:60_000])
                taken += 1
    return pages or [TEMPLATE.encode("utf-8")]


SEEDS = _seed_pages()

# Dates anywhere from 1970 to 2100, and a dense band around NOW (minutes either side): the edge that matters.
WHEN = st.one_of(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(SHANGHAI)),
    st.integers(-3 * 24 * 60, 3 * 24 * 60).map(lambda m: (NOW + timedelta(minutes=m)).astimezone(SHANGHAI)),
    st.integers(-600, 600).map(lambda s: (NOW + timedelta(seconds=s)).astimezone(SHANGHAI)),
)
FORMATS = st.sampled_from(["%Y年%m月%d日%H:%M", "%Y年%m月%d日 %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S",
                           "%Y-%m-%d", "%Y/%m/%d %H:%M", "%Y.%m.%d", "%Y年%m月%d日", "%Y-%m-%dT%H:%M:%S+08:00",
                           "%m-%d %H:%M", "%H:%M"])
DATE_TEXT = st.builds(lambda when, fmt: when.strftime(fmt), WHEN, FORMATS)
URL = st.one_of(
    st.builds(lambda d, n: f"http://health.people.com.cn/n1/{d:%Y/%m%d}/c14739-{n}.html",
              st.dates(min_value=datetime(1990, 1, 1).date(), max_value=datetime(2100, 1, 1).date()),
              st.integers(1, 10 ** 8)),
    st.sampled_from(["http://www.news.cn/health/20250903/abc/c.html", "https://example.org/",
                     "http://health.people.com.cn/n1/2025/0906/c14739-1.html", "", "not a url"]),
)
CJK = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=200)
ANY_TEXT = st.text(max_size=300)


@st.composite
def dated_page(draw) -> tuple[bytes, str]:
    """The people.com.cn template with random (often future) dates in its text, meta tags and comment."""
    fields = {
        "title": draw(st.one_of(CJK, ANY_TEXT)), "when": draw(DATE_TEXT), "meta": draw(DATE_TEXT),
        "iso": draw(st.one_of(DATE_TEXT, WHEN.map(lambda w: w.isoformat()))), "comment": draw(DATE_TEXT),
        "text": draw(st.one_of(CJK, ANY_TEXT)), "inline": draw(DATE_TEXT),
        "charset": draw(st.sampled_from(["utf-8", "gb2312", "gbk"])),
    }
    html = TEMPLATE.format(**fields)
    encoding = draw(st.sampled_from(["utf-8", "gb18030"]))
    return html.encode(encoding, errors="replace"), encoding


@st.composite
def mutated(draw, base: st.SearchStrategy[bytes]) -> bytes:
    """Cut, duplicate, insert and overwrite slices of a page; inject tags and dates."""
    data = bytearray(draw(base))
    inserts = st.one_of(st.binary(max_size=64), ANY_TEXT.map(lambda t: t.encode("utf-8")),
                        DATE_TEXT.map(lambda t: t.encode("utf-8")),
                        st.sampled_from([b"<", b">", b"</div>", b"<div>", b"<p>", b"<h1>", b"<script>", b"</html>",
                                         b"<!--", b"-->", b"<![CDATA[", b"&#x", b"\x00", b"\xff\xfe", b"<?xml ?>",
                                         b"<meta charset='utf-16'>", b'<div id="rm_txt_zw">', b"<table><tr><td>"]))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "overwrite", "truncate"]))
        n = len(data)
        at = draw(st.integers(0, n))
        if op == "delete" and n:
            del data[at: at + draw(st.integers(1, 2000))]
        elif op == "insert":
            data[at:at] = draw(inserts)
        elif op == "duplicate" and n:
            data[at:at] = data[at: at + draw(st.integers(1, 4000))]
        elif op == "overwrite" and n:
            chunk = draw(st.binary(min_size=1, max_size=16))
            data[at: at + len(chunk)] = chunk
        elif op == "truncate":
            del data[at:]
    return bytes(data)


# crawler.extract.dates.choose() accepts precise candidates up to 5 minutes past `now` (clock skew) but clamps the
# result to `now`: every test checks the strict property (it once returned now + up to 5 min).
SKEW = timedelta(0)


def _check(result: Extracted, now: datetime, slack: timedelta = SKEW) -> None:
    assert isinstance(result, Extracted)
    if result.published_at is not None:
        assert result.published_at.tzinfo is not None
        assert result.published_at <= now + slack, (result.published_at, result.date_source, result.date_precision)


COMMON = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])


@COMMON
@given(data=st.binary(max_size=30_000), url=URL, rules=RULES, content_type=CONTENT_TYPES)
def test_random_bytes(data, url, rules, content_type):
    _check(extract(data, url, rules, content_type, now=NOW), NOW)


@COMMON
@given(text=st.text(max_size=5_000), url=URL, rules=RULES)
def test_random_text(text, url, rules):
    _check(extract(text, url, rules, None, now=NOW), NOW)


@COMMON
@given(data=mutated(st.sampled_from(SEEDS)), url=URL, rules=RULES, content_type=CONTENT_TYPES)
def test_mutated_project_pages(data, url, rules, content_type):
    _check(extract(data, url, rules, content_type, now=NOW), NOW)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=dated_page(), url=URL, rules=RULES)
def test_dates_in_the_future_are_never_returned(page, url, rules):
    data, encoding = page
    _check(extract(data, url, rules, f"text/html; charset={encoding}", now=NOW), NOW)


ONE_MINUTE_AHEAD = TEMPLATE.format(title="医院上线互联网诊疗平台", when="2025年09月06日12:01", meta="2025-09-06 12:01",
                                   iso="2025-09-06T12:01:00+08:00", comment="", text="", inline="", charset="utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(page=(ONE_MINUTE_AHEAD.encode("utf-8"), "utf-8"), url="http://health.people.com.cn/n1/2025/0906/c1-1.html",
         rules=PEOPLE_RULES)
@given(page=dated_page(), url=URL, rules=RULES)
def test_dates_strictly_not_after_now(page, url, rules):
    data, encoding = page
    _check(extract(data, url, rules, f"text/html; charset={encoding}", now=NOW), NOW, slack=timedelta(0))


@COMMON
@given(data=mutated(dated_page().map(lambda p: p[0])), url=URL, rules=RULES)
def test_mutated_dated_pages(data, url, rules):
    _check(extract(data, url, rules, None, now=NOW), NOW)


@settings(max_examples=60, deadline=None)
@given(page=dated_page(), url=URL)
def test_default_now_is_the_clock(page, url):
    """Without `now`, the clock is the limit (a page dated 2099 stays undated, not in the future)."""
    result = extract(page[0], url, PEOPLE_RULES)
    _check(result, datetime.now(timezone.utc))


def test_more_pages_of_garbage_do_not_raise():
    result = extract(SEEDS[0], "http://health.people.com.cn/n1/2025/0905/c14739-1.html", PEOPLE_RULES,
                     more_pages=[(b"\x00\xff" * 5000, "http://x/2.html"), ("<html><p>", "http://x/3.html"),
                                 (b"", "")], now=NOW)
    _check(result, NOW)


def test_non_page_inputs_do_not_raise():
    for value in (None, 42, [], b"", "", memoryview(b"<html>"), bytearray(b"<p>x</p>")):
        _check(extract(value, "http://health.people.com.cn/n1/2025/0905/c14739-1.html", None, now=NOW), NOW)
