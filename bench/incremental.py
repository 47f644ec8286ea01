"""Incremental crawl: what a second `hiwatch crawl` requests over an unchanged replay (goal: discovery pages only).

    .venv/bin/python bench/incremental.py [--pages 500] [--etag]

Generates N article pages plus list pages (bench/_replaygen.py), crawls the week twice into the same fresh
SQLite database through the replay server (`hiwatch crawl --replay DIR --replay-log FILE --no-polite`), and
counts the second run's requests from its replay log: article pages, list pages (and how many answered 304),
robots.txt. With --etag the list pages carry an ETag, so conditional requests can be answered 304.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _replaygen import WEEK, generate  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def crawl(replay: Path, sources: Path, db: Path, log: Path) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, str(REPO / "bench" / "_nodelay.py"), "-m", "crawler.cli", "crawl", "--replay", str(replay),
         "--replay-log", str(log), "--no-polite", "--week", WEEK, "--db", f"sqlite:///{db}", "--sources", str(sources)],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "HIWATCH_SOURCES": str(sources)})
    return time.perf_counter() - started, process


def kinds(log: Path) -> Counter:
    counts: Counter = Counter()
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        url = entry["url"]
        kind = "article" if "/n1/" in url else "robots.txt" if url.endswith("/robots.txt") else "list"
        counts[kind] += 1
        if entry.get("status") == 304:
            counts[f"{kind} 304"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--etag", action="store_true", help="give list pages an ETag")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hiwatch-incr-"))
    try:
        truths, sources = generate(work / "replay", args.pages, etag=args.etag)
        db = work / "hiwatch.sqlite3"
        for run in (1, 2):
            log = work / f"run{run}.jsonl"
            wall, process = crawl(work / "replay", sources, db, log)
            if process.returncode:
                print(process.stderr[-2000:])
            counts = kinds(log)
            total = sum(v for k, v in counts.items() if not k.endswith("304"))
            print(f"run {run}: {total} requests in {wall:.1f} s — " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                  + f" | exit {process.returncode}")
        second = kinds(work / "run2.jsonl")
        print(f"second run over the unchanged replay ({len(truths)} stored articles, list pages "
              f"{'with' if args.etag else 'without'} ETag): {second['article']} article requests — "
              + ("goal met: discovery pages only" if second["article"] == 0 else "goal NOT met"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
