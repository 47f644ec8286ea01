"""Print the extraction evaluation (ours vs trafilatura) on ../shared/realpages.

Usage: python bench/eval_extraction.py [REALPAGES_DIR] [--json]
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.extract.evaluate import evaluate, format_report  # noqa: E402


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    default = Path(os.environ.get("HIWATCH_SHARED", REPO.parent / "shared")) / "realpages"
    realpages = Path(args[0]) if args else default
    if not (realpages / "MANIFEST.jsonl").exists():
        print(f"{realpages}: no MANIFEST.jsonl", file=sys.stderr)
        return 2
    report = evaluate(realpages)
    print(json.dumps(report, ensure_ascii=False, indent=1) if "--json" in argv else format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
