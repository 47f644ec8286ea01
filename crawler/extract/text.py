"""Text helpers for Chinese news pages: whitespace, boilerplate lines, bylines (记者/责编/来源), title suffixes."""
from __future__ import annotations

import re

_WS = re.compile(r"[ \t\r\f\v\u00a0\u2002\u2003\u2009\u200b\u3000\ufeff]+")
# counted by runs, not characters: findall of one character makes a string per character (6× slower on a body)
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORDISH_RUN = re.compile(r"[\u3400-\u9fffA-Za-z0-9]+")  # what counts as text in density and line checks
_LATIN_RUN = re.compile(r"[A-Za-z]+")
_PUNCT_CN = re.compile(r"[，。！？；：、“”‘’（）《》,.!?;:]")

# Lines that are never article text (whole-line matches, after whitespace normalisation).
_EDITOR_LINE = re.compile(
    r"^[\[【（(]?\s*(?:责任编辑|責任編輯|责编|責編|编辑|編輯|审核|审校|校对|编审|终审|签发|监制|统筹|责任校对)"
    r"(?:\s*[:：]|\s+|$)\s*(?P<name>[^\]】）)，。！？；]{0,30}?)\s*[\]】）)]?\s*$"
)
_EDITOR_INLINE = re.compile(r"[\[【（(]\s*(?:责任编辑|責任編輯|责编|責編)\s*[:：]\s*(?P<name>[^\]】）)]{1,40})[\]】）)]")
# Lines that are never article text. Two patterns, one `is_boilerplate_line` question: those that hold only at the
# start of a line (tried once, by match) and those that may sit anywhere (searched): one alternation of both,
# searched, tried every start alternative at every position of every body line (4× slower).
_BOILER_START = re.compile(
    r"(?:[\[【]?\s*(?:纠错|打印|关闭|关闭窗口|返回顶部|收藏|字号|字体|推荐|评论|举报|分享|打印本页|我要纠错|收藏本文)\s*[\]】]?\s*)+$"
    r"|\s*分享到|\s*(?:扫一扫|扫描二维码|手机看新闻|关注新华网|下载客户端)"
    r"|[【\[]?\s*(?:上一篇|下一篇|上一页|下一页|返回首页|查看原文|阅读原文)\s*[】\]]?"
    r"|(?:相关新闻|相关阅读|相关链接|延伸阅读|推荐阅读|热点推荐|更多精彩|猜你喜欢|相关文章|往期回顾)\s*[:：]?\s*$"
    r"|[^。！？]{0,30}版权所有[^。！？]{0,30}$"
    r"|[^。！？]{0,20}未经.{0,12}(?:授权|许可).{0,10}(?:转载|使用)[^。！？]{0,20}$"
    r"|(?:字号|字体)[:：]\s*[大中小\s]+$|[大中小]\s*[大中小]\s*[大中小]$"
    r"|(?:来源|作者|编辑|时间)[:：]\s*$"
    r"|原标题\s*[:：]|点击(?:进入|查看|阅读|这里).{0,30}(?:>>|》》|>)\s*$"
    r"|(?:[\[【]\s*\d{1,2}\s*[\]】]\s*|\d{1,2}\s+|(?:上一页|下一页|首页|尾页)\s*)+$"
    r"|(?:作者|出品|摄影|图片来源|撰文|编译|翻译|策划|制图|设计|视频)\s*[:：︱|丨/／]\s*[^\s，。！？；]{1,30}(?:\s[^\s，。！？；]{1,12})?$",
    re.I,
)
_BOILER_ANYWHERE = re.compile(r"分享让更多人看到|Copyright\s*(?:©|\(c\))|©\s*\d{4}|ICP[备证]\d", re.I)
_PAGER_TAIL = re.compile(r"(?:\s*[\[【]\s*\d{1,2}\s*[\]】]){2,}\s*$")
# Promotion lines inside article containers (app downloads, polls, QR codes); only short lines are dropped.
_PROMO_LINE = re.compile(r"【(?:下载地址|点击投票|点击查看|点击进入|立即下载)】|点击下载|扫码下载|长按识别二维码|扫描下方二维码|"
                         r"关注(?:微信)?公众号|第一时间接收最全面|免费试玩|下载客户端还能")
