"""The DOCX converts to PDF (LibreOffice) and to PNG (pdftoppm), and the PDF reads as the published issue.

Set HIWATCH_RENDER_DIR=/some/dir to keep the PDF and PNG pages for a look.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from crawler.digest.build import write_outputs
from crawler.digest.layout import Issue, IssueItem
from crawler.digest.parse import parse_issue
from crawler.digest.settings import DigestSettings


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    message = (f"{name} is not installed (apt-get install libreoffice-writer poppler-utils fonts-noto-cjk): "
               "cannot check the DOCX renders")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


# Linux has no 宋体/黑体: map them to the Noto CJK SC faces (fonts-noto-cjk) as Word on Windows would show them,
# instead of fontconfig's default fallback (a sans-serif Japanese face for everything).
FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <alias binding="same"><family>宋体</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias binding="same"><family>SimSun</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias binding="same"><family>黑体</family><prefer><family>Noto Sans CJK SC</family></prefer></alias>
  <alias binding="same"><family>SimHei</family><prefer><family>Noto Sans CJK SC</family></prefer></alias>
</fontconfig>
"""


def docx_to_pdf(docx: Path, out_dir: Path) -> Path:
    office = _tool("libreoffice")
    profile = out_dir / "lo-profile"  # a private profile: parallel conversions do not fight over one
    fonts_conf = out_dir / "fonts.conf"
    fonts_conf.write_text(FONTS_CONF, encoding="utf-8")
    subprocess.run([office, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(out_dir), str(docx)], check=True, capture_output=True, timeout=180,
                   env={**os.environ, "FONTCONFIG_FILE": str(fonts_conf)})
    pdf = out_dir / (docx.stem + ".pdf")
    assert pdf.exists(), f"LibreOffice wrote no {pdf.name}"
    return pdf


@pytest.mark.parametrize("seed_id", ["000", "004"])
def test_docx_renders_to_pdf_and_png(seed_id, seeds, tmp_path):
    parsed = parse_issue(next(seeds.glob(f"{seed_id}_*.txt")).read_text(encoding="utf-8"))
    issue = Issue(parsed.number, parsed.issue_date, parsed.window_first, parsed.window_last, parsed.organisation,
                  [IssueItem(i.number, i.title, i.source_name, i.url, i.published_on, "\n".join(i.body))
                   for i in parsed.items])
    out = Path(os.environ.get("HIWATCH_RENDER_DIR") or tmp_path) / seed_id
    out.mkdir(parents=True, exist_ok=True)
    docx = write_outputs(issue, DigestSettings(), out, ["docx"])[0]
    pdf = docx_to_pdf(docx, out)
    pdftoppm = _tool("pdftoppm")
    subprocess.run([pdftoppm, "-r", "70", "-png", str(pdf), str(out / "page")], check=True, timeout=120)
    pages = sorted(out.glob("page-*.png"))
    assert pages and pages[0].stat().st_size > 10_000

    text = subprocess.run([_tool("pdftotext"), "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout
    flat = "".join(text.split())
    for expected in ("全国卫生信息化舆情监测周报", DigestSettings().number_text(parsed.number),
                     "北京市卫生健康大数据与政策研究中心", "本期导语", "一、信息目录", "二、具体内容",
                     *(i.title.replace(" ", "") for i in parsed.items), *(f"来源：{i.source_name}" for i in parsed.items)):
        assert expected in flat, f"{expected!r} not in the PDF text"
    assert "-1-" in flat and "-2-" in flat  # page numbers from the footer's PAGE field
    assert len(pages) >= 2
