"""The DOCX the analyst sends: A4, 黑体 headings and 宋体 text via the East Asian font slot, page numbers."""
from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from crawler.digest.layout import Issue, layout
from crawler.digest.settings import DigestSettings

HEITI = "黑体"
SONGTI = "宋体"
LATIN = "Times New Roman"
BODY_SIZE = Pt(12)  # 小四
KEEP_WITH_NEXT = {"title", "number", "organisation", "toc_title", "field", "link", "also", "item_kicker", "item_title",
                  "item_date"}


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
    fmt.line_spacing_rule = WD_LINE_SPACING.ONE_POINT_FIVE
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
    core.language = "zh-CN"

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
        elif kind == "lead":
            paragraph = document.add_paragraph(text)
            paragraph.paragraph_format.first_line_indent = Pt(24)
        elif kind == "toc_title":
            paragraph = document.add_paragraph(text)
            paragraph.paragraph_format.space_after = Pt(0)
        elif kind == "toc_source":
            paragraph = document.add_paragraph(text)
            paragraph.paragraph_format.left_indent = Pt(24)
        elif kind == "field":
            paragraph = document.add_paragraph()
            run = paragraph.add_run(text)
            run.bold = True
            _fonts(run, HEITI)
        elif kind in ("link", "also"):
            paragraph = document.add_paragraph()
            run = paragraph.add_run(text)
            run.font.size = Pt(10.5)
            run.font.color.rgb = RGBColor(0x1F, 0x3A, 0x93) if kind == "link" else RGBColor(0x40, 0x40, 0x40)
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
        if kind in KEEP_WITH_NEXT:
            paragraph.paragraph_format.keep_with_next = True  # no label or title alone at the foot of a page
    return document


def render_docx(issue: Issue, settings: DigestSettings, path: str | Path) -> Path:
    path = Path(path)
    build_docx(issue, settings).save(str(path))
    return path