# Lines that start a trailing block of links (related articles): everything after them is dropped.
_TAIL_START = re.compile(
    r"^[【\[]?\s*(?:相关新闻|相关阅读|相关链接|延伸阅读|推荐阅读|相关文章|热点推荐|猜你喜欢|往期回顾|更多阅读|相关报道|热门推荐|相关稿件|相关文件|相关解读|相关政策)\s*[】\]]?\s*[:：]?\s*$"
)
_SOURCE_IN = re.compile(r"(?:来源|來源|稿源|出处|来自)\s*[:：]\s*(?P<src>[^\s|｜│]{2,40})")
_NAME = r"(?:[\u3400-\u4e27\u4e29-\u9fff]{2,4}|[\u3400-\u4e27\u4e29-\u9fff]{1,3}·[\u3400-\u9fff]{1,6})"
_NAMES = _NAME + r"(?:[\s、·,，]{1,2}" + _NAME + r"){0,5}"
_AUTHOR_PATTERNS = [
    re.compile(r"[（(]\s*(?:本报|本台|本网|新华社|央广网|总台\S{0,8}?)?\s*(?:特约|实习|见习)?(?:记者|评论员)\s*[:：]?\s*(?P<name>[^（()）]{2,40}?)\s*(?:[)）]|$)"),
    re.compile(r"^(?:[□■●◎]\s*)?(?:本报|本台|本网|新华社|央视|总台)?(?:特约|实习|见习)?记者\s*[:：]?\s*(?P<name>%s)$" % _NAMES),
    re.compile(r"(?:^|[　\s])(?:作者|文|撰文)\s*[:：/／|︱丨]\s*(?P<name>%s)$" % _NAMES),
    re.compile(r"[（(]\s*(?:总台\S{0,8}|央广网)?记者\s*(?P<name>[\u3400-\u9fff·、\s]{2,20})\s*[)）]"),
    re.compile(r"^(?:本报|本台|新华社)?(?:特约|实习|见习)?记者\s*(?P<name>[\u3400-\u4e27\u4e29-\u9fff]{2,4})\s*(?:报道|摄影?)"),
    re.compile(r"^.{0,16}?(?:频道|本报|本台|新华社|新华网)\s*(?:特约|实习|见习)?记者\s+(?P<name>[\u3400-\u9fff]{2,4}(?:[\s、][\u3400-\u9fff]{2,4}){0,3})$"),
]
_NAME_CLEAN = re.compile(r"^(?:作者|(?:本报|本台|本网|新华社)?(?:特约|实习|见习)?记者|责任编辑|责编|编辑|来源)\s*[:：]?\s*")
_TITLE_SEP = re.compile(r"\s*(?:--|——|_|\s[-|｜]\s|-|\|)\s*")


def norm_space(text: str) -> str:
    """Collapse horizontal whitespace (incl. ideographic spaces) to one space and strip."""
    return _WS.sub(" ", text).strip()


def cjk_count(text: str) -> int:
    """Chinese characters in `text`."""
    return sum(map(len, _CJK_RUN.findall(text)))


def wordish_count(text: str) -> int:
    """Chinese characters, Latin letters and digits in `text`."""
    return sum(map(len, _WORDISH_RUN.findall(text)))


def latin_count(text: str) -> int:
    """Latin letters in `text`."""
    return sum(map(len, _LATIN_RUN.findall(text)))


def punct_count(text: str) -> int:
    return len(_PUNCT_CN.findall(text))


def is_boilerplate_line(line: str) -> bool:
    return bool(_BOILER_START.match(line) or _BOILER_ANYWHERE.search(line) or _EDITOR_LINE.match(line))


def editor_from_line(line: str) -> str | None:
    """'(责编：毛思远、邱烨)' / '【责任编辑:崔红宗】' / '[责编：张三]' → the names."""
    match = _EDITOR_INLINE.search(line) or _EDITOR_LINE.match(line)
    if not match:
        return None
    if not re.search(r"责任编辑|責任編輯|责编|責編|编辑|編輯", line):
        return None
    name = clean_name(match.group("name"))
    return name or None


_OUTLET = re.compile(r"[\u4e00-\u9fff]{1,10}(?:日报|晚报|时报|报|网|社|电视台|广播电台|频道)")
_BYLINE_MARK = re.compile(r"记者|作者|通讯员|文[/／:：]")


def byline_segment(text: str) -> str:
    """The part of an e-paper byline that names people: '北京日报 | 记者 刘苏雅 | 2025年09月02日' → '记者 刘苏雅'."""
    segments = [part.strip() for part in re.split(r"\s*[|｜]\s*", text) if part.strip()]
    if len(segments) < 2:
        return text
    marked = [part for part in segments if _BYLINE_MARK.search(part)]
    plain = [part for part in segments
             if not _OUTLET.fullmatch(part) and not re.search(r"\d{4}\s*[年\-/.]", part)]
    return (marked or plain or segments)[0]


def clean_name(text: str | None) -> str:
    if not text:
        return ""
    text = norm_space(text)
    for _ in range(3):
        stripped = _NAME_CLEAN.sub("", text)
        if stripped == text:
            break
        text = stripped
    text = text.strip(" ()（）[]【】:：|｜/,，、.")
    return norm_space(text)


def source_from_text(text: str) -> str | None:
    """'2025年08月31日09:12 | 来源：人民网－重庆频道' → '人民网－重庆频道'."""
    match = _SOURCE_IN.search(text or "")
    if not match:
        return None
    src = re.split(r"\d{4}[-年/]", match.group("src"))[0]
    src = src.strip(" ()（）[]【】:：|｜,，")
    return src or None


