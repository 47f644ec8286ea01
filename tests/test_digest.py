"""The issue: numbering, settings, renderings (escaping, DOCX fonts and page numbers), selection, clusters, storage."""
from __future__ import annotations

import json
import zipfile
from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from crawler.db.models import Article, Digest
from crawler.db.cluster import assign_cluster
from crawler.digest.build import DigestBuildError, build_issue, write_outputs
from crawler.digest.cli import digest
from crawler.digest.layout import Issue, IssueItem
from crawler.digest.numbering import chinese_digits, parse_chinese_digits
from crawler.digest.render import md_escape, render_html, render_markdown
from crawler.digest.settings import DigestConfigError, DigestSettings, load_digest_settings
from crawler.window import SHANGHAI

FRIDAY = date(2025, 9, 5)
NOW = datetime(2025, 9, 6, tzinfo=timezone.utc)
HEALTH_IT = ("市卫生健康委推进医检互认和电子病历共享，患者在医院的检查结果可跨院调阅。\n"
             "医院信息化建设加快，互联网医院服务覆盖全市。\n影像云平台接入基层医疗机构。")
HEALTH_IT_2 = ("县医院上线互联网医院，慢病患者在手机上复诊续方，电子处方流转到药店。\n"
               "县卫生健康局表示，全民健康信息平台已连通所有乡镇卫生院，远程会诊常态化。")
HEALTH_IT_3 = ("全省医学影像云平台覆盖县级医院，群众不用再带着胶片跑医院，电子胶片可在手机上调阅。\n"
               "省卫生健康委介绍，医疗机构之间的检查检验结果互认项目继续扩大，减少重复检查。")


@pytest.mark.parametrize("number, digits", [(640, "六四零"), (576, "五七六"), (674, "六七四"), (1005, "一零零五"), (0, "零")])
def test_issue_numbers_in_chinese_digits(number, digits):
    assert chinese_digits(number) == digits
    assert parse_chinese_digits(digits) == number
    assert parse_chinese_digits("六〇〇") == 600


def test_settings_defaults_follow_the_newest_issue():
    settings = load_digest_settings()
    assert settings.number_text(674) == "（第六七四）"
    assert settings.date_text(date(2026, 5, 22)) == "2026年05月22日"
    assert settings.item_date_text(date(2026, 5, 21)) == "2026-05-21"
    assert settings.organisation == "北京市卫生健康大数据与政策研究中心"
    assert settings.lead_text(2, date(2026, 5, 16), date(2026, 5, 22)) == (
        "本期周报共收集2篇卫生健康大数据与政策研究相关信息，时间从2026年05月16日到2026年05月22日，"
        "监测范围包括全国主流媒体及政府网站等。")


def test_bad_settings_are_reported(tmp_path):
    file = tmp_path / "digest.yaml"
    file.write_text("organisation: 某中心\nnumber_line: （第{digit}期）\n", encoding="utf-8")
    with pytest.raises(DigestConfigError, match=r"digest.yaml:2: field number_line: .*digit"):
        load_digest_settings(file)
    file.write_text("max_items: 0\n", encoding="utf-8")
    with pytest.raises(DigestConfigError, match="max_items"):
        load_digest_settings(file)


def _issue(body: str = "第一段。\n第二段。", title: str = "医检互认数字化改革惠及百姓", url: str = "http://a.example/1.html",
           also=()) -> Issue:
    return Issue(640, FRIDAY, date(2025, 8, 30), FRIDAY, "北京市卫生健康大数据与政策研究中心",
                 [IssueItem(1, title, "人民网", url, date(2025, 8, 31), body, list(also))])


def test_markdown_escapes_article_text():
    assert md_escape("1. 不是列表") == "1\\. 不是列表"
    assert md_escape("# 不是标题") == "\\# 不是标题"
    assert md_escape("a*b*_c_<d>") == "a\\*b\\*\\_c\\_\\<d\\>"
    text = render_markdown(_issue(body="<script>alert(1)</script>\n- 条目"), DigestSettings())
    assert "\\<script\\>alert(1)\\</script\\>" in text and "\n\\- 条目" in text
    assert "<http://a.example/1.html>" in text


