"""The issue as the analyst sends it: links, language and fonts in the DOCX, the published lines only, a default
selection the size of a published issue, and console output that fits the terminal (no LibreOffice needed)."""
from __future__ import annotations

import json
import random
import re
import zipfile
from datetime import date, datetime, timezone

from click.testing import CliRunner
from rich.cells import cell_len

from crawler.db.models import Article, Digest
from crawler.db.cluster import assign_cluster
from crawler.digest.build import build_issue, write_outputs
from crawler.digest.cli import digest
from crawler.digest.console import fit
from crawler.digest.layout import Issue, IssueItem
from crawler.digest.render import render_html
from crawler.digest.settings import DigestSettings, load_digest_settings
from crawler.window import SHANGHAI

FRIDAY = date(2025, 9, 5)
NOW = datetime(2025, 9, 6, tzinfo=timezone.utc)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _issue(**item) -> Issue:
    one = dict(position=1, title="医检互认数字化改革惠及百姓", source_name="人民网",
               url="http://cq.people.com.cn/n2/2025/0831/c367698-41338013.html", published_on=date(2025, 8, 31),
               body="第一段。\n第二段。", also_reported_by=[{"source_name": "重庆日报", "url": "https://app.cqrb.cn/1"}],
               kicker="智慧医疗")
    two = dict(one, position=2, title="全球首个出生缺陷防治大模型在银川发布",
               url="http://nx.people.com.cn/n2/2025/0902/c192482-41339958.html", also_reported_by=[], kicker=None)
    one.update(item)
    return Issue(640, FRIDAY, date(2025, 8, 30), FRIDAY, "北京市卫生健康大数据与政策研究中心",
                 [IssueItem(**one), IssueItem(**two)])


def _parts(path) -> dict[str, str]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name).decode("utf-8") for name in package.namelist() if name.endswith(".xml")
                or name.endswith(".rels")}


def test_every_link_is_a_hyperlink_and_the_contents_link_to_their_articles(tmp_path):
    issue = _issue()
    parts = _parts(write_outputs(issue, DigestSettings(), tmp_path, ["docx"])[0])
    document, rels = parts["word/document.xml"], parts["word/_rels/document.xml.rels"]
    targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"[^>]*TargetMode="External"', rels))
    linked = [(targets[rid], re.sub(r"<[^>]+>", "", inner))
              for rid, inner in re.findall(r'<w:hyperlink r:id="(rId\d+)"[^>]*>(.*?)</w:hyperlink>', document)]
    assert linked == [(item.url, item.url) for item in issue.items]  # the URL under each 链接, clickable
    # LibreOffice exports a link to PDF only when its runs carry a character style
    assert document.count('<w:rStyle w:val="Hyperlink"/>') == len(issue.items)
    anchors = re.findall(r'<w:hyperlink w:anchor="([^"]+)"[^>]*>(.*?)</w:hyperlink>', document)
    assert [(a, re.sub(r"<[^>]+>", "", inner)) for a, inner in anchors] == [
        ("item1", "1. 医检互认数字化改革惠及百姓"), ("item2", "2. 全球首个出生缺陷防治大模型在银川发布")]
    bookmarks = re.findall(r'<w:bookmarkStart w:id="\d+" w:name="([^"]+)"/>(.*?)<w:bookmarkEnd', document)
    assert [(name, re.sub(r"<[^>]+>", "", inner)) for name, inner in bookmarks] == [
        ("item1", "1. 医检互认数字化改革惠及百姓"), ("item2", "2. 全球首个出生缺陷防治大模型在银川发布")]


def test_html_contents_link_to_their_articles():
    page = render_html(_issue(), DigestSettings())
    assert '<p class="toc-title"><a href="#item2">2. 全球首个出生缺陷防治大模型在银川发布</a></p>' in page
    assert '<h3 id="item2">2. 全球首个出生缺陷防治大模型在银川发布</h3>' in page


