"""The DOCX the analyst sends: A4, 黑体/宋体 in the East Asian slot with zh-CN declared, real links, page numbers.

Pagination: an article's heading, 来源, 链接 with its URL, 主要内容 and the title and date lines under it are
chained with keep-with-next into the first lines of the body (widow/orphan control keeps two), so that block never
splits across pages; nothing forces a page break anywhere else. (LibreOffice 7.4 does not always honour such a
chain; crawler.digest.pdf moves a chain it left split, for the PDF only.)
"""
from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from lxml import etree

from crawler.digest.layout import Issue, layout
from crawler.digest.render import is_web, safe_url
from crawler.digest.settings import DigestSettings

HEITI = "黑体"
SONGTI = "宋体"
LATIN = "Times New Roman"
BODY_SIZE = Pt(12)  # 小四
LINE_PITCH = Pt(22)  # at least, for 小四 text: 1.5 lines of 宋体
# Fonts that have the glyphs of Simplified Chinese: the fontTable entries tell Word (altName, GB2312 charset) and
# LibreOffice which face stands for 宋体/黑体; crawler.digest.pdf maps them to Noto CJK SC where they are absent.
FONT_TABLE = {
    SONGTI: {"altName": "SimSun", "panose1": "02010600030101010101", "family": "auto", "pitch": "variable"},
    HEITI: {"altName": "SimHei", "panose1": "02010609060101010101", "family": "modern", "pitch": "fixed"},
}
GB2312_CHARSET, SHIFT_JIS_CHARSET = "86", "80"
LANGUAGE, EAST_ASIAN_LANGUAGE = "en-US", "zh-CN"
LINK_COLOUR = RGBColor(0x1F, 0x3A, 0x93)
LINK_STYLE, TOC_LINK_STYLE = "Hyperlink", "Index Link"
KEEP_WITH_NEXT = {"title", "number", "organisation", "toc_title", "item_heading", "field", "link", "also",
                  "item_kicker", "item_title", "item_date"}
KEEP_LINES = KEEP_WITH_NEXT | {"toc_source"}  # never split inside one of these (a long title or URL that wraps)


def _fonts(target, east_asia: str, latin: str = LATIN) -> None:
    """Set a run's or style's fonts, East Asian slot included (python-docx's font.name sets only the Latin ones)."""
    target.font.name = latin
    rpr = target.element.get_or_add_rPr()  # a run's w:r or a style's w:style
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(theme), None)  # a theme font would override the named one
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:eastAsia"), east_asia)
    rfonts.set(qn("w:cs"), latin)


def _defaults(document) -> None:
    """Document defaults: 宋体 / Times New Roman, and the languages: en-US for Latin text, zh-CN for East Asian text
    (python-docx's template declares en-US for both; the East Asian language picks which forms a CJK font draws,
    and the fallback font where the named one is missing)."""
    rpr = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    for old in rpr.findall(qn("w:rFonts")) + rpr.findall(qn("w:lang")):
        rpr.remove(old)
    rfonts = OxmlElement("w:rFonts")
    for slot, name in (("w:ascii", LATIN), ("w:hAnsi", LATIN), ("w:eastAsia", SONGTI), ("w:cs", LATIN)):
        rfonts.set(qn(slot), name)
    rpr.insert(0, rfonts)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), LANGUAGE)
    lang.set(qn("w:eastAsia"), EAST_ASIAN_LANGUAGE)
    lang.set(qn("w:bidi"), "ar-SA")
    rpr.append(lang)


def _font_table(document) -> None:
    """Declare 宋体 and 黑体 with their Latin names and the GB2312 charset; drop the template's Japanese faces."""
    part = next(rel.target_part for rel in document.part.rels.values() if rel.reltype == RT.FONT_TABLE)
    fonts = parse_xml(part.blob)
    for font in fonts.findall(qn("w:font")):
        charset = font.find(qn("w:charset"))
        shift_jis = charset is not None and charset.get(qn("w:val")) == SHIFT_JIS_CHARSET  # ＭＳ 明朝, ＭＳ ゴシック
        if shift_jis or font.get(qn("w:name")) in FONT_TABLE:
            fonts.remove(font)
    for name, spec in FONT_TABLE.items():
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        for tag, value in (("w:altName", spec["altName"]), ("w:panose1", spec["panose1"]),
                           ("w:charset", GB2312_CHARSET), ("w:family", spec["family"]), ("w:pitch", spec["pitch"])):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            font.append(child)
        fonts.append(font)
    # python-docx keeps the font table as a plain Part (its bytes, no XML API): write the edited XML back
    part._blob = etree.tostring(fonts, xml_declaration=True, encoding="UTF-8", standalone=True)


