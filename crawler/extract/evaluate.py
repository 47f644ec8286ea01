"""Extraction evaluation on the shared real pages: our extractor against the ground truth, and trafilatura's
own result on the same decoded pages in the same run.

Truth formats (``*.truth.json`` beside each page, see ../shared/realpages/README.md):

* ``cwced`` — hand-labelled body/author/date (Chinese Web Content Extraction Dataset). Body: the labelled text.
  Date: the labelled date; 'UNKNOWN' or a non-date value means the page has no date truth.
* ``fundus`` — fundus parser expectations: body = summary + every section's headline and paragraphs; date =
  ``publishing_date``.
* ``trafilatura`` — trafilatura/htmldate evaluation entries: no full body, only snippets that must (``with``)
  and must not (``without``) appear; the page's body score is the F1 of (share of `with` snippets found,
  share of `without` snippets absent). Date = the htmldate eval date, else the trafilatura eval date.
* ``readability`` — Readability.js expected output: body = text of expected.html; its metadata has no date,
  so the manifest's ``published`` (read off the page by whoever stored it) is the date truth.
* ``gne`` — GNE's machine output: WEAK truth. Scored and reported in its own block, never in the averages
  that the CI floor guards (GNE is an extractor, not a labeller; its known failure modes are our test).

Body score: F1 over character bigrams (multiset), after removing whitespace and punctuation. Day accuracy:
the predicted publish day in Asia/Shanghai equals the truth day (a missing date is wrong); pages without a
date truth (cwced 'UNKNOWN') count for body only.

Page kind (news article, e-paper, government document, portal with comments): the manifest's ``page_kind``
when it names one, else crawler.extract.kind.page_kind() reads it off the page; strong-truth means are also
given per kind, for both extractors.

Ours: crawler.extract.extract(bytes, url, rules of the site record in config/sources.yaml). Trafilatura:
trafilatura.bare_extraction(decoded str, url=url, with_metadata=True), default settings otherwise, on the
same decoded text in the same run (its date is htmldate's). Both get the same URL (None when the manifest
has none).
"""
from __future__ import annotations

import json
import re
import time
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path

from crawler.extract.dates import SHANGHAI, parse_datetime
from crawler.extract.kind import KINDS, page_kind

STRONG_KINDS = ("cwced", "fundus", "trafilatura", "readability")


# ---------------------------------------------------------------- scoring


def _normalise(text: str) -> str:
    return "".join(ch for ch in (text or "") if not ch.isspace() and unicodedata.category(ch)[0] not in "PSZC")


