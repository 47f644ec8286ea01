"""Generic line rules every body goes through: reader comments, site chrome and doubled copies are never body."""
from __future__ import annotations

import re

from lxml import etree

from crawler.extract.html import _drop, _lines
from crawler.extract.text import cjk_count, norm_space, punct_count

# A reader-comment area starts with one of these headings ('网友评论', '热门评论（共12条）', '网友跟帖 已有 1286 人参与',
# '网友评论 (共 3 条) 查看所有评论'): the heading word, then only a count and a 'see all' link.
_HEAD_WORD = (r"网友评论|热门评论|最新评论|精彩评论|我要评论|发表评论|网友跟帖|热门跟帖|最新跟帖|跟帖|评论区|读者评论|相关评论|"
              r"用户评论|全部评论|评论列表|查看评论|查看全部评论|查看所有评论|网友留言|我要留言|发表留言|评论")
_HEAD_COUNT = r"(?:[\s（(【\[]*(?:共|已有|有)?\s*\d+\s*(?:条评论|条跟帖|条|人参与|人评论|人跟帖)?[\s）)】\]]*)"
_HEAD_MORE = r"(?:[|｜>›»\s]*(?:查看|更多|全部|所有|发表|我要|进入|参与)[^，。！？,]{0,10})"
COMMENT_HEAD = re.compile(
    rf"^[【\[<《]?\s*(?:{_HEAD_WORD})\s*[】\]>》]?\s*{_HEAD_COUNT}?{_HEAD_MORE}?\s*[:：>›»]*\s*$"
    r"|^(?:已有|共有?)\s*\d+\s*(?:条评论|人参与|人评论|条跟帖)"
    r"|网友评论仅供(?:其)?表达个人看法|^以下网友评论只代表网友个人观点"
)
# One reader comment's user / masked-IP line: '网友 [61.48.*.*] 2004-12-13 09:02:13', '新浪网友：… 2005-02-06 12:30'.
COMMENT_META = re.compile(
    r"\d{1,3}\.\d{1,3}\.(?:\d{1,3}|\*)\.\*"
    r"|^(?:[\u3400-\u9fff]{0,8}网友|匿名用户|游客|会员|用户)\s*[:：\[(（]?[^。！？]{0,30}(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}"
    r"\s*日?\s*\d{1,2}:\d{2}"
)
# A vote line under a comment: '引用 投诉 支持 (2) 2004-12-13 09:02:13', '回复 | 支持(3) | 反对(0)'.
_VOTE_WORDS = re.compile(r"引用|回复|投诉|举报|支持|反对|顶|踩|赞|删除")
_VOTE_LINE = re.compile(r"(?:引用|回复|投诉|举报|支持|反对|顶|踩|赞|删除|\d+|[()（）\[\]【】|｜:：\-/.\s])+")


def is_comment_meta(line: str) -> bool:
    """A comment's user/IP line or its vote line."""
    if len(line) > 120:
        return False
    if COMMENT_META.search(line):
        return True
    return bool(_VOTE_LINE.fullmatch(line)) and len(_VOTE_WORDS.findall(line)) >= 2


# Print / close / share / font-size widgets: a line made only of these tokens is chrome.
_WIDGET = (r"字体|字号|大|中|小|默认|打印|打印本页|打印本文|打印本稿|打印此页|打印文章|发表评论|关闭|关闭窗口|关闭本页|返回顶部|返回页首|发送给朋友|"
           r"推荐给朋友|收藏|收藏本文|加入收藏|分享|分享到|纠错|我要纠错|我要评论|复制链接|保存|视力保护色|扫一扫在手机打开当前页|"
           r"扫一扫在手机上查看当前页面|在手机打开|扫一扫|下载文章|双击自动滚屏|我要打印|【|】|\[|\]|\||｜|:|：|/|·")
WIDGET_LINE = re.compile(rf"^(?:\s*(?:{_WIDGET})\s*)+$")
# Footer: site identity, licences, '本网站发布的所有信息…'; the strong ones end a page wherever they sit.
FOOTER_STRONG = re.compile(
    r"网站标识码|ICP\s*[备证]\s*\d|ICP备案号|公网安备\s*\d|本(?:网|站|网站)(?:发布|刊登)的所有信息|Copyright|©", re.I)