def _link_styles(document) -> None:
    """Character styles for links. LibreOffice turns a w:hyperlink into a PDF link annotation only when its runs
    carry a character style (plain runs give blue text that cannot be clicked), so every link run gets one:
    Word's own Hyperlink (blue, underlined) for 链接, and a plain one for the 信息目录 entries."""
    styles = document.styles
    if LINK_STYLE not in [s.name for s in styles]:
        styles.add_style(LINK_STYLE, WD_STYLE_TYPE.CHARACTER)
    link = styles[LINK_STYLE]
    link.font.color.rgb = LINK_COLOUR
    link.font.underline = True
    if TOC_LINK_STYLE not in [s.name for s in styles]:
        styles.add_style(TOC_LINK_STYLE, WD_STYLE_TYPE.CHARACTER)


def _hyperlink(paragraph, text: str, *, url: str | None = None, anchor: str | None = None, size: Pt | None = None):
    """Append a clickable run: an external link (relationship to `url`) or an internal one (to bookmark `anchor`)."""
    link = OxmlElement("w:hyperlink")
    if url is not None:
        link.set(qn("r:id"), paragraph.part.relate_to(url, RT.HYPERLINK, is_external=True))
    else:
        link.set(qn("w:anchor"), anchor)
    link.set(qn("w:history"), "1")
    run = paragraph.add_run(text, style=LINK_STYLE if url is not None else TOC_LINK_STYLE)
    if size is not None:
        run.font.size = size
    link.append(run._r)  # moved from the paragraph into the hyperlink
    paragraph._p.append(link)
    return run


def _bookmark(paragraph, name: str, bookmark_id: int) -> None:
    """Wrap the paragraph's content in a bookmark called `name` (the target of an internal link)."""
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(bookmark_id))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(bookmark_id))
    ppr = paragraph._p.pPr
    if ppr is not None:
        ppr.addnext(start)
    else:
        paragraph._p.insert(0, start)
    paragraph._p.append(end)


def _style(document, name: str, east_asia: str, size: Pt, bold: bool = False):
    style = document.styles[name]
    _fonts(style, east_asia)
    style.font.size = size
    style.font.bold = bold
    style.font.italic = False
    style.font.color.rgb = RGBColor(0, 0, 0)
    fmt = style.paragraph_format
    fmt.space_before = Pt(6 if name.startswith("Heading") else 0)
    fmt.space_after = Pt(6)
    # "at least" a fixed height rather than a multiple of the font's line: 1.5 lines of 宋体 in Word is about 22 pt at
    # 小四, but 1.5 lines of Noto CJK (taller metrics) is 26 pt, which pushed whole articles onto the next page
    fmt.line_spacing_rule = WD_LINE_SPACING.AT_LEAST
    fmt.line_spacing = Pt(max(LINE_PITCH.pt, round(size.pt * 1.5)))
    return style


def _page_number_footer(section) -> None:
    """A centred PAGE field in the footer: - 1 -."""
    paragraph = section.footer.paragraphs[0] if section.footer.paragraphs else section.footer.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def run_with(*elements):
        run = paragraph.add_run()
        _fonts(run, SONGTI)
        run.font.size = Pt(10.5)
        for element in elements:
            run._r.append(element)
        return run

    paragraph.add_run("- ").font.size = Pt(10.5)
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    placeholder = OxmlElement("w:t")
    placeholder.text = "1"
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(begin)
    run_with(instr)
    run_with(separate)
    run_with(placeholder)
    run_with(end)
    paragraph.add_run(" -").font.size = Pt(10.5)


