"""Is the crawl process the limit, or the machine? Two hiwatch crawls at once, each over half the pages.

    .venv/bin/python bench/two_crawls.py [--pages 10000]

Generates two replay sets of N/2 people.com.cn pages (bench/_replaygen.py, different seeds), then runs one
`hiwatch crawl --replay … --no-polite` per half, both at the same time, each with its own SQLite file and its own
extraction workers, and prints the pages per second of the pair (stored articles of both ÷ wall time of both)
with the CPU of the whole process tree — to set beside one crawl of N pages (bench/throughput.py). If two
crawls together are no faster than one, a second Scrapy process (or any other way round the crawl process's
GIL) cannot help on this machine: its cores are the limit.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _replaygen import WEEK, generate  # noqa: E402
from throughput import NODELAY, PYTHON, loadavg, measure, report, requests_in  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=10000, help="article pages in all (default 10000)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hiwatch-two-"))
    try:
        commands = []
        for half in (1, 2):
            root = work / f"half{half}"
            _truths, sources = generate(root / "replay", args.pages // 2, seed=2025 + half)
            crawl = [PYTHON, *NODELAY, "-m", "crawler.cli", "crawl", "--replay", str(root / "replay"),
                     "--replay-log", str(root / "requests.jsonl"), "--no-polite",
                     "--week", WEEK, "--db", f"sqlite:///{root / 'hiwatch.sqlite3'}", "--sources", str(sources)]
            commands.append(shlex.join(crawl) + f" > {shlex.quote(str(root / 'crawl.log'))} 2>&1")
        print(f"machine: {os.cpu_count()} CPUs; load average {loadavg()}; two crawls of {args.pages // 2} pages each")
        usage = measure(["bash", "-c", " & ".join(commands) + " & wait"], dict(os.environ))
        stored, articles, other = 0, 0, 0
        for half in (1, 2):
            fetched = requests_in(work / f"half{half}" / "requests.jsonl")
            articles, other = articles + fetched[0], other + fetched[1]
            database = work / f"half{half}" / "hiwatch.sqlite3"
            if database.exists():
                with sqlite3.connect(database) as conn:
                    stored += conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        report("two crawls", usage, stored, (articles, other))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
