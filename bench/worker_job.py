"""The extraction worker's job per page: CPU time, instruction count, and every output field for comparing checkouts.

    .venv/bin/python bench/worker_job.py [--pages 300] [--sets generated,real,all] [--passes 5]
    .venv/bin/python bench/worker_job.py --instructions [--pages 40] [--sets generated]   (valgrind)
    .venv/bin/python bench/worker_job.py --dump FILE [--repo DIR]      then   --compare FILE FILE

The job is `crawler.analyse.prepare.extract_and_prepare` (extract, relevance, MinHash, gzip of the raw page), in
this process, no pool. Page sets: `generated` (N people.com.cn pages of bench/_replaygen.py, with the generated
site rules), `real` (the article pages of ../shared/realpages, each with its site's rules from
config/sources.yaml), `all` (every saved page of ../shared/realpages — home and channel pages too — and the
project's fixtures/ pages).

- default: CPU time (time.process_time: the machine is shared) per page, best of --passes passes after a warm-up.
- --instructions: runs this script under `valgrind --tool=cachegrind --cache-sim=no` with 0 and 2 timed passes and
  prints (I refs of 2 − I refs of 0) / (2 × pages): instructions per page, the same whatever else the machine is
  doing. Hardware counters are not available on these VMs.
- --dump FILE: every field of every page's result as JSON (with --repo, the code of another checkout, e.g. a
  `git worktree` at an older commit); --compare A B prints the fields that differ.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def load(sets: list[str], count: int, work: Path) -> list[tuple]:
    """[(bytes, url, rules, content_type)] of the named sets, in a fixed order."""
    from crawler.config import load_sources

    pages: list[tuple] = []
    shared = Path(os.environ.get("HIWATCH_SHARED", REPO.parent / "shared")) / "realpages"
    if "generated" in sets and count:
        sys.path.insert(0, str(BENCH))
        from _replaygen import generate

        _truths, sources_file = generate(work / "replay", count)
        rules = load_sources(sources_file).sources[0].rules
        manifest = [json.loads(line) for line in (work / "replay" / "MANIFEST.jsonl").read_text().splitlines() if line]
        pages += [((work / "replay" / m["file"]).read_bytes(), m["url"], rules, m["headers"].get("Content-Type"))
                  for m in manifest if "/n1/" in m["url"]]
    if ("real" in sets or "all" in sets) and (shared / "MANIFEST.jsonl").is_file():
        loaded = load_sources(REPO / "config" / "sources.yaml")
        entries = {}
        for line in (shared / "MANIFEST.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                entries[entry["file"]] = entry
        files = ([f for f, e in entries.items() if e.get("kind") == "article"] if "real" in sets else [])
        if "all" in sets:
            files = sorted(str(p.relative_to(shared)) for p in shared.rglob("*.html"))
        for name in files:
            if not (shared / name).is_file():
                continue
            url = entries.get(name, {}).get("url") or "http://example.com/2025/01/01/page.html"
            source = loaded.source_for_url(url)
            pages.append(((shared / name).read_bytes(), url, source.rules if source else None, None))
    if "all" in sets:
        pages += [(p.read_bytes(), "http://example.com/2025/01/01/page.html", None, None)
                  for p in sorted((REPO / "fixtures").glob("*/*.html"))]
    return pages


def run_pass(pages) -> list:
    from crawler.analyse.prepare import extract_and_prepare

    return [extract_and_prepare(body, url, rules, content_type) for body, url, rules, content_type in pages]


def fields(results) -> list[dict]:
    out = []
    for extracted, prepared in results:
        row = dataclasses.asdict(extracted)
        row["prepared"] = None if prepared is None else [prepared.relevance, prepared.relevance_terms, prepared.relevant,
                                                         prepared.content_hash, prepared.minhash.hex()]
        out.append(json.loads(json.dumps(row, default=str, ensure_ascii=False)))
    return out


def instructions(args) -> None:
    counts = []
    for passes in (0, 2):
        command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                   sys.executable, __file__, "--pages", str(args.pages), "--sets", args.sets, "--passes", str(passes),
                   "--repo", str(args.repo), "--quiet"]
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
        if done.returncode or not found:
            sys.exit(f"valgrind failed ({done.returncode}):\n{done.stderr[-2000:]}")
        counts.append(int(found.group(1).replace(",", "")))
    pages = int(re.search(r"pages (\d+)", subprocess.run(
        [sys.executable, __file__, "--pages", str(args.pages), "--sets", args.sets, "--count-only",
         "--repo", str(args.repo)], capture_output=True, text=True).stdout).group(1))
    print(f"{args.sets}: {pages} pages, code at {args.repo}: {(counts[1] - counts[0]) / (2 * pages) / 1e6:.1f} M "
          f"instructions per page (I refs {counts[1]:,} with 2 passes, {counts[0]:,} with 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300, help="generated pages (default 300)")
    parser.add_argument("--sets", default="generated,real", help="generated, real, all (comma-separated)")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose crawler package runs")
    parser.add_argument("--instructions", action="store_true", help="count instructions under valgrind")
    parser.add_argument("--dump", type=Path, help="write every field of every result to this JSON file")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two --dump files")
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compare:
        first, second = (json.loads(path.read_text()) for path in args.compare)
        differ = [(i, name) for i, (a, b) in enumerate(zip(first, second)) for name in a if a[name] != b.get(name)]
        print(f"{len(first)} vs {len(second)} pages; {len(differ)} fields differ" + (f": {differ[:20]}" if differ else ""))
        sys.exit(1 if differ or len(first) != len(second) else 0)
    if args.instructions:
        instructions(args)
        return
    sys.path.insert(0, str(args.repo.resolve()))
    import crawler

    assert Path(crawler.__file__).resolve().is_relative_to(args.repo.resolve()), crawler.__file__
    with tempfile.TemporaryDirectory(prefix="hiwatch-worker-job-") as tmp:
        pages = load(args.sets.split(","), args.pages, Path(tmp))
    if args.count_only:
        print(f"pages {len(pages)}")
        return
    results = run_pass(pages)  # warm-up: imports, the lexicon, lazily built tables
    if args.dump:
        args.dump.write_text(json.dumps(fields(results), ensure_ascii=False))
        print(f"{len(pages)} pages written to {args.dump}")
        return
    best = float("inf")
    for _ in range(args.passes):
        started = time.process_time()
        run_pass(pages)
        best = min(best, time.process_time() - started)
    if not args.quiet:
        print(f"{args.sets}: {len(pages)} pages, code at {args.repo}: {best / max(1, len(pages)) * 1000:.2f} ms of CPU "
              f"per page (best of {args.passes} passes; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