def build_docx(issue: Issue, settings: DigestSettings):
    """The python-docx Document of the issue."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
    section.top_margin = section.bottom_margin = Cm(2.54)
    section.left_margin = section.right_margin = Cm(3.18)
    section.start_type = WD_SECTION.NEW_PAGE
    _page_number_footer(section)

    _defaults(document)
    _font_table(document)
    _link_styles(document)
    _style(document, "Normal", SONGTI, BODY_SIZE)
    _style(document, "Title", HEITI, Pt(26), bold=True)
    _style(document, "Heading 1", HEITI, Pt(16), bold=True)
    _style(document, "Heading 2", HEITI, Pt(14), bold=True)
    title_style = document.styles["Title"]
    title_style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    # the built-in Title style draws a rule under the text; the 周报 masthead has none
    ppr = title_style.element.get_or_add_pPr()
    border = ppr.find(qn("w:pBdr"))
    if border is not None:
        ppr.remove(border)

    core = document.core_properties
    core.title = f"{settings.title} {settings.number_text(issue.number)}"
    core.author = issue.organisation
    core.language = EAST_ASIAN_LANGUAGE

    bookmarks = 0
    for block in layout(issue, settings):
        kind, text = block.kind, block.text
        if kind == "title":
            paragraph = document.add_paragraph(style="Title")
            run = paragraph.add_run(text)
            run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)  # the red masthead of a 周报
        elif kind in ("number", "organisation", "date"):
            paragraph = document.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(text)
            _fonts(run, HEITI if kind == "number" else SONGTI)
            run.font.size = Pt(16 if kind == "number" else 14)
            if kind == "date":
                paragraph.paragraph_format.space_after = Pt(18)
        elif kind == "section":
            paragraph = document.add_heading(text, level=1)
        elif kind == "item_heading":
            paragraph = document.add_heading(text, level=2)
            if block.anchor:
                bookmarks += 1
                _bookmark(paragraph, block.anchor, bookmarks)
        elif kind == "lead":
            paragraph = document.add_paragraph(text)
            paragraph.paragraph_format.first_line_indent = Pt(24)
        elif kind == "toc_title":
            paragraph = document.add_paragraph()
            if block.anchor:
                _hyperlink(paragraph, text, anchor=block.anchor)
            else:
                paragraph.add_run(text)
            paragraph.paragraph_format.space_after = Pt(0)
        elif kind == "toc_source":
            paragraph = document.add_paragraph(text)
            paragraph.paragraph_format.left_indent = Pt(24)
        elif kind == "field":
            paragraph = document.add_paragraph()
            run = paragraph.add_run(text)
            run.bold = True
            _fonts(run, HEITI)
        elif kind == "link":
            paragraph = document.add_paragraph()
            if is_web(block.url):
                _hyperlink(paragraph, text, url=safe_url(block.url), size=Pt(10.5))
            else:
                paragraph.add_run(text).font.size = Pt(10.5)
        elif kind == "also":
            paragraph = document.add_paragraph()
            label = paragraph.add_run(text.split("：", 1)[0] + "：")
            for n, (name, url) in enumerate(block.links):
                if n:
                    paragraph.add_run("、")
                if is_web(url):
                    _hyperlink(paragraph, name, url=safe_url(url))
                else:
                    paragraph.add_run(name)
            for run in paragraph.runs + [label]:
                run.font.size = Pt(10.5)
        elif kind == "item_title":
            paragraph = document.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(text)
            run.bold = True
            _fonts(run, HEITI)
            run.font.size = Pt(14)
        elif kind == "item_kicker":
            paragraph = document.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(text)
            _fonts(run, HEITI)
            run.font.size = Pt(11)
        elif kind == "item_date":
            paragraph = document.add_paragraph(text)
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        else:  # body
            paragraph = document.add_paragraph(text)
            paragraph.paragraph_format.first_line_indent = Pt(24)
        fmt = paragraph.paragraph_format
        fmt.widow_control = True  # no single line of a paragraph alone at the top or foot of a page
        if kind in KEEP_WITH_NEXT:
            fmt.keep_with_next = True  # no label or title alone at the foot of a page
        if kind in KEEP_LINES:
            fmt.keep_together = True
        if kind in ("field", "link", "also") and text != "主要内容：":
            fmt.space_after = Pt(0)  # 来源 / 链接 / URL read as one block, as in the published issues
    return document


def render_docx(issue: Issue, settings: DigestSettings, path: str | Path) -> Path:
    path = Path(path)
    build_docx(issue, settings).save(str(path))
    return path
