"""The issue as PDF: the DOCX converted by LibreOffice (headless), with 宋体/黑体 mapped to Noto CJK SC when absent."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

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
    """
    office = require_office()
    docx, out_dir = Path(docx), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
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
