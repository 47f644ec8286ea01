"""The review page speaks Chinese: the score's reason, and the digest's and add's English messages in Chinese."""
from __future__ import annotations

import re

from crawler.analyse.relevance import Relevance, TermHit

AXIS = {"health": "卫生健康", "informatization": "信息化", "both": "卫生健康信息化", "exclude": "排除词"}
RUN_STATUS = {"running": "进行中", "ok": "正常", "partial": "部分失败", "failed": "失败", "interrupted": "中断"}
ARTICLE_STATUS = {"ok": "正常", "excluded": "已排除"}
ORIGIN = {"crawl": "抓取", "add": "按网址添加", "import": "导入"}
DATE_SOURCE = {"rule": "站点规则", "meta": "网页元数据", "text": "正文日期行", "url": "网址中的日期",
               "htmldate": "htmldate 推断", "import": "导入数据"}
PRECISION = {"second": "精确到秒", "minute": "精确到分", "day": "精确到日"}
KEY_SHARE = 0.75  # the strongest terms that make up this share of the points carried the score
MAX_KEY_TERMS = 5


def key_terms(result: Relevance) -> list[str]:
    """The terms that carried the score: the strongest hits (a 卫生健康信息化 term counts on both axes) whose points
    make up KEY_SHARE of the total, at most MAX_KEY_TERMS — not the generic words every article has."""
    hits = sorted((h for h in result.hits if h.axis != "exclude" and h.points > 0), key=lambda h: -_weight(h))
    total = sum(_weight(h) for h in hits)
    chosen, carried = [], 0.0
    for hit in hits:
        if carried >= KEY_SHARE * total or len(chosen) == MAX_KEY_TERMS:
            break
        chosen.append(hit.term)
        carried += _weight(hit)
    return chosen


def _weight(hit: TermHit) -> float:
    return hit.points * (2 if hit.axis == "both" else 1)


def _where(hit: TermHit) -> str:
    parts = (["标题"] if hit.title_hits else []) + ([f"正文 {hit.body_hits} 次"] if hit.body_hits else [])
    return "、".join(parts)


def reason(result: Relevance) -> str:
    """The score in one line: which terms carried it and where, and the two axes."""
    hits = {h.term: h for h in result.hits}
    terms = "，".join(f"{t}（{_where(hits[t])}）" for t in key_terms(result)) or "无命中词"
    verdict = "达到阈值" if result.relevant else "未达阈值"
    return (f"{result.score:g} 分，{verdict}：主要因为 {terms}；"
            f"卫生健康 {result.health:g} × 信息化 {result.informatization:g}")


def explain(result: Relevance) -> str:
    """The whole calculation, as `Relevance.explain` gives it, in Chinese."""
    head = (f"得分 {result.score:g} = √(卫生健康 {result.health:g} × 信息化 {result.informatization:g})"
            f" × 聚焦 {result.focus:g} → {'达到阈值' if result.relevant else '未达阈值'}")
    lines = [f"  {h.term}（{AXIS[h.axis]}，{_where(h)}）{h.points:+g}" for h in result.hits]
    return "\n".join([head] + lines)


_MESSAGES = [
    (re.compile(r"issue number (\d+) is already used by the issue of (\S+?); give another.*"),
     r"期号 \1 已被 \2 那一期使用，请换一个期号"),
    (re.compile(r"no issue before (\S+) is stored: give the number of this one.*"),
     r"数据库中没有 \1 之前的周报：请填写本期期号"),
    (re.compile(r"--pick (\d+): no article with that id"), r"没有编号为 #\1 的文章"),
    (re.compile(r"no article to print for .*"), "没有可刊登的文章：请至少选入一篇"),
    (re.compile(r"(\S+): only http and https URLs can be added"), r"\1：只能添加 http 或 https 网址"),
    (re.compile(r"(\S+): not an article page \((.*)\)"), r"\1：不是文章页面（\2）"),
    (re.compile(r"(\S+): HTTP (\d+)(.*)"), r"\1：服务器返回 HTTP \2\3"),
    (re.compile(r"(\S+): disallowed by robots\.txt"), r"\1：网站的 robots.txt 不允许抓取"),
    (re.compile(r"(\S+): .*Connection refused.*"), r"\1：无法连接（连接被拒绝）"),
    (re.compile(r"(\S+): .*timed out.*"), r"\1：连接超时"),
]


def chinese(message: str) -> str:
    """A known English message from crawler.digest or crawler.add in Chinese; others unchanged."""
    for pattern, replacement in _MESSAGES:
        if pattern.fullmatch(message):
            return pattern.sub(replacement, message)
    return message