# Footer words that a sentence may also use ('不享有版权所有权'): chrome only on a line without a comma or full stop.
FOOTER_SOFT = re.compile(r"版权所有|网站地图|建议使用.{0,30}浏览器|最佳(?:浏览|分辨率)|技术支持\s*[:：]")
_FOOTER_LABEL = re.compile(r"(?:主办单位|承办单位|主办|承办|协办|运行维护单位|维护单位|地址|邮编|电话|联系电话|传真|邮箱)\s*[:：]")
_SITE_OWNER = re.compile(r"^(?:主办单位|承办单位|协办单位|主办|承办|运行维护单位|运维单位|维护单位|技术支持)\s*[:：]")


def is_chrome_line(line: str) -> bool:
    """A widget line ('【字体：大 中 小】【打印】【关闭】') or a footer line (ICP, 网站标识码, 主办单位…)."""
    if WIDGET_LINE.match(line):
        return True
    if len(line) > 160:
        return False
    return bool(FOOTER_STRONG.search(line)) or bool(FOOTER_SOFT.search(line)) and not re.search(r"[，。,]", line)


def _owner(line: str) -> bool:
    """A footer line naming the site's owner ('主办单位：…'), or one with two footer labels ('地址：… 邮编：…')."""
    if len(line) > 80:
        return False
    return bool(_SITE_OWNER.match(line)) or len(_FOOTER_LABEL.findall(line)) >= 2


def _menu(line: str) -> bool:
    """A short menu item without punctuation or digits ('政策原文', '政务服务', '新闻发布会')."""
    return len(line) <= 8 and not punct_count(line) and not re.search(r"\d", line)


def _sentence(line: str) -> bool:
    """Running text, not a headline: a full stop, or a comma in a long line."""
    return cjk_count(line) >= 10 and ("。" in line or "，" in line and cjk_count(line) >= 25)


def cut_comments(lines: list[str]) -> list[str]:
    """Cut at a reader-comment heading or the first comment user/IP/vote line once body text was seen;
    such lines above the body (a '我要评论' toolbar) are dropped alone."""
    out: list[str] = []
    body_seen = False
    for line in lines:
        short = len(line) <= 60
        if short and COMMENT_HEAD.search(line) or is_comment_meta(line):
            if body_seen:
                break
            continue
        out.append(line)
        body_seen = body_seen or _sentence(line)
    return out


def cut_chrome(lines: list[str]) -> list[str]:
    """Drop widget lines anywhere, a footer block (and the menu run above it) at the end, a menu run at the top."""
    lines = [line for line in lines if not WIDGET_LINE.match(line)]
    # the footer: from the first strong footer line in the second half (or after the last sentence) to the end
    last_sentence = next((i for i in range(len(lines) - 1, -1, -1)
                          if _sentence(lines[i]) and not is_chrome_line(lines[i])), -1)
    cut = None
    for i, line in enumerate(lines):
        if i <= last_sentence:  # a footer follows the last running text
            continue
        if is_chrome_line(line) or (_owner(line) and any(is_chrome_line(x) for x in lines[i + 1:i + 6])):
            cut = i
            break
    if cut is not None and cut > 0:
        while cut > 0 and (_menu(lines[cut - 1]) or _owner(lines[cut - 1])):
            cut -= 1
        lines = lines[:cut]
    # the site's owner lines at the very end, even without a licence line after them
    while lines and _SITE_OWNER.match(lines[-1]) and len(lines[-1]) <= 80 and not _sentence(lines[-1]):
        lines.pop()
    # single chrome lines left inside (a '版权所有' line between paragraphs)
    lines = [line for line in lines if _sentence(line) or not is_chrome_line(line)]
    # a run of menu items before the first sentence
    start = 0
    while start < len(lines) and _menu(lines[start]):
        start += 1
    if start >= 3 and start < len(lines):
        lines = lines[start:]
    return lines


