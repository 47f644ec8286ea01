"""Relevance benchmark: precision and recall of crawler.analyse.relevance at the lexicon's default threshold.

The labelled set is built at run time, never copied into the repository:
- positives: every article of the published issues in ../shared/seeds (000, 002, 003, 004), parsed from their text;
- negatives: the real article pages of ../shared/realpages (extracted with crawler.extract.core), labelled by hand
  below (all are non-health or health-without-informatization pages);
- both: the short texts the project wrote in fixtures/relevance/cases.yaml, and the project's replay pages
  (fixtures/replay/*, short invented news modelled on the crawled sites) labelled in
  fixtures/relevance/replay_labels.yaml.

    .venv/bin/python bench/relevance.py [--shared ../shared] [--lexicon config/lexicon.yaml] [-v]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from crawler.analyse.relevance import Lexicon, load_lexicon, score  # noqa: E402

DIGEST_SEEDS = ("000_", "002_", "003_", "004_")
# realpages articles a health-informatization analyst WOULD carry (none so far: the saved pages are general news).
REALPAGE_POSITIVES: set[str] = set()


@dataclass
class Case:
    label: bool  # True = the 周报 would carry it
    origin: str
    name: str
    title: str
    body: str


def shared_dir(shared: str | os.PathLike | None = None) -> Path:
    return Path(shared or os.environ.get("HIWATCH_SHARED") or REPO.parent / "shared")


def seed_cases(seeds: Path) -> list[Case]:
    from crawler.digest.parse import parse_issue

    cases = []
    for file in sorted(seeds.glob("*.txt")):
        if not file.name.startswith(DIGEST_SEEDS):
            continue
        issue = parse_issue(file.read_text(encoding="utf-8"))
        for item in issue.items:
            cases.append(Case(True, "seed", f"{file.name[:3]}#{item.number}", item.title, "\n".join(item.body)))
    return cases


def realpage_cases(realpages: Path) -> list[Case]:
    from crawler.extract import extract

    cases = []
    with open(realpages / "MANIFEST.jsonl", encoding="utf-8") as handle:
        for line in handle:
            entry = json.loads(line)
            if entry.get("kind") != "article":
                continue
            page = extract((realpages / entry["file"]).read_bytes(), entry.get("url") or "http://example.invalid/")
            cases.append(Case(entry["file"] in REALPAGE_POSITIVES, "realpage", entry["file"], page.title, page.body))
    return cases


def fixture_cases(path: Path = REPO / "fixtures" / "relevance" / "cases.yaml") -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Case(c["label"] == "positive", f"fixture:{c.get('kind', '')}", c["title"], c["title"], c["body"])
            for c in data["cases"]]


def replay_cases(root: Path = REPO / "fixtures" / "replay",
                 labels_file: Path = REPO / "fixtures" / "relevance" / "replay_labels.yaml") -> list[Case]:
    from crawler.extract import extract

    labels = yaml.safe_load(labels_file.read_text(encoding="utf-8"))["labels"]
    files: dict[str, Path] = {}
    for manifest in sorted(root.glob("*/MANIFEST.jsonl")):
        for line in manifest.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                files.setdefault(entry["url"], manifest.parent / entry["file"])
    cases = []
    for url, label in labels.items():
        if url not in files:
            raise SystemExit(f"{labels_file}: {url} is not in any fixtures/replay manifest")
        page = extract(files[url].read_bytes(), url)
        cases.append(Case(label["label"] == "positive", "replay", url, page.title, page.body))
    return cases


def labelled_set(shared: Path) -> list[Case]:
    return (seed_cases(shared / "seeds") + realpage_cases(shared / "realpages") + fixture_cases()
            + replay_cases())


@dataclass
class Result:
    precision: float
    recall: float
    tp: int
    fp: int
    fn: int
    tn: int
    rows: list[tuple[Case, float, bool]]


def evaluate(cases: list[Case], lexicon: Lexicon | None = None) -> Result:
    lexicon = lexicon or load_lexicon()
    rows, tp, fp, fn, tn = [], 0, 0, 0, 0
    for case in cases:
        rel = score(case.title, case.body, lexicon)
        rows.append((case, rel.score, rel.relevant))
        if rel.relevant and case.label:
            tp += 1
        elif rel.relevant:
            fp += 1
        elif case.label:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return Result(precision, recall, tp, fp, fn, tn, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", help="the shared/ folder (default ../shared)")
    parser.add_argument("--lexicon", help="lexicon file (default config/lexicon.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case with its score")
    args = parser.parse_args(argv)
    shared = shared_dir(args.shared)
    if not (shared / "seeds").exists() or not (shared / "realpages").exists():
        print(f"{shared}/seeds or {shared}/realpages is absent", file=sys.stderr)
        return 2
    lexicon = load_lexicon(args.lexicon)
    cases = labelled_set(shared)
    result = evaluate(cases, lexicon)
    if args.verbose:
        for case, value, relevant in sorted(result.rows, key=lambda r: -r[1]):
            mark = "ok " if relevant == case.label else "ERR"
            print(f"{mark} {'pos' if case.label else 'neg'} {value:6.1f} {case.origin:18} {case.title[:40]}")
    positives = sum(1 for c in cases if c.label)
    print(f"labelled set: {len(cases)} cases ({positives} positive, {len(cases) - positives} negative)")
    print(f"threshold {lexicon.threshold:g}: precision {result.precision:.3f}  recall {result.recall:.3f}  "
          f"(tp {result.tp}, fp {result.fp}, fn {result.fn}, tn {result.tn})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
