"""What a `js: true` page costs: Chromium's memory and the time per page, beside a plain HTTP fetch of the same page.

    .venv/bin/python bench/browser_pages.py [--replay fixtures/replay/nhc] [--repeat 5]

The replay set is served on 127.0.0.1 (crawler.run.replay) and Debian's /usr/bin/chromium reaches it as its HTTP
proxy, as in a replay crawl of a js source. Each page is loaded the way scrapy-playwright loads it for hiwatch
(crawler.browser.browser_meta: goto, wait for network idle, read the final status, page.content()) in one browser
context, the first page meeting the set's script challenge if it has one. Printed: browser start-up time; per page,
the median and p95 wall time of the browser load and of a plain urllib fetch through the same server; the
browser's memory (RSS summed over its processes, and PSS where /proc gives it) after the run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/incremental.py would shadow Twisted's
sys.path.insert(0, str(HERE.parent))

from crawler.browser import FINAL_STATUS_JS  # noqa: E402
from crawler.run.replay import ReplayServer  # noqa: E402


def _children(root: int) -> list[int]:
    """Every process below `root` (from /proc's parent links)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid:
                found.append(child)
                frontier.append(child)
    return found


def _memory(pids: list[int]) -> tuple[float, float]:
    """(RSS, PSS) in MB summed over the processes."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replay", default=str(Path(__file__).resolve().parent.parent / "fixtures" / "replay" / "nhc"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    urls = [json.loads(line)["url"] for line in (Path(args.replay) / "MANIFEST.jsonl").read_text().splitlines()
            if line.strip()]
    with ReplayServer([args.replay]) as server, sync_playwright() as pw:
        started = time.perf_counter()
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                                     proxy={"server": server.url})
        context = browser.new_context()
        context.new_page().close()
        startup = time.perf_counter() - started
        browser_times, plain_times, first = [], [], None
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": server.url}))
        for round_ in range(args.repeat):
            for url in urls:
                began = time.perf_counter()
                page = context.new_page()
                page.goto(url)
                page.wait_for_load_state("networkidle")
                status = page.evaluate(FINAL_STATUS_JS)
                page.content()
                page.close()
                took = time.perf_counter() - began
                if first is None:
                    first = (url, took, status)
                else:
                    browser_times.append(took)
                began = time.perf_counter()
                try:
                    opener.open(url, timeout=10).read()
                except urllib.error.HTTPError as exc:  # the challenge answers 412
                    exc.read()
                plain_times.append(time.perf_counter() - began)
        rss, pss = _memory(_children(os.getpid()))
        browser.close()

    def ms(values: list[float]) -> str:
        values = sorted(values)
        return (f"median {statistics.median(values) * 1000:.0f} ms, "
                f"p95 {values[int(len(values) * 0.95) - 1] * 1000:.0f} ms")

    print(f"replay set {args.replay}: {len(urls)} URLs x {args.repeat}")
    print(f"browser start-up (launch + first context): {startup:.2f} s")
    print(f"first page (meets the challenge if any): {first[1] * 1000:.0f} ms, final status {first[2]}")
    print(f"browser page (goto, network idle, content): {ms(browser_times)} over {len(browser_times)} loads")
    print(f"plain HTTP fetch of the same pages: {ms(plain_times)}")
    print(f"browser memory after the run: RSS {rss:.0f} MB summed over its processes, PSS {pss:.0f} MB")


if __name__ == "__main__":
    main()
