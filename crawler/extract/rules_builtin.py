"""Template knowledge that is not tied to one site record: the CMS families Chinese news sites share.

These selectors are tried after a site's own `Rules` (sources.yaml) and before the generic density
heuristic. Each list is ordered from most to least specific; a body match must still pass the
quality gate in crawler.extract.body (enough CJK text, low link density), so a stray match on a foreign
template falls through to the generic path.
"""
from __future__ import annotations

TITLE = [
    ".rm_txt h1", ".text_c h1", ".head-line h1 .title", ".head-line h1", "h1.u-title", "#articleTitle",
    ".article-header h1", ".m-article-content h1", "#main-title", ".h-title", ".m-title-box h1",
    ".article-title h1", "h1.article-title", ".title h1",
]
SUBTITLE = [".rm_txt .sub", "#sub-title", "#ftitle", ".rm_txt .pre", "#guide"]
BODY = [
    "#rm_txt_zw", ".rm_txt_con", "#detailContent", "#detail", "#p-detail", "#article_inbox .u-mainText",
    ".u-mainText", "#contentMain", "#ContentPh", ".article-content", ".TRS_Editor", ".m-article-main", "#ozoom",
    "#articleContent", ".box_con", "#rwb_zw", ".artDet", ".show_text", "div.storyContent", ".article-body",
    "#endText", ".post_text", "#artibody", "#ctrlfscont",
]
# Common but loose container names: used only when the density heuristic agrees (its pick lies inside).
BODY_LOOSE = ["#content", "#Content", ".content", "#article", "article", "#text", ".main-text", "#main_content"]
DATE = [
    ".channel .col-1-1", ".header-time", ".mheader .info", ".m-con-time", "#articlePubTime", "#pubTime",
    ".h-time", "#pubtime_baidu", ".article-header .source", "#p_publishtime", ".box01 .fl", "#date", ".lai",
    ".m-article-info", ".article-info .time", ".pubtime", "#pubtime", ".publish-time", ".post-time",
]
AUTHOR = [".rm_txt .author", ".m-article-author", "#author", ".author", ".lai > :first-child"]
EDITOR = [
    ".edit", "#articleEdit .editor", "#articleLiability", ".m-zbTool .liability", ".liability",
    "#contentLiability", "div.editor", ".editor", ".zrbj", "#editor",
]
SOURCE = [
    ".channel .col-1-1 a", "div.source", ".m-con-source a", ".m-con-source", "#source", "#source_baidu",
    ".h-info", "#p_origin", ".article-header .source", ".box01 .fl a", ".source",
]
# Removed from the body container (after editor/author/date were read from the full tree).
NOISE = [
    ".edit", "#articleEdit", ".editor", ".paper_num", "#rwb_tjyd", ".zdfy", ".share", ".shares", ".bdshare-buttons",
    ".pageShare", ".relatedNews", ".nextpage", ".bookList", ".fix-ewm", ".topAd", ".adv", ".advise",
    ".liability", "#articleLiability", ".m-zbTool", "#contentLiability", ".article-comps", ".fonts",
    ".rm_relevant", ".rm_download", ".page_n", ".tiyi1", ".btn-audio", "#goTop", ".toTop", ".app_download",
    ".related", ".xgxw", ".correlation", ".comment", "#comment", ".ewm", ".qrcode",
]
# Reader-comment areas: dropped from the tree before the body is chosen.
COMMENTS = ('[id*="comment"], [class*="comment"], [id*="pinglun"], [class*="pinglun"], [class*="gentie"], '
            '[id*="gentie"], [class*="reply-list"], [id*="SOHUCS"]')
# A page is a block/challenge page when any of these is in its first bytes (lower-cased).
BLOCK_MARKERS = {
    "blocksrc.haplat.net": "waf: people.com.cn bot block (haplat _bot_sbu)",
    "_bot_sbu": "waf: bot block page (_bot_sbu)",
    "acw_sc__v2": "js challenge: acw_sc__v2 cookie",
    "__jsl_clearance": "js challenge: __jsl_clearance cookie",
    "cf-browser-verification": "js challenge: cloudflare",
    "challenge-platform": "js challenge: cloudflare",
    "_waf_": "waf page",
    "请开启javascript": "js challenge: page asks to enable JavaScript",
    "please enable javascript": "js challenge: page asks to enable JavaScript",
    "访问被拒绝": "waf: access denied",
    "您的访问被阻断": "waf: access blocked",
    "检测到异常访问": "waf: abnormal access",
    "安全验证": "waf: security verification",
    "access denied": "waf: access denied",
}