def bigram_f1(predicted: str, truth: str) -> float:
    """F1 over character bigrams, whitespace and punctuation ignored."""
    p, t = _normalise(predicted), _normalise(truth)
    if not p and not t:
        return 1.0
    if len(p) < 2 or len(t) < 2:
        return float(p == t)
    pb = Counter(p[i:i + 2] for i in range(len(p) - 1))
    tb = Counter(t[i:i + 2] for i in range(len(t) - 1))
    overlap = sum((pb & tb).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(pb.values())
    recall = overlap / sum(tb.values())
    return 2 * precision * recall / (precision + recall)


def snippet_f1(predicted: str, with_: list[str], without: list[str]) -> float:
    """trafilatura-eval style: recall = share of `with` snippets present, precision = share of `without` absent."""
    text = _normalise(predicted)
    found = [bool(_normalise(s)) and _normalise(s) in text for s in with_]
    leaked = [bool(_normalise(s)) and _normalise(s) in text for s in without]
    recall = sum(found) / len(found) if found else 1.0
    precision = 1 - (sum(leaked) / len(leaked)) if leaked else 1.0
    if recall + precision == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _day(text: str | None) -> date | None:
    if not text or not isinstance(text, str):
        return None
    parsed = parse_datetime(text)
    if not parsed:
        return None
    value = parsed[0]
    return value.astimezone(SHANGHAI).date() if value.tzinfo else value.date()


def _html_text(path: Path) -> str:
    from crawler.extract.html import _lines, _parse

    root = _parse(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(_lines(root)) if root is not None else ""


# ---------------------------------------------------------------- truth loading


def load_truth(realpages: Path, entry: dict) -> dict | None:
    """Normalised truth for one manifest entry: kind, weak, body | snippets, day."""
    rel = entry.get("ground_truth")
    if not rel:
        return None
    raw = json.loads((realpages / rel).read_text(encoding="utf-8"))
    truth: dict = {"weak": False, "body": None, "with": None, "without": None, "day": None, "day_from": None}
    if rel.endswith(".gne_output.json"):
        truth.update(kind="gne", weak=True, body=raw.get("content"), day=_day(raw.get("publish_time")))
        truth["day_from"] = "gne" if truth["day"] else None
        return truth
    if "expected" in raw:  # fundus
        v = next(iter(raw["expected"].values()))
        body = v.get("body", {})
        paras = list(body.get("summary", []))
        for section in body.get("sections", []):
            paras += section.get("headline", []) + section.get("paragraphs", [])
        truth.update(kind="fundus", body="\n".join(paras), day=_day(v.get("publishing_date")))
    elif "trafilatura_eval" in raw:
        ev = raw["trafilatura_eval"]
        day = _day((raw.get("htmldate_eval") or {}).get("date")) or _day(ev.get("date"))
        truth.update(kind="trafilatura", **{"with": ev.get("with", []), "without": ev.get("without", [])}, day=day)
    elif "expected_content_html" in raw:
        body = _html_text(realpages / raw["expected_content_html"])
        truth.update(kind="readability", body=body, day=_day((raw.get("metadata") or {}).get("publishedTime")))
        if truth["day"] is None:
            truth["day"] = _day(entry.get("published"))
            truth["day_from"] = "manifest" if truth["day"] else None
    elif "body" in raw:
        truth.update(kind="cwced", body=raw.get("body"), day=_day(raw.get("date")))
    else:
        return None
    if truth["day"] and not truth["day_from"]:
        truth["day_from"] = truth["kind"]
    return truth


# ---------------------------------------------------------------- runners


_WAYBACK = re.compile(r"^https?://web\.archive\.org/web/\d+[a-z_]*/")


def _rules_for(url: str, sources):
    """The sources.yaml rules for a URL (an archived copy counts as its original site), else None."""
    if not url or sources is None:
        return None
    source = sources.source_for_url(_WAYBACK.sub("", url))
    return source.rules if source else None


def _ours(content: bytes, url: str, sources=None):
    from crawler.extract import extract

    result = extract(content, url, rules=_rules_for(url, sources))
    day = result.published_at.astimezone(SHANGHAI).date() if result.published_at else None
    return result.body, day


def _trafilatura(html: str, url: str):
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url or None, with_metadata=True)
    if doc is None:
        return "", None
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    return data.get("text") or "", _day(data.get("date"))


def _score(body: str, day: date | None, truth: dict) -> dict:
    if truth["body"] is not None:
        f1 = bigram_f1(body, truth["body"])
    else:
        f1 = snippet_f1(body, truth["with"] or [], truth["without"] or [])
    day_ok = None if truth["day"] is None else (day == truth["day"])
    return {"body_f1": round(f1, 4), "day_ok": day_ok, "day": day.isoformat() if day else None}


def _mean(values: list) -> float | None:
    values = [float(v) for v in values if v is not None]
    return round(sum(values) / len(values), 4) if values else None


def _summary(pages: list[dict], who: str) -> dict:
    return {
        "pages": len(pages),
        "body_f1": _mean([p[who]["body_f1"] for p in pages]),
        "day_accuracy": _mean([p[who]["day_ok"] for p in pages if p[who]["day_ok"] is not None]),
        "dated_pages": sum(1 for p in pages if p[who]["day_ok"] is not None),
    }


def evaluate(realpages_dir: str | Path, with_trafilatura: bool = True) -> dict:
    """Score every manifest page that has ground truth; averages overall (strong truth), per site and per page
    kind, weak apart."""
    from crawler.config import SourcesError, load_sources
    from crawler.extract.decode import decode

    try:
        sources = load_sources()
    except SourcesError:
        sources = None
    realpages = Path(realpages_dir)
    entries = [json.loads(line) for line in (realpages / "MANIFEST.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
    pages = []
    timing = {"ours": 0.0, "trafilatura": 0.0}
    for entry in entries:
        truth = load_truth(realpages, entry)
        if truth is None:
            continue
        content = (realpages / entry["file"]).read_bytes()
        url = entry.get("url") or ""
        html, _ = decode(content)
        start = time.perf_counter()
        body, day = _ours(content, url, sources)
        timing["ours"] += time.perf_counter() - start
        row = {"file": entry["file"], "site": entry["site"], "kind": truth["kind"], "weak": truth["weak"],
               "page_kind": page_kind(html, url, entry.get("page_kind")),
               "truth_day": truth["day"].isoformat() if truth["day"] else None, "day_from": truth["day_from"],
               "ours": _score(body, day, truth)}
        if with_trafilatura:
            start = time.perf_counter()
            t_body, t_day = _trafilatura(html, url)
            timing["trafilatura"] += time.perf_counter() - start
            row["trafilatura"] = _score(t_body, t_day, truth)
        pages.append(row)
    strong = [p for p in pages if not p["weak"]]
    weak = [p for p in pages if p["weak"]]
    who = ["ours"] + (["trafilatura"] if with_trafilatura else [])
    report = {"pages": pages, "timing_seconds": {k: round(v, 3) for k, v in timing.items()},
              "overall": {w: _summary(strong, w) for w in who},
              "weak_gne": {w: _summary(weak, w) for w in who} if weak else {},
              "all_incl_weak": {w: _summary(pages, w) for w in who},
              "per_site": {}, "per_kind": {}, "per_kind_all": {}}
    for site in sorted({p["site"] for p in strong}):
        group = [p for p in strong if p["site"] == site]
        report["per_site"][site] = {w: _summary(group, w) for w in who}
    for kind in KINDS:  # every kind, an empty one too: the table says when the set has no page of a kind
        group = [p for p in strong if p["page_kind"] == kind]
        report["per_kind"][kind] = {w: _summary(group, w) for w in who}
        group = [p for p in pages if p["page_kind"] == kind]
        report["per_kind_all"][kind] = {w: _summary(group, w) for w in who}
    return report


def format_report(report: dict) -> str:
    """A readable plain-text table: per page, per site, per page kind, overall, and the weak (GNE) block."""
    who = list(report["overall"].keys())
    lines = []
    columns = " ".join(f"{w[:5] + ' F1':>8} {w[:5] + ' day':>9}" for w in who)
    head = f"{'page':58} {'truth':11} {'page kind':20} {columns}"
    lines.append(head)
    lines.append("-" * len(head))

    def mark(ok):
        return "-" if ok is None else ("ok" if ok else "MISS")

    for p in report["pages"]:
        name = p["file"][-58:]
        kind = p["kind"] + ("*" if p["weak"] else "")
        cells = " ".join(f"{p[w]['body_f1']:8.3f} {mark(p[w]['day_ok']):>9}" for w in who)
        lines.append(f"{name:58} {kind:11} {p.get('page_kind', ''):20} {cells}")
    lines.append("")
    lines.append(f"{'summary':34} {'pages':>5} {'dated':>5} " + " ".join(f"{w[:5] + ' F1':>8} {w[:5] + ' day':>9}" for w in who))

    def row(label, block):
        any_w = block[who[0]]
        if not any_w["pages"]:
            return f"{label:34} {0:5d} {0:5d} " + " ".join(f"{'-':>8} {'-':>9}" for _w in who)
        cells = " ".join(
            f"{(block[w]['body_f1'] or 0):8.3f} {('%.3f' % block[w]['day_accuracy']) if block[w]['day_accuracy'] is not None else '-':>9}"
            for w in who)
        return f"{label:34} {any_w['pages']:5d} {any_w['dated_pages']:5d} {cells}"

    for site, block in report["per_site"].items():
        lines.append(row(f"site {site}", block))
    for kind, block in report.get("per_kind", {}).items():
        lines.append(row(f"kind {kind}", block))
    lines.append(row("OVERALL (strong truth)", report["overall"]))
    if report.get("weak_gne"):
        lines.append(row("weak truth: GNE output (*)", report["weak_gne"]))
        lines.append(row("all pages, strong + weak", report["all_incl_weak"]))
        for kind, block in report.get("per_kind_all", {}).items():
            lines.append(row(f"  kind {kind} +weak", block))
    t = report.get("timing_seconds", {})
    n = len(report["pages"])
    lines.append("")
    lines.append("time: " + ", ".join(f"{k} {v:.2f}s ({n / v:.0f} pages/s)" if v else f"{k} -" for k, v in t.items()))
    lines.append("strong truth = hand-labelled (cwced), fundus, trafilatura eval snippets, readability; the CI floor "
                 "guards the strong OVERALL row. (*) GNE output is machine output: reported, never gated.")
    return "\n".join(lines)