def drop_repeats(lines: list[str]) -> list[str]:
    """A body never repeats a run of its own paragraphs (a hidden or print copy after the first): drop a second
    run of two or more lines with running text in it, and the headline/byline lines just before it. (A lone
    repeated line, or a repeated run of table cells, can be the article's own.)"""
    out: list[str] = []
    first: dict[str, int] = {}  # line → its first index in `lines`
    placed: dict[int, int] = {}  # index in `lines` → index in `out`
    i = 0
    while i < len(lines):
        line = lines[i]
        j = first.get(line)
        if j is not None:
            run = 0
            while i + run < len(lines) and j + run < i and lines[i + run] == lines[j + run]:
                run += 1
            copy = lines[i:i + run]
            if run >= 2 and len(set(copy)) == run and any(_sentence(x) for x in copy):
                # the second copy's own headline / date lines, between the two copies, are not body either
                end = placed.get(j + run - 1, len(out) - 1)
                while len(out) - 1 > end and len(out[-1]) <= 60 and not _sentence(out[-1]):
                    out.pop()
                i += run
                continue
        first.setdefault(line, i)
        placed[i] = len(out)
        out.append(line)
        i += 1
    return out




def comment_heads(root) -> list:
    """Elements whose own text is a reader-comment heading, in document order.

    A comment word first, then the full pattern: this Python loop over the elements is 3.5× faster than the XPath
    //text()[contains(., "评") or …], which copies every text node once for each word."""
    heads = []
    for el in root.iter(etree.Element):
        text = el.text
        if (text and ("评" in text or "帖" in text or "留言" in text or "参与" in text) and len(text.strip()) <= 40
                and COMMENT_HEAD.search(norm_space(text))):
            heads.append(el)
    return heads


def drop_comment_blocks(root, title_el=None) -> int:
    """Remove reader-comment areas found by their heading ('网友评论', '热门评论', '跟帖'…): the outermost element
    whose first line is the heading. A heading that is a link ('我要评论' in a toolbar) counts only when that
    element shows comment user/IP/vote lines. Returns how many were removed."""
    keep = set(title_el.iterancestors()) | {title_el} if title_el is not None else set()
    removed = 0
    for head in comment_heads(root):
        ancestors = list(head.iterancestors())
        if not ancestors or ancestors[-1] is not root:  # inside a block removed already
            continue
        in_link = any(isinstance(a.tag, str) and a.tag.lower() == "a" for a in (head, *head.iterancestors()))
        top, node = None, head
        while node is not None and isinstance(node.tag, str) and node.tag.lower() not in ("body", "html"):
            first = _lines(node, 80)
            if node in keep or not first or not COMMENT_HEAD.search(first[0]):
                break
            top, node = node, node.getparent()
        if top is None:
            continue
        lines = _lines(top)
        if in_link and not any(is_comment_meta(line) for line in lines):
            continue
        _drop(top)
        removed += 1
    return removed


_IP_TEXTS = etree.XPath('//text()[contains(., ".*")]')


def drop_unheaded_comments(root, title_el=None) -> bool:
    """A comment list without a heading: three or more masked-IP user lines ('[61.48.*.*]') whose nearest common
    container holds nothing before the first of them but a line or two (no article) and not the headline.
    That container is removed; a list sharing its container with the article is left to cut_comments."""
    users = [t.getparent() for t in _IP_TEXTS(root)
             if t.getparent() is not None and len(t) <= 120 and COMMENT_META.search(norm_space(t))]
    if len(users) < 3:
        return False
    common = set(users[0].iterancestors())
    ordered = list(users[0].iterancestors())
    for el in users[1:]:
        common &= set(el.iterancestors()) | {el}
    container = next((a for a in ordered if a in common), None)
    if container is None or not isinstance(container.tag, str) or container.tag.lower() in ("body", "html"):
        return False
    if title_el is not None and (title_el is container or container in title_el.iterancestors()):
        return False
    lines = _lines(container)
    first = next((i for i, line in enumerate(lines) if is_comment_meta(line)), len(lines))
    if first > 2 or any(_sentence(line) for line in lines[:first]):
        return False
    _drop(container)
    return True
