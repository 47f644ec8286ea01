"""Selector engines for the extraction job: the page index (crawler/extract/css.py) vs lxml's compiled selectors.

    .venv/bin/python bench/selector_engines.py [--pages 200] [--passes 5] [--engine index|lxml|both] [--lexbor]

Runs the extraction worker's whole job, `crawler.analyse.prepare.extract_and_prepare`, over the article pages
of ../shared/realpages (each with its site's rules) and N generated people.com.cn pages (bench/_replaygen.py),
with each engine in turn, and prints the CPU time of this process (time.process_time: the machine is shared, so
wall time would measure the other developers' work) per page, the best of --passes passes over all pages. The
engines must give identical results: every field of every page is compared and differences are printed.

  index  crawler/extract/css.py's PageIndex, built once per page (the hand-written engine)
  lxml   lxml.cssselect.CSSSelector compiled once per selector string, run on the subtree

--lexbor also times, per page, what parsing and selecting alone cost: lxml parse + the index + every selector
the job asked for, against selectolax's Lexbor parse + the same selectors (pip install selectolax first; it
is not a dependency). That is only the part selectolax could replace: the rest of the job walks lxml's tree.

For instruction counts (no hardware counters on a VM): run one engine under
`valgrind --tool=cachegrind --cache-sim=no` with --passes 0 and --passes 2 and take the difference of
"I refs" (see docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.analyse.prepare import extract_and_prepare  # noqa: E402
from crawler.extract import body as body_module, core as core_module, html as html_module  # noqa: E402
from crawler.extract.css import PageIndex  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FIELDS = ("title", "subtitle", "body", "author", "editor", "original_source", "published_at", "date_source",
          "date_precision", "extractor", "blocked")


class CompiledSelectors:
    """lxml's CSSSelector compiled once per selector string (the 'lxml' engine), as a drop-in for PageIndex."""

    _compiled: dict = {}

    def __init__(self, root):
        pass

    def select(self, context, selector: str) -> list:
        compiled = self._compiled.get(selector)
        if compiled is None:
            from lxml.cssselect import CSSSelector

            try:
                compiled = CSSSelector(selector)
            except Exception:
                compiled = False
            self._compiled[selector] = compiled
        return compiled(context) if compiled else []

    def tagged(self, root, *tags: str) -> list:
        return list(root.iter(*tags))


ENGINES = {"index": PageIndex, "lxml": CompiledSelectors}


def use(engine: str) -> None:
    """Make extraction build `engine`'s per-page object wherever it builds the page index."""
    cls = ENGINES[engine]
    core_module.PageIndex = cls
    body_module.PageIndex = cls


def load_pages(count: int, work: Path) -> dict[str, list[tuple]]:
    """{'real': [(bytes, url, rules, content_type)], 'generated': [...]}, as bench/worker_job.py loads them."""
    from worker_job import load

    out = {}
    real = load(["real"], 0, work)
    if real:
        out["real"] = real
    if count:
        out["generated"] = load(["generated"], count, work)
    return out


def run_pass(pages) -> list:
    return [extract_and_prepare(body, url, rules, content_type) for body, url, rules, content_type in pages]


def fingerprint(results) -> list[tuple]:
    out = []
    for extracted, prepared in results:
        row = tuple(getattr(extracted, name) for name in FIELDS)
        out.append(row + ((prepared.relevance, prepared.content_hash) if prepared else (None, None)))
    return out


def timed(pages, passes: int) -> tuple[float, list]:
    """Best CPU seconds of `passes` passes over all pages (after one warm-up pass), and the results."""
    results = run_pass(pages)
    best = float("inf")
    for _ in range(passes):
        started = time.process_time()
        run_pass(pages)
        best = min(best, time.process_time() - started)
    return best, results


def lexbor(pages) -> None:
    """Parse + select only: lxml + the index + the job's selectors, vs Lexbor + the same selectors."""
    from selectolax.lexbor import LexborHTMLParser

    from crawler.extract.decode import decode

    asked: list[list[str]] = []
    original = PageIndex.select

    def recording(self, context, selector):
        asked[-1].append(selector)
        return original(self, context, selector)

    PageIndex.select = recording
    try:
        for body, url, rules, content_type in pages:
            asked.append([])
            extract_and_prepare(body, url, rules, content_type)
    finally:
        PageIndex.select = original
    texts = [decode(body, content_type)[0] for body, _url, _rules, content_type in pages]
    for name in ("lxml parse", "lexbor parse", "lxml+index", "lexbor"):
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            for text, selectors in zip(texts, asked):
                if name == "lxml parse":
                    html_module._parse(text)
                elif name == "lexbor parse":
                    LexborHTMLParser(text)
                elif name == "lexbor":
                    tree = LexborHTMLParser(text)
                    for selector in selectors:
                        try:
                            tree.css(selector)
                        except Exception:
                            pass
                else:
                    root = html_module._parse(text)
                    index = PageIndex(root)
                    for selector in selectors:
                        index.select(root, selector)
            best = min(best, time.process_time() - started)
        print(f"    {'parse only' if 'parse' in name else 'parse + select'}, {name.split()[0]:10}: {best * 1000 / len(pages):6.2f} ms CPU per page "
              f"({sum(map(len, asked)) / len(pages):.0f} selector calls per page)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200, help="generated pages (0: real pages only)")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--engine", default="both", choices=["index", "lxml", "both"])
    parser.add_argument("--lexbor", action="store_true")
    parser.add_argument("--sets", default="real,generated", help="page sets to run (default real,generated)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hiwatch-selectors-"))
    try:
        sets = {name: pages for name, pages in load_pages(args.pages, work).items() if name in args.sets.split(",")}
        engines = ["index", "lxml"] if args.engine == "both" else [args.engine]
        print(f"CPU time of this process (time.process_time), best of {args.passes} passes after a warm-up pass; "
              f"load average {open('/proc/loadavg').read().split()[:3]}")
        for name, pages in sets.items():
            size = sum(len(p[0]) for p in pages) / max(1, len(pages)) / 1024
            print(f"{name}: {len(pages)} article pages, mean {size:.1f} KB")
            seen = {}
            for engine in engines:
                use(engine)
                best, results = timed(pages, args.passes)
                seen[engine] = fingerprint(results)
                if args.passes:
                    print(f"  {engine:6} extract_and_prepare {best * 1000 / len(pages):6.2f} ms CPU per page")
            if len(seen) == 2:
                differ = [i for i, (a, b) in enumerate(zip(seen["index"], seen["lxml"])) if a != b]
                print(f"  results identical on {len(pages) - len(differ)}/{len(pages)} pages"
                      + (f"; differ: {[pages[i][1] for i in differ[:5]]}" if differ else ""))
            if args.lexbor:
                use("index")
                lexbor(pages)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