def test_east_asian_text_is_zh_cn_in_song_and_hei(tmp_path):
    parts = _parts(write_outputs(_issue(), DigestSettings(), tmp_path, ["docx"])[0])
    styles, fonts = parts["word/styles.xml"], parts["word/fontTable.xml"]
    defaults = styles.split("<w:docDefaults>")[1].split("</w:docDefaults>")[0]
    assert re.search(r'<w:lang w:val="en-US" w:eastAsia="zh-CN"', defaults)
    assert 'w:eastAsia="宋体"' in defaults and "eastAsiaTheme" not in defaults
    assert "ja-JP" not in styles and 'w:eastAsia="en-US"' not in styles
    assert re.search(r'<w:font w:name="宋体"><w:altName w:val="SimSun"/>.*?<w:charset w:val="86"/>', fonts)
    assert re.search(r'<w:font w:name="黑体"><w:altName w:val="SimHei"/>.*?<w:charset w:val="86"/>', fonts)
    assert "ＭＳ 明朝" not in fonts  # the template's Japanese faces are gone
    assert 'w:eastAsia="黑体"' in parts["word/document.xml"]  # labels and titles


def test_the_article_block_is_kept_together_and_nothing_forces_a_page_break(tmp_path):
    parts = _parts(write_outputs(_issue(), DigestSettings(), tmp_path, ["docx"])[0])
    document = parts["word/document.xml"]
    assert "pageBreakBefore" not in document and 'w:type="page"' not in document
    paragraphs = re.findall(r"<w:p>(.*?)</w:p>", document, flags=re.S)
    start = next(i for i, p in enumerate(paragraphs) if "二、具体内容" in p)
    head = paragraphs[start + 1:start + 8]  # heading, 来源, 链接, URL, 主要内容, title, date
    assert "来源：人民网" in head[1] and "主要内容" in head[4] and "2025-08-31" in head[6]
    for paragraph in head[1:]:  # the heading keeps with next through its style
        assert "<w:keepNext/>" in paragraph and "<w:keepLines/>" in paragraph, paragraph[:200]


def test_also_reported_and_kicker_only_when_switched_on(tmp_path):
    issue = _issue()
    default = _parts(write_outputs(issue, DigestSettings(), tmp_path / "a", ["docx"])[0])["word/document.xml"]
    assert "同题报道" not in default and "智慧医疗" not in default and "cqrb" not in default
    review = DigestSettings(print_also_reported=True, print_kicker=True)
    parts = _parts(write_outputs(issue, review, tmp_path / "b", ["docx"])[0])
    assert "同题报道" in parts["word/document.xml"] and "智慧医疗" in parts["word/document.xml"]
    assert 'Target="https://app.cqrb.cn/1" TargetMode="External"' in parts["word/_rels/document.xml.rels"]
    settings = load_digest_settings()  # the shipped config/digest.yaml: the published form
    assert not settings.print_also_reported and not settings.print_kicker
    assert settings.max_items == 3


def _add(session, n: int, title: str, body: str, source: str = "人民网") -> Article:
    moment = datetime(2025, 9, 1, 9, n % 60, tzinfo=SHANGHAI).astimezone(timezone.utc)
    article = Article(url=f"http://a.example/{n}", site="test", source_name=source, title=title, body=body,
                      published_at=moment, fetched_at=NOW, updated_at=NOW, origin="import")
    session.add(article)
    session.flush()
    assign_cluster(session, article)
    return article


PLACES = ["北京", "上海", "广州", "深圳", "重庆", "成都", "武汉", "西安", "杭州", "南京", "天津", "苏州", "长沙", "郑州",
          "济南", "青岛", "宁波", "厦门", "福州", "合肥", "南昌", "昆明", "贵阳", "南宁", "海口", "太原", "石家庄", "沈阳",
          "长春", "哈尔滨", "兰州", "银川"]
FILLER = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
TOPICS = ["互联网医院上线慢病复诊续方", "电子病历跨院共享调阅", "医学影像云平台接入社区医院", "检查检验结果互认扩面",
          "全民健康信息平台连通乡镇卫生院", "智慧医院建设提速"]


def _week(session, count: int) -> list[Article]:
    """`count` distinct relevant stories (different cities, topics and wording: no two in one cluster)."""
    out = []
    for n in range(count):
        place, topic = PLACES[n], TOPICS[n % len(TOPICS)]
        rng = random.Random(n)
        filler = "".join(rng.choice(FILLER) for _ in range(150))  # text of its own: no near-duplicates
        body = (f"{place}市卫生健康委介绍，{topic}，患者在医院就医更便捷。\n{filler}\n"
                f"{place}的医疗机构信息化建设加快，互联网医院和电子病历应用覆盖{n + 3}家医院。")
        out.append(_add(session, n + 1, f"{place}：{topic}，让群众少跑腿多办事的数字化医疗服务新探索（第{n}期）",
                        body, source=["人民网", "新华网", "黑龙江省卫生健康委员会", "光明日报"][n % 4]))
    return out


