"""Extraction cost per page: crawler.extract.core.extract with the site rules, without them, and trafilatura.

    .venv/bin/python bench/extract_cost.py [--pages 300] [--repeat 3] [--realpages DIR] [--pool]

Pages: N generated people.com.cn article pages (bench/_replaygen.py, ~50 KB, half GBK) and, when present, the
article pages of ../shared/realpages (several sites and templates). For each page and path the best of
`--repeat` timings is kept (CPU time of this process, time.process_time: the machine is shared, and wall
time under other load measures the other load; one process, no pool); printed: median, p95, mean per page and
which extractor the result came from. Paths:
  rules        extract(bytes, url, <people rules from the generated sources.yaml>, content_type)
  no-rules     extract(bytes, url, None, content_type)  — built-in template selectors, density, then trafilatura
  trafilatura  crawler.extract.body's own fallback (_trafilatura_body) on the decoded text — what a page pays when
               every selector and the density heuristic fail
  traf-default trafilatura.extract(text, url=url) with its defaults — the baseline spider's call
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _replaygen import generate  # noqa: E402

import trafilatura  # noqa: E402

from crawler.extract import body as B, core as X  # noqa: E402
from crawler.config import load_sources  # noqa: E402
from crawler.extract.decode import decode  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def best(fn, repeat: int):
    result, fastest = None, float("inf")
    for _ in range(repeat):
        started = time.process_time()
        result = fn()
        fastest = min(fastest, time.process_time() - started)
    return fastest, result


def summary(name: str, times: list[float], kinds: Counter | None = None) -> None:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    kinds_text = (" | extractor: " + ", ".join(f"{k or '(none)'} {v}" for k, v in kinds.most_common(4))) if kinds else ""
    print(f"  {name:13} median {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms  mean {statistics.fmean(ms):6.1f} ms"
          f"  (n={len(ms)}){kinds_text}")


def measure(pages: list[tuple[bytes, str, str | None]], rules, repeat: int) -> None:
    paths = {"rules": [], "no-rules": [], "trafilatura": [], "traf-default": []}
    kinds = {"rules": Counter(), "no-rules": Counter()}
    for body, url, content_type in pages:
        text = decode(body, content_type)[0]
        for name, fn in (("rules", lambda: X.extract(body, url, rules, content_type)),
                         ("no-rules", lambda: X.extract(body, url, None, content_type)),
                         ("trafilatura", lambda: B._trafilatura_body(text, url)),
                         ("traf-default", lambda: trafilatura.extract(text, url=url))):
            elapsed, result = best(fn, repeat)
            paths[name].append(elapsed)
            if name in kinds:
                kinds[name][result.extractor.split(":")[0] + (":" + result.extractor.split(":")[1]
                                                             if result.extractor.count(":") else "")] += 1
    for name, times in paths.items():
        summary(name, times, kinds.get(name))


def through_pool(pages: list[tuple[bytes, str, str | None]], rules) -> None:
    """The extraction worker's whole job per page: in this process, then through crawler.analyse.pool (all pages queued
    at once, as a busy crawl does), counting the workers' CPU from /proc."""
    from crawler.analyse.pool import get_pool, shutdown
    from crawler.analyse.prepare import extract_and_prepare

    for body, url, content_type in pages[:20]:
        extract_and_prepare(body, url, rules, content_type)  # warm
    started = time.process_time()
    for body, url, content_type in pages:
        extract_and_prepare(body, url, rules, content_type)
    print(f"  worker job   in this process: {(time.process_time() - started) * 1000 / len(pages):5.2f} ms CPU per page")
    tick = os.sysconf("SC_CLK_TCK")
    for workers in (1, 2):
        pool = get_pool(workers)
        [future.result() for future in [pool.submit(os.getpid) for _ in range(2 * workers)]]  # all started

        def cpu() -> float:
            total = 0.0
            for pid in pool._processes:
                with open(f"/proc/{pid}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            return total

        before, wall = cpu(), time.perf_counter()
        for future in [pool.submit(extract_and_prepare, body, url, rules, content_type)
                       for body, url, content_type in pages]:
            future.result()
        wall = time.perf_counter() - wall
        print(f"  worker job   through the pool, {workers} worker(s): {(cpu() - before) * 1000 / len(pages):5.2f} ms "
              f"CPU per page in the workers, {wall * 1000 / len(pages):5.2f} ms wall per page")
        shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--realpages", default=str(REPO.parent / "shared" / "realpages"))
    parser.add_argument("--pool", action="store_true",
                        help="also: the worker's whole job (extract_and_prepare) in a loop, then through the crawl's "
                             "process pool with 1 and 2 workers (CPU of the workers per page)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hiwatch-cost-"))
    try:
        run(work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, args) -> None:
    truths, sources_file = generate(work / "replay", args.pages)
    rules = load_sources(sources_file).sources[0].rules
    manifest = [json.loads(line) for line in (work / "replay" / "MANIFEST.jsonl").read_text().splitlines() if line]
    pages = [((work / "replay" / m["file"]).read_bytes(), m["url"], m["headers"].get("Content-Type"))
             for m in manifest if "/n1/" in m["url"]]
    size = sum(len(p[0]) for p in pages) / len(pages) / 1024
    print(f"machine: {os.cpu_count()} CPUs; one process, CPU time, best of {args.repeat} per page and path; "
          f"load average {open('/proc/loadavg').read().split()[:3]}")
    print(f"generated people.com.cn pages: {len(pages)}, mean {size:.1f} KB")
    measure(pages, rules, args.repeat)
    if args.pool:
        through_pool(pages, rules)

    real = Path(args.realpages)
    if (real / "MANIFEST.jsonl").is_file():
        entries = [json.loads(line) for line in (real / "MANIFEST.jsonl").read_text(encoding="utf-8").splitlines()
                   if line.strip()]
        entries = [e for e in entries if e.get("kind") == "article" and (real / e["file"]).is_file()]
        loaded = load_sources(REPO / "config" / "sources.yaml")
        real_pages = [((real / e["file"]).read_bytes(), e.get("url") or "", None) for e in entries]
        size = sum(len(p[0]) for p in real_pages) / max(1, len(real_pages)) / 1024
        print(f"real pages ({real}): {len(real_pages)} articles, mean {size:.1f} KB; rules = each site's own record")
        by_site: dict = {}
        for page in real_pages:
            source = loaded.source_for_url(page[1]) if page[1] else None
            by_site.setdefault(source.name if source else None, []).append(page)
        times = {"rules": [], "no-rules": []}
        kinds = {"rules": Counter(), "no-rules": Counter()}
        traf, traf_default = [], []
        for site, site_pages in by_site.items():
            site_rules = loaded.get(site).rules if site else None
            for body, url, content_type in site_pages:
                text = decode(body, content_type)[0]
                for name, r in (("rules", site_rules), ("no-rules", None)):
                    elapsed, result = best(lambda: X.extract(body, url, r, content_type), args.repeat)
                    times[name].append(elapsed)
                    kinds[name][result.extractor.split(":")[0]] += 1
                traf.append(best(lambda: B._trafilatura_body(text, url), args.repeat)[0])
                traf_default.append(best(lambda: trafilatura.extract(text, url=url), args.repeat)[0])
        summary("rules", times["rules"], kinds["rules"])
        summary("no-rules", times["no-rules"], kinds["no-rules"])
        summary("trafilatura", traf)
        summary("traf-default", traf_default)
    else:
        print(f"(no real pages at {real}: skipped)")


if __name__ == "__main__":
    main()
