"""The generic rules of issue 17, one by one: reader comments, site chrome and doubled bodies are never body;
a government document's metadata table goes to Extracted.doc_meta and its 发布日期 is the publish date.
Whole pages of each kind are in fixtures/articles (tests/test_extract_golden.py) and fixtures/evalpages."""
from __future__ import annotations

from datetime import datetime

from crawler.extract import extract
from crawler.extract.dates import Candidate
from crawler.extract.generic import cut_chrome, cut_comments, drop_repeats, is_chrome_line, is_comment_meta
from crawler.extract.govdoc import _parse, publish_candidates

NOW = datetime.fromisoformat("2026-11-20T00:00:00+00:00")
P1 = "市卫生健康委今日召开新闻发布会，介绍今年全市基层医疗卫生服务能力提升情况。"
P2 = "据介绍，全市社区卫生服务中心已全部开设全科门诊，家庭医生签约覆盖率超过四成。"
P3 = "下一步，市卫生健康委将继续推进优质医疗资源下沉，让群众在家门口看好病。"


# ---------------------------------------------------------------- 1. reader comments


def test_comment_heading_ends_the_body():
    lines = [P1, P2, "热门评论（共28条）", "新浪网友 [61.48.*.*] 2004-12-13 09:02:13", "说得好，支持社区医院。",
             "引用 投诉 支持 (2) 2004-12-13 09:02:13"]
    assert cut_comments(lines) == [P1, P2]


def test_comment_headings_and_lines_that_only_look_like_them():
    from crawler.extract.generic import COMMENT_HEAD

    for head in ("网友评论", "热门评论（共28条）", "网友评论 (共 3 条) 查看所有评论", "全部评论 59条", "【我要评论】",
                 "网友跟帖 已有 1286 人参与", "最新评论 更多>>", "评论(12)", "网友评论仅供其表达个人看法，并不表明本网立场。"):
        assert COMMENT_HEAD.search(head), head
    for line in ("跟帖评论服务管理规定", "评论区管理新规出台", "网友评论称赞医生很负责", "评论：让健康中国建设惠及人民"):
        assert not COMMENT_HEAD.search(line), line
    subheading = [P1, "跟帖评论服务管理规定", P2]
    assert cut_comments(subheading) == subheading


def test_comment_user_and_vote_lines_end_the_body_without_a_heading():
    lines = [P1, P2, "网易北京市网友 ip:123.114.*.* 2010-05-06 10:21:33", "这个政策好，希望早日推广到我们县里来。"]
    assert cut_comments(lines) == [P1, P2]
    assert cut_comments([P1, "回复 | 支持(35) | 反对(2)", "评论的正文。"]) == [P1]


def test_a_comment_toolbar_above_the_body_is_dropped_alone():
    assert cut_comments(["【我要评论】", P1, P2]) == [P1, P2]


def test_sentences_about_complaints_and_comments_are_body():
    keep = ["市民可通过12345热线举报投诉，相关部门将在三个工作日内回复处理结果。",
            "跟帖中，不少网友表示，夜间门诊确实方便了上班族，希望推广到更多医院。"]
    assert cut_comments([P1, *keep, P2]) == [P1, *keep, P2]
    assert not any(is_comment_meta(line) for line in keep)
    assert is_comment_meta("引用 投诉 支持 (2) 2004-12-13 09:02:13")
    assert is_comment_meta("回复　顶[56]　踩[3]")


def test_a_comment_area_longer_than_the_article_is_not_picked():
    comments = "".join(f"<dt>大众网网友 ip:60.208.*.* 2012-06-08 1{i}:02:45</dt><dd>{P3 * 3}</dd>"
                       f"<dd>回复 | 支持({i}) | 反对(0)</dd>" for i in range(6))
    page = (f"<html><head><title>夜间门诊开诊</title></head><body><div class='l'><h1>夜间门诊开诊</h1>"
            f"<div class='t'><p>{P1}</p><p>{P2}</p></div></div>"
            f"<div class='hot'><h3>热门评论</h3><dl>{comments}</dl></div></body></html>")
    got = extract(page, "http://health.example.com/2012/0608/1.html", now=NOW)
    assert got.body.split("\n") == [P1, P2]