def test_html_escapes_article_text_and_links():
    issue = _issue(body="<script>alert('x')</script> & more", title="标题<b>",
                   url="javascript:alert(1)")
    page = render_html(issue, DigestSettings())
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "标题&lt;b&gt;" in page
    assert 'href="javascript' not in page
    good = render_html(_issue(url='http://a.example/x?a=1&b="2"'), DigestSettings())
    assert 'href="http://a.example/x?a=1&amp;b=%222%22"' in good


def test_docx_is_a4_with_east_asian_fonts_and_a_page_field(tmp_path):
    path = write_outputs(_issue(), DigestSettings(), tmp_path, ["docx"])[0]
    with zipfile.ZipFile(path) as package:
        document = package.read("word/document.xml").decode("utf-8")
        styles = package.read("word/styles.xml").decode("utf-8")
        footers = "".join(package.read(n).decode("utf-8") for n in package.namelist() if "footer" in n)
    assert 'w:w="11906"' in document and 'w:h="16838"' in document  # A4 in twentieths of a point
    assert 'w:eastAsia="黑体"' in styles and 'w:eastAsia="宋体"' in styles
    assert "asciiTheme" not in styles.split('w:styleId="Heading1"')[1].split("</w:style>")[0]
    assert "PAGE" in footers and 'w:fldCharType="begin"' in footers
    for text in ("全国卫生信息化舆情监测周报", "（第六四零）", "本期导语：", "一、信息目录", "二、具体内容",
                 "来源：人民网", "主要内容：", "2025-08-31 来源：人民网", "第二段。"):
        assert text in document


def _add(session, url, title, body, source, day: date, hour: int = 9) -> Article:
    moment = datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(timezone.utc)
    article = Article(url=url, site="test", source_name=source, title=title, body=body, published_at=moment,
                      fetched_at=NOW, updated_at=NOW, origin="import")
    session.add(article)
    session.flush()
    assign_cluster(session, article)
    return article


def test_numbering_continues_from_the_last_issue_across_skipped_weeks(db):
    settings = DigestSettings()
    with db.session() as session:
        _add(session, "http://a.example/1", "医院推进医检互认", HEALTH_IT, "人民网", date(2025, 8, 31))
        _add(session, "http://a.example/2", "互联网医院上线", HEALTH_IT_2, "新华网", date(2025, 9, 19))
        _add(session, "http://a.example/3", "影像云接入", HEALTH_IT_3, "光明网", date(2025, 9, 24))
        with pytest.raises(DigestBuildError, match="--number"):
            build_issue(session, FRIDAY, settings)
    with db.session() as session:
        assert build_issue(session, FRIDAY, settings, number=640).issue.number == 640
        # 2025-09-12: a holiday week without an issue; the next issue is still 641
        assert build_issue(session, date(2025, 9, 19), settings).issue.number == 641
        with pytest.raises(DigestBuildError, match="already used by the issue of 2025-09-05"):
            build_issue(session, date(2025, 9, 26), settings, number=640)
    with db.session() as session:
        assert build_issue(session, date(2025, 9, 26), settings, number=650).issue.number == 650
        stored = {d.friday: d.number for d in session.query(Digest)}
    assert stored == {FRIDAY: 640, date(2025, 9, 19): 641, date(2025, 9, 26): 650}
    with db.session() as session:
        # an issue for a skipped week built late would take 641 after 640: already used, so it asks for a number
        with pytest.raises(DigestBuildError, match="641 is already used by the issue of 2025-09-19"):
            build_issue(session, date(2025, 9, 12), settings, picks=[1])