def test_default_issue_has_three_stories_and_the_full_list_is_one_flag_away(db, db_url, tmp_path):
    with db.session() as session:
        _week(session, 8)
    runner = CliRunner()
    result = runner.invoke(digest, ["build", "--week", "2025-09-05", "--number", "640", "--format", "md",
                                    "-o", str(tmp_path), "--db", db_url])
    assert result.exit_code == 0, result.output
    # the console names the number once, in its own brackets: not "issue 640 (（第六四零）)"
    assert "issue 640 （第六四零） for 2025-08-30..2025-09-05: 3 articles chosen" in result.output
    assert "((" not in result.output and "(（" not in result.output
    with db.session() as session:
        assert len(session.query(Digest).one().items) == 3
    listed = runner.invoke(digest, ["candidates", "--week", "2025-09-05", "--db", db_url, "--json"])
    assert len(listed.output.splitlines()) == 8
    config = tmp_path / "digest.yaml"
    config.write_text("max_items: 5\nmin_score: 0\n", encoding="utf-8")
    with db.session() as session:
        settings = load_digest_settings(config)
        assert len(build_issue(session, FRIDAY, settings, picks=(), excludes=(), only=False).issue.items) == 3
        # a stored issue is printed again unchanged; a fresh choice (exclude something) takes the new max_items
        assert len(build_issue(session, FRIDAY, settings, excludes=[9999]).issue.items) == 5
    config.write_text("min_score: 1000\n", encoding="utf-8")
    result = runner.invoke(digest, ["build", "--week", "2025-09-05", "--exclude", "9999", "--format", "md",
                                    "--config", str(config), "-o", str(tmp_path), "--db", db_url])
    assert result.exit_code == 1 and "no article to print" in result.output


def test_candidates_fit_80_columns_one_line_per_story(db, db_url):
    with db.session() as session:
        stories = _week(session, 32)
    result = CliRunner().invoke(digest, ["candidates", "--week", "2025-09-05", "--db", db_url],
                                env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(cell_len(line) <= 80 for line in lines), max(lines, key=cell_len)
    rows = [line for line in lines if re.match(r"^[*p· ] +\d+ ", line)]
    assert len(rows) == 32 and len(lines) == 32 + 4  # title, count, header, legend (it took 173 lines)
    assert sum(row.startswith("*") for row in rows) == 3  # the default issue's three
    assert all(row.endswith("…") for row in rows)  # long titles cut with an ellipsis
    # score and source stand in fixed columns (display cells, a Chinese character counting two)
    first = rows[0]
    score_end = cell_len(first[:first.index(" ", 9)])
    assert {cell_len(r[:r.index(" ", 9)]) for r in rows} == {score_end}
    assert {cell_len(r.split(" 09-01 ")[0]) for r in rows} == {cell_len(first.split(" 09-01 ")[0])}
    assert " 黑龙江省…  " in result.output  # a long source name cut to its column
    wide = CliRunner().invoke(digest, ["candidates", "--week", "2025-09-05", "--db", db_url, "--wide"],
                              env={"COLUMNS": "80"})
    assert stories[0].title in wide.output and "terms: " in wide.output
    as_json = CliRunner().invoke(digest, ["candidates", "--week", "2025-09-05", "--db", db_url, "--json"])
    assert {json.loads(line)["title"] for line in as_json.output.splitlines()} == {s.title for s in stories}


def test_fit_counts_display_cells():
    assert fit("医检互认数字化", 8) == "医检互…"
    assert cell_len(fit("医检互认数字化", 8)) == 7
    assert fit("abc", 3) == "abc" and fit("abcd", 3) == "ab…"


def test_pdf_format_without_libreoffice_is_refused_before_anything_is_stored(db, db_url, tmp_path):
    with db.session() as session:
        _week(session, 2)
    result = CliRunner().invoke(digest, ["build", "--week", "2025-09-05", "--number", "640", "--format", "pdf",
                                         "-o", str(tmp_path / "out"), "--db", db_url],
                                env={"HIWATCH_LIBREOFFICE": "no-such-office"})
    assert result.exit_code == 6, result.output
    assert "needs LibreOffice" in result.output and "apt-get install libreoffice-writer" in result.output
    with db.session() as session:
        assert session.query(Digest).count() == 0
    assert not (tmp_path / "out").exists()