def test_a_comment_link_in_a_toolbar_keeps_the_body_around_it():
    page = (f"<html><head><title>夜间门诊开诊</title></head><body><div class='a'><h1>夜间门诊开诊</h1>"
            f"<div><a href='#c'>发表评论</a><p>{P1}</p><p>{P2}</p><p>{P3}</p></div></div></body></html>")
    got = extract(page, "http://health.example.com/2012/0608/1.html", now=NOW)
    assert got.body.split("\n") == [P1, P2, P3]


# ---------------------------------------------------------------- 2. site chrome


def test_widgets_footer_and_the_menu_above_it_leave_the_body():
    lines = ["【字体：大 中 小】【打印】【关闭】", P1, P2, "【打印本页】 【关闭窗口】", "政策原文", "政务服务", "新闻发布会",
             "政策解读", "主办单位：广东省人民政府办公厅 承办单位：广东省政务服务和数据管理局",
             "本网站发布的所有信息均不收取任何费用，不存在任何收费服务，请谨防上当受骗。",
             "政府网站标识码：4400000093 粤ICP备05070829号 粤公网安备 44010402000001号"]
    assert cut_chrome(lines) == [P1, P2]


def test_owner_lines_at_the_very_end_go_even_without_a_licence_line():
    assert cut_chrome([P1, P2, "主办单位：成都市卫生健康委员会 承办单位：成都市卫生健康信息中心"]) == [P1, P2]


def test_sentences_that_name_footer_words_stay():
    keep = ["法院认定，该平台对患者健康数据并不享有版权所有权，判决其删除相关数据。",
            "联系人：张明 联系电话：028-61881234"]
    assert cut_chrome([P1, *keep]) == [P1, *keep]
    assert not is_chrome_line(keep[0])
    assert is_chrome_line("Copyright © 2012 大众网 版权所有 鲁ICP备09023866号")
    assert is_chrome_line("扫一扫在手机打开当前页")


def test_a_menu_run_before_the_first_sentence_goes():
    assert cut_chrome(["首页", "政务公开", "政务服务", "互动交流", P1, P2]) == [P1, P2]
    assert cut_chrome(["一、总体要求", P1]) == ["一、总体要求", P1]


# ---------------------------------------------------------------- 3. the same body twice


def test_a_second_copy_and_its_headline_go():
    lines = [P1, P2, P3, "夜间门诊开诊", "2021-03-22 07:40 来源：湖南日报", P1, P2, P3]
    assert drop_repeats(lines) == [P1, P2, P3]


def test_repeats_that_are_the_articles_own_stay():
    specs = ["北斗星CH6350B", "变速箱：国产手动五速", "驱动型式：前置前驱", "爱迪尔DH7100", "变速箱：国产手动五速",
             "驱动型式：前置前驱"]
    assert drop_repeats(specs) == specs  # table cells, no running text
    assert drop_repeats([P1] * 4) == [P1] * 4  # one paragraph, not a run of the article's paragraphs
    assert drop_repeats([P1, P2, "（完）", P3]) == [P1, P2, "（完）", P3]


# ---------------------------------------------------------------- 4. government documents


def test_table_labels_in_every_layout():
    assert _parse("索 引 号：\n000014349/2024-00031\n主题分类：\n卫生、体育\n发文字号：\n国办发〔2024〕9号") == {
        "索引号": "000014349/2024-00031", "主题分类": "卫生、体育", "发文字号": "国办发〔2024〕9号",
        "文号": "国办发〔2024〕9号"}
    assert _parse("索引号：008624390/2025-00047 分类：通知公告\n发布机构：基层卫生健康司") == {
        "索引号": "008624390/2025-00047", "分类": "通知公告", "发布机构": "基层卫生健康司", "发文机关": "基层卫生健康司"}
    assert _parse("有 效 性\n有效\n成文日期\n2023-12-20") == {"有效性": "有效", "成文日期": "2023-12-20"}