def test_selection_clusters_preferred_source_picks_and_excludes(db, db_url, tmp_path):
    settings = DigestSettings(preferred_sources=["人民网"])
    other = "智慧医院建设提速，患者就医更便捷。\n医院信息化平台实现互联互通，电子病历评级提升。\n远程医疗覆盖基层医疗机构。"
    with db.session() as session:
        first = _add(session, "http://cqrb.example/1", "医检互认数字化改革惠及百姓", HEALTH_IT, "重庆日报", date(2025, 8, 31), 6)
        reprint = _add(session, "http://cq.people.com.cn/1", "医检互认数字化改革惠及百姓", HEALTH_IT, "人民网",
                       date(2025, 8, 31), 12)
        second = _add(session, "http://gmw.example/2", "智慧医院建设提速", other, "光明网", date(2025, 9, 2))
        sport = _add(session, "http://x.example/3", "足球联赛开幕", "比赛精彩纷呈。", "新华网", date(2025, 9, 1))
        assert reprint.cluster_id == first.id
        ids = (first.id, reprint.id, second.id, sport.id)
    first_id, reprint_id, second_id, sport_id = ids

    runner = CliRunner()
    result = runner.invoke(digest, ["candidates", "--week", "2025-09-05", "--db", db_url, "--json", "--all"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert {r["id"] for r in rows} == {reprint_id, second_id, sport_id}  # one row per cluster
    assert rows[-1]["id"] == sport_id and rows[0]["score"] >= rows[1]["score"] >= rows[2]["score"]
    top = next(r for r in rows if r["id"] == reprint_id)
    assert top["also_reported_by"] == [{"id": first_id, "source_name": "重庆日报", "url": "http://cqrb.example/1"}]
    assert "医检互认" in top["terms"] and top["relevant"]
    assert not next(r for r in rows if r["id"] == sport_id)["relevant"]
    table = runner.invoke(digest, ["candidates", "--week", "2025-09-05", "--db", db_url, "--wide"])
    assert table.exit_code == 0, table.output
    assert "智慧医院建设提速" in table.output and "足球联赛开幕" not in table.output
    assert "1 more below the threshold" in table.output and f"重庆日报 #{first_id}" in table.output
    explained = runner.invoke(digest, ["candidates", "--db", db_url, "--explain", str(second_id)])
    assert explained.exit_code == 0 and "智慧医院 (title, body×1)" in explained.output, explained.output

    with db.session() as session:
        built = build_issue(session, FRIDAY, settings, number=640)
        assert [i.article_id for i in built.issue.items] == [reprint_id, second_id]  # date order, preferred copy
        assert built.issue.items[0].also_reported_by[0]["source_name"] == "重庆日报"
    with db.session() as session:
        # the analyst prints the newspaper's copy, adds the sports story and drops the 光明网 one
        built = build_issue(session, FRIDAY, settings, picks=[first_id, sport_id], excludes=[second_id])
        assert [i.article_id for i in built.issue.items] == [first_id, sport_id]
        assert built.issue.items[0].also_reported_by[0]["source_name"] == "人民网"
        assert built.issue.number == 640
    with db.session() as session:
        built = build_issue(session, FRIDAY, settings, picks=[second_id], only=True)
        assert [i.article_id for i in built.issue.items] == [second_id]
        with pytest.raises(DigestBuildError, match="no article with that id"):
            build_issue(session, FRIDAY, settings, picks=[9999])

    also = _issue(also=[{"source_name": "重庆日报", "url": "http://cqrb.example/1"}])
    assert "同题报道" not in render_markdown(also, settings)  # the published issues never print it
    review = settings.model_copy(update={"print_also_reported": True})
    assert "同题报道：重庆日报 <http://cqrb.example/1>" in render_markdown(also, review)


def test_rebuild_prints_stored_items_even_after_the_article_changes(db, tmp_path):
    settings = DigestSettings()
    with db.session() as session:
        article = _add(session, "http://a.example/1", "医院推进医检互认", HEALTH_IT, "人民网", date(2025, 8, 31))
        build_issue(session, FRIDAY, settings, number=640)
        article_id = article.id
    first = render_markdown(build_issue_again(db, settings), settings)
    with db.session() as session:
        session.get(Article, article_id).body = "改过的正文。"
    again = build_issue_again(db, settings)
    assert render_markdown(again, settings) == first
    assert again.items[0].body == HEALTH_IT


def build_issue_again(db, settings) -> Issue:
    with db.session() as session:
        result = build_issue(session, FRIDAY, settings)
        assert result.reused
        return result.issue


def test_build_cli_takes_comma_separated_ids(db, db_url, tmp_path):
    with db.session() as session:
        a = _add(session, "http://a.example/1", "足球联赛开幕", "比赛精彩纷呈。", "新华网", date(2025, 9, 1))
        b = _add(session, "http://a.example/2", "篮球比赛", "观众热情。", "新华网", date(2025, 9, 2))
        ids = f"{a.id},{b.id}"
    result = CliRunner().invoke(digest, ["build", "--week", "2025-09-05", "--number", "640", "--only", "--pick", ids,
                                         "--format", "md", "-o", str(tmp_path), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "1. [" in result.output and "2. [" in result.output
    result = CliRunner().invoke(digest, ["build", "--pick", "x,1", "-o", str(tmp_path), "--db", db_url])
    assert result.exit_code == 2 and "not an article id" in result.output


def test_build_cli_errors_are_clear(db_url, tmp_path):
    runner = CliRunner()
    result = runner.invoke(digest, ["build", "--week", "2025-09-04", "-o", str(tmp_path), "--db", db_url])
    assert result.exit_code == 2 and "not a Friday" in result.output
    result = runner.invoke(digest, ["build", "--week", "2025-09-05", "--number", "1", "-o", str(tmp_path),
                                    "--db", db_url])
    assert result.exit_code == 1 and "no article to print" in result.output
    result = runner.invoke(digest, ["build", "--only", "-o", str(tmp_path), "--db", db_url])
    assert result.exit_code == 2 and "--only needs" in result.output
    bad = tmp_path / "lexicon.yaml"
    bad.write_text("terms: {health: {医院: 1}}\n", encoding="utf-8")
    result = runner.invoke(digest, ["candidates", "--lexicon", str(bad), "--db", db_url])
    assert result.exit_code == 2 and "lexicon.yaml:1: field terms.informatization" in result.output
    result = runner.invoke(digest, ["candidates", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 3 and "cannot reach" in result.output


def test_window_edges_use_shanghai_days(db):
    settings = DigestSettings()
    with db.session() as session:
        # Friday 23:30 in Shanghai is inside the week; Saturday 00:30 is the next week's
        _add(session, "http://a.example/in", "医院推进医检互认", HEALTH_IT, "人民网", FRIDAY, 23)
        late = _add(session, "http://a.example/out", "互联网医院上线", HEALTH_IT_2, "人民网",
                    FRIDAY + timedelta(days=1), 0)
        built = build_issue(session, FRIDAY, settings, number=640)
        assert [i.url for i in built.issue.items] == ["http://a.example/in"]
        assert built.issue.items[0].published_on == FRIDAY
        assert late.id


def test_a_story_printed_last_week_is_flagged_and_not_chosen_again(db):
    settings = DigestSettings()
    with db.session() as session:
        first = _add(session, "http://a.example/1", "医院推进医检互认", HEALTH_IT, "人民网", date(2025, 8, 29))
        assert build_issue(session, date(2025, 8, 29), settings, number=639).issue.items[0].article_id == first.id
    with db.session() as session:
        reprint = _add(session, "http://b.example/1", "医院推进医检互认", HEALTH_IT, "光明网", date(2025, 8, 31))
        fresh = _add(session, "http://b.example/2", "互联网医院上线", HEALTH_IT_2, "新华网", date(2025, 9, 1))
        assert reprint.cluster_id == first.id
        from crawler.digest.candidates import candidates
        from crawler.window import Window

        found = {c.id: c for c in candidates(session, Window.week(FRIDAY))}
        assert found[reprint.id].printed_in == [639] and found[fresh.id].printed_in == []
        built = build_issue(session, FRIDAY, settings)
        assert built.issue.number == 640
        assert [i.article_id for i in built.issue.items] == [fresh.id]


def test_only_prints_the_picks_in_the_order_given(db, db_url, tmp_path):
    """`--pick` with `--only` is the analyst's explicit selection: printed in the order given, not by date."""
    with db.session() as session:
        early = _add(session, "http://a.example/e", "周一的互联网医院新闻", "互联网医院上线。", "新华网", date(2025, 9, 1))
        late = _add(session, "http://a.example/l", "周四的电子病历新闻", "电子病历共享。", "人民网", date(2025, 9, 4))
        ids = (late.id, early.id)
    result = CliRunner().invoke(digest, ["build", "--week", "2025-09-05", "--number", "640", "--only", "--pick",
                                         f"{ids[0]},{ids[1]}", "--format", "md", "-o", str(tmp_path), "--db", db_url])
    assert result.exit_code == 0, result.output
    markdown = next(tmp_path.glob("*.md")).read_text(encoding="utf-8")
    assert markdown.index("1. 周四的电子病历新闻") < markdown.index("2. 周一的互联网医院新闻")
