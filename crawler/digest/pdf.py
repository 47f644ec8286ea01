"""The issue as PDF: the DOCX converted by LibreOffice (headless), with 宋体/黑体 mapped to Noto CJK SC when absent,
and converted again with a page break before any keep-with-next chain LibreOffice left split (keep_chains_together)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from docx import Document

# Where the named Chinese fonts are not installed (Linux), fontconfig would fall back to whatever CJK face comes
# first, often a Japanese one. These aliases choose the Simplified Chinese faces of fonts-noto-cjk instead:
# 宋体 (serif) → Noto Serif CJK SC, 黑体 (sans) → Noto Sans CJK SC. An installed 宋体/SimSun still wins.
FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <alias binding="same"><family>宋体</family><accept><family>SimSun</family><family>Noto Serif CJK SC</family></accept></alias>
  <alias binding="same"><family>SimSun</family><accept><family>Noto Serif CJK SC</family></accept></alias>
  <alias binding="same"><family>黑体</family><accept><family>SimHei</family><family>Noto Sans CJK SC</family></accept></alias>
  <alias binding="same"><family>SimHei</family><accept><family>Noto Sans CJK SC</family></accept></alias>
</fontconfig>
"""
OFFICE_NAMES = ("libreoffice", "soffice")
INSTALL_HINT = "apt-get install libreoffice-writer fonts-noto-cjk"
TIMEOUT = 180
# pdftotext (poppler-utils) reads back which page each paragraph landed on, to move a keep-with-next chain that
# LibreOffice left split (see keep_chains_together); without it the PDF keeps LibreOffice's own page breaks
PDFTOTEXT = "pdftotext"
KEY_CHARS = 12  # a paragraph is found on the pages by its first characters (whitespace dropped)


class PdfUnavailable(Exception):
    """LibreOffice is not installed (or not on PATH), so no PDF can be made; the message says what to install."""


class PdfFailed(Exception):
    """LibreOffice ran but wrote no PDF; the message carries its output."""


def find_office() -> str | None:
    """The LibreOffice executable ($HIWATCH_LIBREOFFICE, else libreoffice or soffice on PATH), or None."""
    configured = os.environ.get("HIWATCH_LIBREOFFICE")
    if configured:
        return shutil.which(configured)
    return next((found for found in map(shutil.which, OFFICE_NAMES) if found), None)


def require_office() -> str:
    office = find_office()
    if office is None:
        raise PdfUnavailable(f"--format pdf needs LibreOffice, which is not installed ({INSTALL_HINT}); "
                             "build the DOCX instead (--format docx) and convert it where Word or LibreOffice is")
    return office


def docx_to_pdf(docx: str | Path, out_dir: str | Path) -> Path:
    """Convert `docx` to `out_dir/<stem>.pdf` and return its path.

    LibreOffice runs with a private profile (so conversions running at once, or a desktop LibreOffice, do not
    fight over one) and a private fontconfig file carrying the CJK aliases above; both live in a temporary folder.
    Then every keep-with-next chain LibreOffice left split across pages is moved whole to the next page, as Word
    moves it (keep_chains_together).
    """
    office = require_office()
    docx, out_dir = Path(docx), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = _convert(office, docx, out_dir)
    return keep_chains_together(office, docx, pdf)


