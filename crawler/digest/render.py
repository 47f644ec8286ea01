"""Markdown and HTML renderings of an issue (article text escaped), following crawler.digest.layout."""
from __future__ import annotations

import html
import re
from urllib.parse import quote

from crawler.digest.layout import Issue, layout
from crawler.digest.settings import DigestSettings

_MD_INLINE = re.compile(r"([\\`*_\[\]<>|&~])")
_MD_LINE_START = re.compile(r"^(\s*)([#+\-=]|\d+(?=[.)]))")


def md_escape(text: str) -> str:
    """Backslash-escape what Markdown would read as markup, so article text prints as written."""
    text = _MD_INLINE.sub(r"\\\1", text)
    match = _MD_LINE_START.match(text)
    if match:
        lead, token = match.groups()
        if token.isdigit():  # "1." at the start would begin a list: escape the dot
            rest = text[len(lead) + len(token):]
            text = f"{lead}{token}\\{rest}"
        else:
            text = f"{lead}\\{text[len(lead):]}"
    return text


def safe_url(url: str) -> str:
    """The URL with spaces, angle brackets and quotes percent-encoded (for <autolinks> and href attributes)."""
    return quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~-._")


def is_web(url: str | None) -> bool:
    return bool(url) and url.lower().startswith(("http://", "https://"))


def render_markdown(issue: Issue, settings: DigestSettings) -> str:
    lines: list[str] = []
    for block in layout(issue, settings):
        text = md_escape(block.text)
        if block.kind == "title":
            lines.append(f"# {text}")
        elif block.kind == "section":
            lines.append(f"## {text}")
        elif block.kind in ("item_heading", "toc_title"):
            number, _, title = block.text.partition(". ")
            lines.append(f"{'### ' if block.kind == 'item_heading' else ''}{number}. {md_escape(title)}")
        elif block.kind == "toc_source":
            lines.append(f"   {text}")
        elif block.kind == "link":
            lines.append(f"<{safe_url(block.url)}>" if is_web(block.url) else text)
        elif block.kind == "also":
            label = md_escape(block.text.split("：", 1)[0])
            parts = [f"{md_escape(name)} <{safe_url(url)}>" if is_web(url) else md_escape(name)
                     for name, url in block.links]
            lines.append(f"{label}：{'；'.join(parts)}")
        elif block.kind == "item_title":
            lines.append(f"**{text}**")
        else:
            lines.append(text)
    return "\n\n".join(lines) + "\n"


_CSS = """
body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; max-width: 46em; margin: 2em auto;
       line-height: 1.8; padding: 0 1em; }
h1, h2, h3, .masthead { font-family: "SimHei", "Heiti SC", "Noto Sans CJK SC", sans-serif; }
h1, .masthead { text-align: center; }
h1 { font-size: 1.9em; margin-bottom: .2em; }
.masthead { margin: .3em 0; }
h2 { font-size: 1.3em; margin-top: 1.6em; }
h3 { font-size: 1.1em; margin-top: 1.4em; }
.toc-source { margin-top: 0; padding-left: 2em; }
.item-kicker { text-align: center; margin-bottom: 0; font-family: "SimHei", "Heiti SC", "Noto Sans CJK SC", sans-serif; }
.item-title { font-weight: bold; text-align: center; }
.item-date { text-align: center; color: #444; }
.body, .lead { text-indent: 2em; }
a { word-break: break-all; }
"""


def render_html(issue: Issue, settings: DigestSettings) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{esc(settings.title)} {esc(settings.number_text(issue.number))}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
    ]
    for block in layout(issue, settings):
        text = esc(block.text)
        kind = block.kind
        if kind == "title":
            parts.append(f"<h1>{text}</h1>")
        elif kind in ("number", "organisation", "date"):
            parts.append(f'<p class="masthead">{text}</p>')
        elif kind == "section":
            parts.append(f"<h2>{text}</h2>")
        elif kind == "item_heading":
            anchor = f' id="{esc(block.anchor, quote=True)}"' if block.anchor else ""
            parts.append(f"<h3{anchor}>{text}</h3>")
        elif kind == "toc_title" and block.anchor:  # the 信息目录 entry links to its article
            parts.append(f'<p class="toc-title"><a href="#{esc(block.anchor, quote=True)}">{text}</a></p>')
        elif kind == "link":
            if is_web(block.url):
                href = esc(safe_url(block.url), quote=True)
                parts.append(f'<p class="link"><a href="{href}">{text}</a></p>')
            else:
                parts.append(f'<p class="link">{text}</p>')
        elif kind == "also":
            label = esc(block.text.split("：", 1)[0])
            links = [f'<a href="{esc(safe_url(url), quote=True)}">{esc(name)}</a>' if is_web(url) else esc(name)
                     for name, url in block.links]
            parts.append(f'<p class="also">{label}：{"、".join(links)}</p>')
        else:
            css = kind.replace("_", "-")
            parts.append(f'<p class="{css}">{text}</p>')
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
