"""The date chain: Chinese formats, URL patterns, metas, Founder comments, future rejection, time zones."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from crawler.extract.dates import (
    Candidate, SHANGHAI, choose, date_from_url, meta_candidates, parse_datetime, parse_datetimes,
)
from crawler.extract import extract

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expected, precision", [
    ("2025年08月31日09:12 | 来源：人民网－重庆频道", datetime(2025, 8, 31, 9, 12), "minute"),
    ("2025年8月3日 09:12:05", datetime(2025, 8, 3, 9, 12, 5), "second"),
    ("发布时间：2023-11-06 09:53", datetime(2023, 11, 6, 9, 53), "minute"),
    ("来源:河北日报2023-11-06 09:53", datetime(2023, 11, 6, 9, 53), "minute"),
    ("2024/5/20 10:31", datetime(2024, 5, 20, 10, 31), "minute"),
    ("2024.05.20", datetime(2024, 5, 20), "day"),
    ("《光明日报》（ 2025年02月12日 04版）", datetime(2025, 2, 12), "day"),
    ("２０２５年０８月３１日　０９：１２", datetime(2025, 8, 31, 9, 12), "minute"),
    ("2019-9-5 9:38:01", datetime(2019, 9, 5, 9, 38, 1), "second"),
    ("2016年10月14日07:17", datetime(2016, 10, 14, 7, 17), "minute"),
    ("2025年08月31日", datetime(2025, 8, 31), "day"),
])
def test_chinese_and_iso_formats(text, expected, precision):
    assert parse_datetime(text) == (expected, precision)


def test_iso_with_offset_is_aware():
    value, precision = parse_datetime("2019-09-07T13:43:45+08:00")
    assert precision == "second" and value.utcoffset().total_seconds() == 8 * 3600


@pytest.mark.parametrize("text", ["", "无日期", "2025年13月40日", "1888-01-01", "电话 2025-0831"])
def test_non_dates(text):
    assert parse_datetime(text) is None


def test_date_prefers_time_on_same_day():
    assert parse_datetime("2024-04-24 | 2024-04-24 23:52") == (datetime(2024, 4, 24, 23, 52), "minute")
    assert len(parse_datetimes("2024-01-01 2024-01-02 2024-01-03")) == 3


@pytest.mark.parametrize("url, expected", [
    ("http://cq.people.com.cn/n2/2025/0831/c367698-41338013.html", date(2025, 8, 31)),
    ("http://politics.people.com.cn/n1/2024/0424/c1001-40223222.html", date(2024, 4, 24)),
    ("https://www.news.cn/health/20240919/1e80cf02e0334e0592bf46c59ed833f9/c.html", date(2024, 9, 19)),
    ("http://www.xinhuanet.com/local/2020-02/19/c_1125597921.htm", date(2020, 2, 19)),
    ("https://difang.gmw.cn/he/2023-11/06/content_36944629.htm", date(2023, 11, 6)),
    ("https://health.cnr.cn/jkgdxw/20250428/t20250428_527151630.shtml", date(2025, 4, 28)),
    ("https://news.bjd.com.cn/2025/07/01/11218209.shtml", date(2025, 7, 1)),
    ("https://epaper.gmw.cn/gmrb/html/2025-02/12/nw.D110000gmrb_20250212_4-01.htm", date(2025, 2, 12)),
    ("https://epaper.gmw.cn/gmrb/html/content/202601/15/content_100.html", date(2026, 1, 15)),
    ("https://bjrbdzb.bjd.com.cn/bjrb/mobile/2026/20260618/20260618_001/content_20260618_001_1.htm", date(2026, 6, 18)),
    ("https://web.archive.org/web/20120611024252/http://www.he.xinhuanet.com/news/2012-06/04/content_25340717.htm",
     date(2012, 6, 4)),
    ("https://xinwen.bjd.com.cn/content/s5f1c2b3a4d5e6f7a8b9c0d1e.html", None),
    ("https://www.gmw.cn/", None),
    ("", None),
])
def test_url_dates(url, expected):
    assert date_from_url(url) == expected


def test_meta_and_founder_comment():
    cands = meta_candidates({"publishdate": "2024-04-24"}, ["enpproperty <date>2016-10-31 09:28:27.0</date><author>x</author>"])
    assert [c.precision for c in cands] == ["day", "second"]
    assert cands[1].value == datetime(2016, 10, 31, 9, 28, 27)
    og = meta_candidates({"article:published_time": "2019-09-07T13:43:45+08:00"})
    assert og[0].utc() == datetime(2019, 9, 7, 5, 43, 45, tzinfo=timezone.utc)


def test_shanghai_to_utc():
    cand = Candidate(datetime(2025, 8, 31, 9, 12), "rule", "minute")
    assert cand.utc() == datetime(2025, 8, 31, 1, 12, tzinfo=timezone.utc)
    late = Candidate(datetime(2024, 4, 24, 23, 52), "rule", "minute")
    assert late.utc().date() == date(2024, 4, 24)  # 15:52 UTC
    early = Candidate(datetime(2024, 4, 24, 7, 0), "rule", "minute")
    assert early.utc() == datetime(2024, 4, 23, 23, 0, tzinfo=timezone.utc)


def test_future_dates_are_rejected():
    future = Candidate(datetime(2027, 1, 1, 9, 0), "rule", "minute")
    past = Candidate(datetime(2026, 11, 19, 9, 0), "text", "minute")
    assert choose([future, past], None, NOW) is past
    assert choose([future], None, NOW) is None
    # a day-precision date of today (Shanghai) is not in the future
    today = Candidate(datetime(2026, 11, 20), "meta", "day")
    assert choose([today], None, NOW) is today


def test_clock_skew_is_tolerated_but_clamped_to_now():
    skewed = Candidate(datetime(2026, 11, 20, 20, 3), "rule", "minute")  # 12:03 UTC, now is 12:00 UTC
    picked = choose([skewed], None, NOW)
    assert picked.utc() == NOW and picked.source == "rule"
    too_far = Candidate(datetime(2026, 11, 20, 20, 30), "rule", "minute")
    assert choose([too_far], None, NOW) is None


def test_url_day_anchors_and_precision_wins():
    meta_day = Candidate(datetime(2025, 8, 31), "meta", "day")
    text_time = Candidate(datetime(2025, 8, 31, 9, 12), "text", "minute")
    sidebar = Candidate(datetime(2025, 9, 2, 10, 0), "rule", "minute")
    picked = choose([sidebar, meta_day, text_time], date(2025, 8, 31), NOW)
    assert picked is text_time
    # nothing on the URL day: the URL day itself
    picked = choose([sidebar], date(2025, 8, 31), NOW)
    assert (picked.source, picked.precision, picked.value) == ("url", "day", datetime(2025, 8, 31))


def test_without_url_best_source_sets_the_day():
    rule = Candidate(datetime(2025, 8, 30), "rule", "day")
    text_same_day = Candidate(datetime(2025, 8, 30, 21, 5), "text", "minute")
    text_other = Candidate(datetime(2025, 8, 29, 8, 0, 0), "text", "second")
    assert choose([text_other, rule, text_same_day], None, NOW) is text_same_day


def _page(head: str = "", body: str = "") -> str:
    para = "<p>国家卫生健康委员会今日发布通知，要求各地加快推进全民健康信息平台建设，提升医疗数据互联互通水平。</p>" * 3
    return f"<html><head>{head}<title>全民健康信息平台建设提速_光明网</title></head><body>{body}{para}</body></html>"


def test_extract_chain_rule_beats_htmldate_pitfall():
    # htmldate alone reads 2025-01-01 off such pages; the chain reads the Chinese date-time near the title
    html = _page(body='<h1>全民健康信息平台建设提速</h1><div class="info">2025年08月31日09:12 | 来源：重庆日报</div>'
                      '<div class="footer">© 2025-01-01 版权所有</div>')
    got = extract(html, "https://example.org/a.html", now=NOW)
    assert got.published_at == datetime(2025, 8, 31, 1, 12, tzinfo=timezone.utc)
    assert (got.date_source, got.date_precision) == ("text", "minute")


def test_extract_chain_meta_then_url():
    html = _page(head='<meta name="publishdate" content="2024-04-24">', body="<h1>全民健康信息平台建设提速</h1>")
    got = extract(html, "http://health.people.com.cn/n1/2024/0424/c14739-40223222.html", now=NOW)
    assert (got.date_source, got.date_precision) == ("meta", "day")
    assert got.published_at.astimezone(SHANGHAI).date() == date(2024, 4, 24)
    got = extract(_page(body="<h1>全民健康信息平台建设提速</h1>"), "https://www.news.cn/health/20240919/abc/c.html", now=NOW)
    assert got.date_source == "url" and got.published_at.astimezone(SHANGHAI).date() == date(2024, 9, 19)


def test_extract_rejects_future_page_date():
    html = _page(body="<h1>全民健康信息平台建设提速</h1><div>2030-01-01 08:00 来源：新华网</div>")
    got = extract(html, "https://www.news.cn/health/20240919/abc/c.html", now=NOW)
    assert got.published_at.astimezone(SHANGHAI).date() == date(2024, 9, 19)
    got = extract(html, "https://example.org/x.html", now=NOW)
    assert got.published_at is None or got.published_at <= NOW