def _convert(office: str, docx: Path, out_dir: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="hiwatch-lo-") as scratch:
        fonts_conf = Path(scratch) / "fonts.conf"
        fonts_conf.write_text(FONTS_CONF, encoding="utf-8")
        profile = Path(scratch) / "profile"
        env = {**os.environ, "FONTCONFIG_FILE": str(fonts_conf)}
        try:
            done = subprocess.run([office, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                                   "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(out_dir), str(docx)],
                                  capture_output=True, text=True, timeout=TIMEOUT, env=env)
        except subprocess.TimeoutExpired:
            raise PdfFailed(f"LibreOffice did not convert {docx.name} within {TIMEOUT} s") from None
    pdf = out_dir / f"{docx.stem}.pdf"
    if done.returncode != 0 or not pdf.exists():
        raise PdfFailed(f"LibreOffice wrote no {pdf.name} (exit {done.returncode}): "
                        f"{(done.stderr or done.stdout).strip()[:500]}")
    return pdf


@dataclass(frozen=True)
class KeepChain:
    """Paragraphs first..last-1 carry keep-with-next (direct or from their style); `last` is the paragraph they
    keep with. Indexes into the document's body paragraphs."""

    first: int
    last: int


def keep_chains(document) -> list[KeepChain]:
    """Every run of keep-with-next paragraphs, with the paragraph that ends it, in document order."""
    chains, first = [], None
    paragraphs = document.paragraphs
    for n, paragraph in enumerate(paragraphs):
        keep, style = paragraph.paragraph_format.keep_with_next, paragraph.style
        while keep is None and style is not None:
            keep, style = style.paragraph_format.keep_with_next, style.base_style
        if keep and first is None:
            first = n
        elif not keep and first is not None:
            chains.append(KeepChain(first, n))
            first = None
    return chains


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def paragraph_pages(document, pdf: Path) -> list[int | None] | None:
    """The 0-based page each body paragraph starts on, read back from the PDF's text (pdftotext), None for a
    paragraph not found (empty, or its text not extractable); None when pdftotext is not installed."""
    pdftotext = shutil.which(PDFTOTEXT)
    if pdftotext is None:
        return None
    done = subprocess.run([pdftotext, "-enc", "UTF-8", str(pdf), "-"], capture_output=True, timeout=TIMEOUT)
    if done.returncode != 0:
        return None
    pages = [_key(page) for page in done.stdout.decode("utf-8", "replace").split("\f")]
    found, page, at = [], 0, 0
    for paragraph in document.paragraphs:
        key = _key(paragraph.text)[:KEY_CHARS]
        where = None
        if key:  # the next occurrence at or after the previous paragraph's, on this page or a later one
            for p in range(page, len(pages)):
                hit = pages[p].find(key, at if p == page else 0)
                if hit >= 0:
                    where, page, at = p, p, hit + len(key)
                    break
        found.append(where)
    return found


def split_chains(document, pdf: Path) -> list[KeepChain] | None:
    """The keep-with-next chains whose first paragraph and the paragraph they keep with start on different pages
    (None when the pages cannot be read back)."""
    pages = paragraph_pages(document, pdf)
    if pages is None:
        return None
    return [chain for chain in keep_chains(document)
            if pages[chain.first] is not None and pages[chain.last] is not None
            and pages[chain.first] != pages[chain.last]]


def keep_chains_together(office: str, docx: Path, pdf: Path, passes: int = 5) -> Path:
    """Work around LibreOffice leaving a keep-with-next chain split (seen with 7.4): when the paragraph a chain
    keeps with does not fit at the foot of a page, LibreOffice moves it, and sometimes the last paragraphs of the
    chain, to the next page but leaves the chain's first paragraphs behind (an article's heading, 来源, 链接 … at the
    foot of one page, its first body lines on the next). It depends on what precedes the chain on the page, not on
    the chain alone: tests/test_digest_pdf.py builds a plain DOCX that shows it (and so does that DOCX saved as ODT,
    with Writer's own compatibility settings: the layout's bug, not the DOCX import's). No bug report was found to
    cite; docs/digest.md has what was tried.

    Word moves such a chain whole to the next page, i.e. breaks the page before the chain's first paragraph; so does
    this: the paragraphs the PDF shows split get page-break-before in a copy of the DOCX (the DOCX handed out keeps
    plain keep-with-next for Word), and LibreOffice converts the copy again, until no chain is split (a chain longer
    than a page stays split after its page break, as in Word) or `passes` runs out."""
    document = Document(str(docx))
    broken: set[int] = set()
    for _ in range(passes):
        split = split_chains(document, pdf)
        if not split or {chain.first for chain in split} <= broken:
            break
        broken |= {chain.first for chain in split}
        for n in broken:
            document.paragraphs[n].paragraph_format.page_break_before = True
        with tempfile.TemporaryDirectory(prefix="hiwatch-keep-") as scratch:
            copy = Path(scratch) / docx.name  # the same stem: LibreOffice writes pdf's name again
            document.save(str(copy))
            pdf = _convert(office, copy, pdf.parent)
    return pdf