def test_the_publish_date_is_fabu_riqi_not_chengwen_riqi():
    written = Candidate(datetime(2024, 7, 30), "text", "day")
    other = Candidate(datetime(2024, 8, 6, 9, 30), "meta", "minute")
    got = publish_candidates({"成文日期": "2024-07-30", "发布日期": "2024-08-06"}, [written, other])
    assert got[0].value == datetime(2024, 8, 6) and got[0].source == "rule"
    assert written not in got and other in got
    assert publish_candidates({"成文日期": "2024-07-30"}, [written]) == [written]


def test_a_news_page_has_no_doc_meta():
    page = (f"<html><head><title>夜间门诊开诊</title></head><body><h1>夜间门诊开诊</h1>"
            f"<div class='t'><p>发布日期：2024-08-06 来源：市卫生健康委</p><p>{P1}</p><p>{P2}</p></div></body></html>")
    got = extract(page, "http://health.example.com/2024/0806/1.html", now=NOW)
    assert got.doc_meta == {} and got.to_json()["doc_meta"] == {}
    assert got.body.split("\n") == [P1, P2]


def test_a_table_with_variant_labels_gives_the_canonical_keys_and_date():
    table = ("<table class='xxgk'><tr><td>索&nbsp;引&nbsp;号：</td><td>11440000006942340N/2024-00321</td>"
             "<td>发布机构：</td><td>广东省卫生健康委员会</td></tr><tr><td>生成日期：</td><td>2024-05-06</td>"
             "<td>发布时间：</td><td>2024-05-13 17:20</td></tr><tr><td>文　　号：</td><td>粤卫函〔2024〕88号</td></tr></table>")
    page = (f"<html><head><title>关于开展健康促进医院建设的通知</title></head><body>{table}"
            f"<h1>关于开展健康促进医院建设的通知</h1><div class='x'><p>各地级以上市卫生健康局：</p><p>{P1}</p>"
            f"<p>{P2}</p><p>广东省卫生健康委员会</p><p>2024年5月6日</p></div></body></html>")
    got = extract(page, "https://wsjkw.gd.gov.cn/zwgk/content/post_4412345.html", now=NOW)
    assert got.doc_meta == {"索引号": "11440000006942340N/2024-00321", "发布机构": "广东省卫生健康委员会",
                            "发文机关": "广东省卫生健康委员会", "生成日期": "2024-05-06", "成文日期": "2024-05-06",
                            "发布时间": "2024-05-13 17:20", "发布日期": "2024-05-13 17:20", "文号": "粤卫函〔2024〕88号"}
    assert got.published_at == datetime.fromisoformat("2024-05-13T09:20:00+00:00")
    assert got.body.split("\n") == ["各地级以上市卫生健康局：", P1, P2, "广东省卫生健康委员会", "2024年5月6日"]


def test_related_documents_after_a_government_document_leave_the_body():
    from crawler.extract.body import _clean_body_lines

    lines = [P1, P2, P3, "市卫生健康委", "2024年5月6日", "相关稿件：", "图解：基层医疗卫生服务能力提升行动方案",
             "市卫生健康委有关负责人解读行动方案"]
    assert _clean_body_lines(lines, "")[0] == [P1, P2, P3, "市卫生健康委", "2024年5月6日"]


def test_a_comment_list_without_a_heading_longer_than_the_article_is_not_picked():
    comments = "".join(f"<div class='u'>网友 小{i} [218.247.*.*] 2005-02-06 1{i}:30:00</div><div class='t'>{P3 * 3}</div>"
                       for i in range(5))
    page = (f"<html><head><title>夜间门诊开诊</title></head><body><div class='l'><h1>夜间门诊开诊</h1>"
            f"<div class='t'><p>{P1}</p><p>{P2}</p></div></div><div class='pl'>{comments}</div></body></html>")
    got = extract(page, "http://health.example.com/2005/0206/1.html", now=NOW)
    assert got.body.split("\n") == [P1, P2]