def author_from_paragraphs(paragraphs: list[str], all_lines: bool = False) -> str | None:
    """The reporter named in the first two or last three paragraphs: （记者 张三）, 本报记者 张三, 作者：张三."""
    if not paragraphs:
        return None
    picks = [p for p in paragraphs if len(p) <= 60] if all_lines else paragraphs[:2] + paragraphs[-3:]
    for para in picks:
        for pattern in _AUTHOR_PATTERNS:
            match = pattern.search(para[:200] if para in paragraphs[:2] else para[-120:])
            if match:
                name = clean_name(match.group("name"))
                if "\ufffd" in name:  # damaged bytes: keep the intact names before the damage
                    name = "、".join(n for n in name.split("\ufffd")[0].split("、")[:-1])
                name = re.split(r"\s*(?:报道|摄影?|通讯员|实习生)\s*", name)[0].strip(" 、")
                if 2 <= len(name) <= 30 and cjk_count(name) >= 2:
                    return norm_space(name)
    return None


def strip_title_suffix(title: str, pattern: str | None = None, hints: list[str] = ()) -> str:
    """Remove site suffixes: '标题--时政--人民网' → '标题'; '标题_光明网' → '标题'; '标题-新华网' → '标题'.

    With `hints` (h1 texts of the page), the hint that the <title> starts with wins. Otherwise the first
    segment is kept when the remaining segments look like channel/site names (short).
    """
    title = norm_space(title)
    if pattern:
        title = re.sub(pattern, "", title).strip()
    for hint in hints:
        hint = norm_space(hint)
        if len(hint) >= 4 and title.startswith(hint):
            return hint
    parts = _TITLE_SEP.split(title)
    if len(parts) > 1:
        tail = parts[1:]
        sitey = re.search(r"(?:网|频道|报|台|新闻|在线|客户端|网站|社|中心|\.com|\.cn|\.net|TV|委员会|政府|厅|局)$",
                          tail[-1], re.I)
        short = all(len(p) <= 8 for p in tail) and len(parts[0]) >= 2 * sum(len(p) for p in tail)
        if all(len(p) <= 16 for p in tail) and len(parts[0]) >= 4 and (sitey or short):
            # keep in-title hyphens: rebuild from the original up to the first separator that starts the tail
            cut = title.find(parts[1], len(parts[0]))
            head = title[:cut]
            head = re.sub(r"\s*(?:--|——|_|-|\||｜)\s*$", "", head)
            return head.strip()
    return title


def tidy_lines(lines: list[str]) -> tuple[list[str], list[str], str | None]:
    """Drop boilerplate lines and trailing related-article blocks; return (kept, dropped, editor)."""
    kept: list[str] = []
    dropped: list[str] = []
    editor = None
    total = sum(len(x) for x in lines) or 1
    seen = 0
    for line in lines:
        seen += len(line)
        if _TAIL_START.match(line) and kept:
            dropped.append(line)
            if seen >= 0.5 * total:  # a related-articles block after the story: the rest goes too
                break
            continue
        name = editor_from_line(line) if len(line) <= 80 else None
        if name and (_EDITOR_LINE.match(line) or len(line) - len(_EDITOR_INLINE.search(line).group(0) if _EDITOR_INLINE.search(line) else "") < 4):
            editor = editor or name
            dropped.append(line)
            continue
        if len(line) <= 120 and (is_boilerplate_line(line) or _PROMO_LINE.search(line)):
            dropped.append(line)
            continue
        if line.rstrip().endswith(("]", "】")):  # where a pager tail can end (`\s` and rstrip() agree)
            line = _PAGER_TAIL.sub("", line)
        if name and _EDITOR_INLINE.search(line):
            editor = editor or name
            line = _EDITOR_INLINE.sub("", line).strip()
            if not line:
                continue
        kept.append(line)
    return kept, dropped, editor


_LABEL = re.compile(r"^(?P<label>作者|记者|文|责任编辑|责编|编辑|来源|稿件来源|文章来源|信息来源)\s*[:：︱丨|]\s*(?P<value>.*)$")


def labelled_fields(lines: list[str]) -> dict[str, str]:
    """'作者：' / '编辑：' / '稿件来源：' label lines (value on the same or the next line) → {label: value}."""
    out: dict[str, str] = {}
    lines = [line.strip().lstrip("（(【[").strip() for line in lines]
    for i, line in enumerate(lines):
        if len(line) > 60:
            continue
        for part in re.split(r"\s{2,}|\s(?=(?:作者|记者|责任编辑|编辑|来源|稿件来源)[:：])", line):
            match = _LABEL.match(part.strip())
            if not match:
                continue
            value = match.group("value").strip()
            if not value and i + 1 < len(lines) and len(lines[i + 1]) <= 30 and not _LABEL.match(lines[i + 1]):
                value = lines[i + 1]
            value = value.strip(" ()（）[]【】")
            if value and len(value) <= 30:
                label = {"记者": "作者", "文": "作者", "责编": "责任编辑", "稿件来源": "来源", "文章来源": "来源",
                         "信息来源": "来源"}.get(match.group("label"), match.group("label"))
                out.setdefault(label, value)
    return out
