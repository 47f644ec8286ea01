"""The issue as a reader sees it: DOCX → PDF (LibreOffice) → text positions per page (pdfplumber) and PNG.

Checked on the pages: every article's heading, 来源, 链接 with its URL, 主要内容 and the title and date lines under
it (and the first body line) sit on one page; no page but the last is more than half empty; every 链接 is a link
annotation to the article's URL over the printed URL; every 信息目录 entry jumps to its article's page; Chinese text
is set in Noto Serif/Sans CJK where 宋体/黑体 are absent.

Set HIWATCH_RENDER_DIR=/some/dir to keep the PDF and PNG pages for a look.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from docx.enum.text import WD_LINE_SPACING
from docx.shared import Pt

from crawler.digest.build import write_outputs
from crawler.digest.layout import Issue, IssueItem
from crawler.digest.parse import parse_issue
from crawler.digest.pdf import docx_to_pdf, find_office, keep_chains
from crawler.digest.render import safe_url
from crawler.digest.settings import DigestSettings

pdfplumber = pytest.importorskip("pdfplumber")

SEEDS = ["000", "002", "003", "004"]
FOOTER = re.compile(r"^-\d+-$")


def _need(found: str | None, name: str) -> str:
    if found:
        return found
    message = (f"{name} is not installed (apt-get install libreoffice-writer poppler-utils fonts-noto-cjk): "
               "cannot check the DOCX renders")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def office() -> str:
    return _need(find_office(), "libreoffice")


def _out(tmp_path: Path, name: str) -> Path:
    out = Path(os.environ.get("HIWATCH_RENDER_DIR") or tmp_path) / name
    out.mkdir(parents=True, exist_ok=True)
    return out


def seed_issue(seeds: Path, seed_id: str) -> Issue:
    parsed = parse_issue(next(seeds.glob(f"{seed_id}_*.txt")).read_text(encoding="utf-8"))
    return Issue(parsed.number, parsed.issue_date, parsed.window_first, parsed.window_last, parsed.organisation,
                 [IssueItem(i.number, i.title, i.source_name, i.url, i.published_on, "\n".join(i.body))
                  for i in parsed.items])


@dataclass
class Line:
    page: int  # 0-based
    top: float
    bottom: float
    text: str  # without whitespace


def read_pdf(pdf_path: Path):
    """(lines in reading order, link annotations [(page, top, bottom, uri or None, dest page or None)], pages,
    page heights, fonts per line text)."""
    lines, links = [], []
    with pdfplumber.open(pdf_path) as pdf:
        page_of = {page.page_obj.pageid: n for n, page in enumerate(pdf.pages)}
        heights = [page.height for page in pdf.pages]
        fonts: dict[str, set[str]] = {}
        for n, page in enumerate(pdf.pages):
            for line in page.extract_text_lines(keep_blank_chars=False):
                text = "".join(line["text"].split())
                lines.append(Line(n, line["top"], line["bottom"], text))
                fonts.setdefault(text, set()).update(c["fontname"] for c in line["chars"] if c["text"] and ord(c["text"][0]) > 0x2E80)
            for annot in page.annots:
                dest = annot["data"].get("Dest")
                dest_page = page_of.get(getattr(dest[0], "objid", None)) if dest else None
                links.append((n, annot["top"], annot["bottom"], annot.get("uri"), dest_page))
    return lines, links, len(heights), heights, fonts


def article_blocks(issue: Issue, lines: list[Line]) -> list[list[Line]]:
    """Per article, the lines from its heading in 二、具体内容 to its first body line."""
    start = next(i for i, line in enumerate(lines) if line.text == "二、具体内容")
    blocks, i = [], start + 1
    for n, item in enumerate(issue.items, start=1):
        title = "".join(item.title.split())
        heading = f"{n}.{title}"
        while not heading.startswith(lines[i].text[:12]) or not lines[i].text.startswith(f"{n}."):
            i += 1
        block = [lines[i]]
        text = lines[i].text
        while not text.endswith(heading):  # a long title wraps
            i += 1
            block.append(lines[i])
            text += lines[i].text
        # 来源 / 链接 / URL / 主要内容 / title / date, then the first body line
        for expected in (f"来源：{item.source_name}", "链接：", item.url, "主要内容：", title, f"来源：{item.source_name}"):
            i += 1
            block.append(lines[i])
            got = lines[i].text
            while not got.endswith("".join(expected.split())) and len(got) < len(expected) + 20:
                i += 1
                block.append(lines[i])
                got += lines[i].text
            assert got.endswith("".join(expected.split())), (n, expected, got)
        i += 1
        block.append(lines[i])  # the first line of the body
        blocks.append(block)
    return blocks


def check_reads_as_published(issue: Issue, pdf: Path) -> None:
    lines, links, pages, heights, fonts = read_pdf(pdf)
    blocks = article_blocks(issue, lines)
    for n, block in enumerate(blocks, start=1):
        assert {line.page for line in block} == {block[0].page}, (
            f"article {n}'s title/来源/链接/主要内容 block is split across pages: "
            + " | ".join(f"p{line.page + 1}:{line.text[:20]}" for line in block))
    # every 链接: a link annotation to the article's URL over the printed URL
    for n, (item, block) in enumerate(zip(issue.items, blocks), start=1):
        url_lines = [line for line in block if line.text and "".join(item.url.split()).startswith(line.text[:15])]
        assert url_lines, f"article {n}: URL not found on the page"
        url_line = url_lines[0]
        hits = [link for link in links if link[0] == url_line.page and link[3] == safe_url(item.url)
                and link[1] <= url_line.bottom and link[2] >= url_line.top]
        assert hits, f"article {n}: no link annotation to {item.url} over its URL (links: {links})"
    # every 信息目录 entry jumps to its article's page
    contents = [line for line in lines if line.page == 0 and re.match(r"^\d+\.", line.text)][:len(issue.items)]
    for n, (entry, block) in enumerate(zip(contents, blocks), start=1):
        dests = [link[4] for link in links if link[0] == entry.page and link[3] is None
                 and link[1] <= entry.bottom and link[2] >= entry.top]
        assert dests == [block[0].page], f"信息目录 entry {n}: goes to page(s) {dests}, its article is on " \
                                        f"page {block[0].page + 1}"
    # no page but the last more than half empty (A4, 2.54 cm margins: the text area is 72 pt to height − 72 pt), and
    # no page ends earlier than it must: the space left is less than what the next page starts with and had to
    # keep together (an article's head down to two body lines, else two lines of a paragraph)
    heads = {id(block[0]): block for block in blocks}
    for page in range(pages - 1):
        text = [line for line in lines if line.page == page and not FOOTER.match(line.text)]
        following = [line for line in lines if line.page == page + 1 and not FOOTER.match(line.text)]
        area_top, area_bottom = 72, heights[page] - 72
        end = max(line.bottom for line in text)
        assert end > area_top + (area_bottom - area_top) / 2, (
            f"page {page + 1} is more than half empty: it ends with {text[-1].text[:30]!r}")
        lead = following[1] if following[0].text == "二、具体内容" else following[0]
        # an article's head and up to three body lines, else a paragraph's first three lines (widow and orphan
        # control move a three-line paragraph whole)
        kept = heads[id(lead)] if id(lead) in heads else following[:1]
        last_kept = min(lines.index(kept[-1]) + 2, len(lines) - 1)
        # text boxes are glyph heights: add one line's leading and paragraph spacing (22 + 6 pt) to what was kept
        needed = lines[last_kept].bottom - following[0].top + 28
        assert area_bottom - end < needed, (
            f"page {page + 1} ends {area_bottom - end:.0f} pt early, but page {page + 2} starts with "
            f"{needed:.0f} pt kept together: {following[0].text[:30]!r}")
    # Simplified Chinese faces: 宋体 → Noto Serif CJK, 黑体 → Noto Sans CJK
    assert all("NotoSerifCJK" in f for f in fonts[blocks[0][-1].text]), fonts[blocks[0][-1].text]
    assert all("NotoSansCJK" in f for f in fonts["二、具体内容"]), fonts["二、具体内容"]


@pytest.mark.parametrize("seed_id", SEEDS)
def test_seed_issue_pages_keep_each_article_head_together_and_links_click(seed_id, seeds, tmp_path, office):
    issue = seed_issue(seeds, seed_id)
    out = _out(tmp_path, seed_id)
    docx, pdf = write_outputs(issue, DigestSettings(), out, ["docx", "pdf"])
    assert pdf.suffix == ".pdf" and pdf.stat().st_size > 10_000
    check_reads_as_published(issue, pdf)
    if len(issue.items) == 2:  # 二、具体内容 follows the 信息目录 on page 1, as in the published issues (it jumped
        lines = read_pdf(pdf)[0]  # to page 2 at 1.5 lines of Noto CJK, leaving page 1 a third empty)
        assert next(line.page for line in lines if line.text == "二、具体内容") == 0

    pdftoppm = _need(shutil.which("pdftoppm"), "pdftoppm")
    subprocess.run([pdftoppm, "-r", "50", "-png", str(pdf), str(out / "page")], check=True, timeout=120)
    assert len(list(out.glob("page-*.png"))) >= 2
    text = subprocess.run([_need(shutil.which("pdftotext"), "pdftotext"), "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    flat = "".join(text.split())
    for expected in ("全国卫生信息化舆情监测周报", DigestSettings().number_text(issue.number),
                     "北京市卫生健康大数据与政策研究中心", "本期导语", "一、信息目录", "二、具体内容",
                     *("".join(i.title.split()) for i in issue.items), *(f"来源：{i.source_name}" for i in issue.items)):
        assert expected in flat, f"{expected!r} not in the PDF text"
    assert "-1-" in flat and "-2-" in flat  # page numbers from the footer's PAGE field
    assert "同题报道" not in flat


def test_ten_articles_of_every_length_never_split_their_head(seeds, tmp_path, office):
    """All the seeds' articles in one issue, the short ones between long ones: the article heads land at many
    heights on the page; none may be split, and no page may be left half empty for it."""
    items = [item for seed_id in SEEDS for item in seed_issue(seeds, seed_id).items]
    items = sorted(items, key=lambda item: len(item.body) % 7)  # mix long and short
    for n, item in enumerate(items, start=1):
        item.position = n
    first = seed_issue(seeds, "000")
    issue = Issue(first.number, first.friday, first.window_first, first.window_last, first.organisation, items)
    pdf = write_outputs(issue, DigestSettings(), _out(tmp_path, "all"), ["pdf"])[0]
    check_reads_as_published(issue, pdf)


def test_build_format_pdf_writes_the_pdf(seeds, db, db_url, tmp_path, office):
    from crawler.digest.cli import articles, digest

    issue = seed_issue(seeds, "002")
    jsonl = tmp_path / "articles.jsonl"
    jsonl.write_text("".join(json.dumps({"url": i.url, "title": i.title, "source_name": i.source_name,
                                         "published_at": i.published_on.isoformat(), "body": i.body},
                                        ensure_ascii=False) + "\n" for i in issue.items), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(articles, ["import", str(jsonl), "--db", db_url]).exit_code == 0
    result = runner.invoke(digest, ["build", "--week", issue.friday.isoformat(), "--number", str(issue.number),
                                    "--format", "pdf", "-o", str(tmp_path / "out"), "--db", db_url])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [f"周报-674-{issue.friday:%Y%m%d}.pdf"], written
    check_reads_as_published(issue, tmp_path / "out" / written[0])


def _plain_docx(path: Path, spacer_after: int) -> None:
    """No fonts to depend on: 23 one-line paragraphs 26 pt apart (exactly 20 pt + 6 pt after), one more with
    `spacer_after` pt after it, then a keep-with-next line and a six-line paragraph. The keep line lands in the last
    20 pt of page 1 (python-docx's Letter page, 1 inch margins), where the six-line paragraph cannot start."""
    document = Document()
    normal = document.styles["Normal"].paragraph_format
    normal.line_spacing_rule, normal.line_spacing, normal.space_after = WD_LINE_SPACING.EXACTLY, Pt(20), Pt(6)
    document.styles["Normal"].font.size = Pt(12)
    for n in range(23):
        document.add_paragraph(f"filler {n}")
    document.add_paragraph("spacer").paragraph_format.space_after = Pt(spacer_after)
    keep = document.add_paragraph("keep this line with the next paragraph").paragraph_format
    keep.keep_with_next = keep.keep_together = True
    document.add_paragraph(" ".join(["bodyword"] * 70)).paragraph_format.widow_control = True
    for n in range(5):
        document.add_paragraph(f"after {n}")
    document.save(str(path))


@pytest.mark.parametrize("spacer_after", [0, 6])
def test_a_keep_with_next_line_at_the_foot_of_a_page_goes_over_with_its_paragraph(spacer_after, tmp_path, office):
    """LibreOffice 7.4 left the keep-with-next line alone at the foot of page 1 and began the paragraph it keeps
    with on page 2 (what split seed 004's first article head); the PDF must move the line over, as Word does,
    while the DOCX itself is left as written (keep-with-next, no page break)."""
    _need(shutil.which("pdftotext"), "pdftotext")  # the work-around reads the pages back with it
    docx = tmp_path / "plain.docx"
    _plain_docx(docx, spacer_after)
    written = docx.read_bytes()
    lines = read_pdf(docx_to_pdf(docx, _out(tmp_path, f"plain{spacer_after}")))[0]
    keep = next(line for line in lines if line.text.startswith("keepthisline"))
    body = next(line for line in lines if line.text.startswith("bodyword"))
    spacer = next(line for line in lines if line.text == "spacer")
    assert (keep.page, body.page) == (1, 1), f"keep line on page {keep.page + 1}, its paragraph on {body.page + 1}"
    assert spacer.page == 0  # page 1 ends no earlier than it must
    assert docx.read_bytes() == written  # the page break went into a copy only


def test_keep_chains_follow_keep_with_next_from_the_paragraph_or_its_style():
    """Heading 2 keeps with next by its style; the chain ends at the first paragraph without keep-with-next."""
    document = Document()
    document.add_paragraph("before")
    document.add_heading("heading", level=2)
    document.add_paragraph("field").paragraph_format.keep_with_next = True
    document.add_paragraph("body")
    no_keep = document.add_heading("heading without keep", level=2)
    no_keep.paragraph_format.keep_with_next = False
    document.add_paragraph("last")
    assert [(c.first, c.last) for c in keep_chains(document)] == [(1, 3)]
