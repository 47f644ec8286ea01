"""Throughput: the whole hiwatch crawl vs a minimal Scrapy + trafilatura spider, on the same generated replay.

    .venv/bin/python bench/throughput.py [--pages 2000] [--repeat N] [--ceiling] [--skip-baseline] [--profile] [--keep]
                                         [--reextract-of DIR] [--set NAME=VALUE]

Generates (in a temporary directory) N people.com.cn article pages of ~50 KB, half GBK, plus their list pages
(bench/_replaygen.py); runs `hiwatch crawl --replay DIR --no-polite` into a fresh SQLite file, then the baseline
(bench/baseline_spider.py) over the same pages; prints pages/second for both and the ratio, CPU seconds and
peak memory of each process tree (the crawl plus its extraction workers), and extraction quality against the
generated truth on a sample. Each run is a subprocess; its tree is sampled from /proc every 0.1 s.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _replaygen import WEEK, generate  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
GOAL_SHARE = 0.70  # issue 20: the whole pipeline at 70 % of the Scrapy-only ceiling


# ------------------------------------------------------------------------------------------------ measuring


@dataclass
class Usage:
    wall: float = 0.0
    cpu: float = 0.0  # user+sys seconds of the whole tree (max of /proc sampling and getrusage(RUSAGE_CHILDREN))
    cpu_rusage: float = 0.0
    peak_rss_tree: int = 0  # bytes: max over samples of the summed RSS of the tree (counts shared pages twice)
    peak_pss_tree: int = 0  # bytes: same with PSS (shared pages split between processes)
    peak_rss_one: int = 0  # bytes: largest single process (its VmHWM, as last sampled)
    processes: int = 0
    per_process: dict = field(default_factory=dict)  # pid -> (command line, cpu seconds)
    returncode: int = 0
    stderr: str = ""
    load: tuple[str, str] = ("", "")  # /proc/loadavg (1, 5, 15 min) before and after: the machine is shared


def loadavg() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def _children_map() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        out.setdefault(ppid, []).append(int(entry))
    return out


def _tree(root: int) -> list[int]:
    children, found, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            parts = handle.read().split(b"\0")
    except OSError:
        return "?"
    args = [p.decode("utf-8", "replace") for p in parts if p]
    text = " ".join(args)
    if "multiprocessing.forkserver" in text:
        return "forkserver/worker"
    if "multiprocessing.resource_tracker" in text:
        return "resource_tracker"
    return " ".join(a.rsplit("/", 1)[-1] for a in args[1:4])


def _sample(pid: int) -> tuple[float, int, int, int] | None:
    """(cpu seconds, rss bytes, pss bytes, peak rss bytes (VmHWM)) of one process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        rss = int(fields[21]) * PAGE
        pss = hwm = 0
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    pss = int(line.split()[1]) * 1024
                    break
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
                    break
        return cpu, rss, pss, hwm
    except (OSError, ValueError, IndexError):
        return None


def measure(command: list[str], env: dict | None = None, interval: float = 0.1) -> Usage:
    """Run `command`, sampling its process tree; CPU and peak memory of the tree, wall time."""
    usage = Usage()
    load_before = loadavg()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cpu_seen: dict[int, float] = {}
    names: dict[int, str] = {}
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            rss_sum = pss_sum = 0
            for pid in _tree(process.pid):
                sample = _sample(pid)
                if sample:
                    cpu_seen[pid] = max(cpu_seen.get(pid, 0.0), sample[0])
                    if pid not in names:
                        names[pid] = _cmdline(pid)
                    rss_sum += sample[1]
                    pss_sum += sample[2]
                    usage.peak_rss_one = max(usage.peak_rss_one, sample[3])
            usage.peak_rss_tree = max(usage.peak_rss_tree, rss_sum)
            usage.peak_pss_tree = max(usage.peak_pss_tree, pss_sum)
            done.wait(interval)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    _out, err = process.communicate()
    usage.wall = time.perf_counter() - started
    done.set()
    poller.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    usage.cpu_rusage = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    usage.cpu = max(usage.cpu_rusage, sum(cpu_seen.values()))
    usage.processes = len(cpu_seen)
    usage.per_process = {pid: (names.get(pid, "?"), cpu) for pid, cpu in cpu_seen.items()}
    usage.returncode = process.returncode
    usage.stderr = err
    usage.load = (load_before, loadavg())
    return usage


# ------------------------------------------------------------------------------------------------ quality


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def body_scores(truth_paragraphs: list[str], extracted: str) -> tuple[float, float]:
    """(precision, recall) by characters: extracted lines found in the truth, truth paragraphs found extracted."""
    truth_text = _norm("".join(truth_paragraphs))
    got = _norm(extracted)
    lines = [_norm(line) for line in (extracted or "").splitlines() if _norm(line)]
    found = sum(len(line) for line in lines if line in truth_text)
    precision = found / max(1, sum(len(line) for line in lines)) if lines else 0.0
    recall = sum(len(_norm(p)) for p in truth_paragraphs if _norm(p) in got) / max(1, len(truth_text))
    return precision, recall


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def quality(truths, hiwatch_rows: dict, baseline_rows: dict, sample: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    picked = rng.sample(truths, min(sample, len(truths)))
    out = {"sample": len(picked), "hiwatch": [], "baseline": [], "agreement": [], "title_ok": 0, "date_ok": 0,
           "hiwatch_missing": 0, "baseline_missing": 0}
    for truth in picked:
        row = hiwatch_rows.get(truth.url)
        base = baseline_rows.get(truth.url)
        if row is None:
            out["hiwatch_missing"] += 1
        else:
            out["hiwatch"].append(f1(*body_scores(truth.paragraphs, row["body"])))
            out["title_ok"] += row["title"] == truth.title
            out["date_ok"] += row["published_at"] == truth.published.astimezone().isoformat()[:16] or \
                _same_minute(row["published_at"], truth.published)
        if base is None:
            out["baseline_missing"] += 1
        else:
            out["baseline"].append(f1(*body_scores(truth.paragraphs, base)))
        if row is not None and base is not None:
            a = [_norm(x) for x in row["body"].splitlines() if _norm(x)]
            b = [_norm(x) for x in base.splitlines() if _norm(x)]
            common = sum(len(x) for x in set(a) & set(b))
            out["agreement"].append(f1(common / max(1, sum(map(len, set(a)))), common / max(1, sum(map(len, set(b))))))
    return out


def _same_minute(stored: str | None, truth) -> bool:
    from datetime import datetime, timezone

    if not stored:
        return False
    when = datetime.fromisoformat(stored.replace(" ", "T"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return abs((when - truth).total_seconds()) < 60


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


# ------------------------------------------------------------------------------------------------ runs


NODELAY = [str(REPO / "bench" / "_nodelay.py")]


SETTINGS: list[str] = []  # --set NAME=VALUE of this script, passed on to every hiwatch crawl


def run_hiwatch(replay: Path, sources: Path, work: Path, profile: bool, nodelay: bool = True) -> tuple[Usage, Path, Path]:
    db = work / "hiwatch.sqlite3"
    log = work / "hiwatch-requests.jsonl"
    args = ["crawl", "--replay", str(replay), "--replay-log", str(log), "--no-polite", "--week", WEEK,
            "--db", f"sqlite:///{db}", "--sources", str(sources), *(f"--set={item}" for item in SETTINGS)]
    wrap = NODELAY if nodelay else []
    if profile:
        command = [PYTHON, "-m", "cProfile", "-o", str(work / "hiwatch.prof"), *(wrap or ["-m"]),
                   *(["-m"] if wrap else []), "crawler.cli", *args]
    else:
        command = [PYTHON, *wrap, "-m", "crawler.cli", *args]
    env = {**os.environ, "HIWATCH_SOURCES": str(sources)}
    return measure(command, env), db, log


def run_baseline(replay: Path, sources: Path, work: Path, nodelay: bool = True,
                 extract: str = "trafilatura") -> tuple[Usage, Path, Path]:
    out = work / f"baseline-{extract}.jsonl"
    log = work / f"baseline-{extract}-requests.jsonl"
    command = [PYTHON, *(NODELAY if nodelay else []), str(REPO / "bench" / "baseline_spider.py"), "--replay", str(replay), "--sources", str(sources),
               "--out", str(out), "--replay-log", str(log), "--week", WEEK, "--extract", extract]
    return measure(command, {**os.environ, "HIWATCH_SOURCES": str(sources)}), out, log


def requests_in(log: Path) -> tuple[int, int]:
    """(article requests, other requests) from a replay log."""
    urls = [json.loads(line)["url"] for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    articles = sum(1 for u in urls if "/n1/" in u)
    return articles, len(urls) - articles


def hiwatch_rows(db: Path) -> dict:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT url, title, body, published_at FROM articles").fetchall()
    return {url: {"title": title, "body": body, "published_at": when} for url, title, body, when in rows}


def hiwatch_rows_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]


CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


def _own_cpu(usage: Usage) -> float:
    """CPU seconds of the crawl process itself (the tree's busiest process: not the forkserver or its workers)."""
    own = [cpu for command, cpu in usage.per_process.values() if "forkserver" not in command]
    return max(own, default=0.0)


def report(name: str, usage: Usage, pages: int, requests: tuple[int, int]) -> float:
    rate = pages / usage.wall if usage.wall else 0.0
    print(f"{name:11} {pages:6d} articles in {usage.wall:7.1f} s = {rate:7.1f} pages/s | requests: {requests[0]} "
          f"article + {requests[1]} other | CPU {usage.cpu:7.1f} s ({usage.cpu / usage.wall:.2f} cores) | "
          f"peak RSS tree {mb(usage.peak_rss_tree)}, PSS tree {mb(usage.peak_pss_tree)}, largest process "
          f"{mb(usage.peak_rss_one)} | {usage.processes} processes | exit {usage.returncode}")
    parts = sorted(usage.per_process.values(), key=lambda p: -p[1])
    print(f"          load average before {usage.load[0]}, after {usage.load[1]} (other work on the machine shows here)")
    print("          CPU by process: " + ", ".join(f"{name[:40]} {cpu:.1f} s" for name, cpu in parts))
    return rate


def time_reextract(db: Path, sources: Path, stored: int) -> None:
    """`hiwatch reextract` over the stored pages of a crawl: pages/s, CPU per page."""
    r_usage = measure([PYTHON, "-m", "crawler.cli", "reextract", "--db", f"sqlite:///{db}", "--sources",
                       str(sources)], {**os.environ, "HIWATCH_SOURCES": str(sources)})
    r_ms = r_usage.cpu / max(1, stored) * 1000
    print(f"reextract {stored:6d} stored articles in {r_usage.wall:7.1f} s = "
          f"{stored / r_usage.wall:7.1f} pages/s | CPU {r_usage.cpu:.1f} s = {r_ms:.2f} ms per page "
          f"(all processes; {_own_cpu(r_usage) / max(1, stored) * 1000:.2f} ms in the main one): "
          f"{1000 * CORES / r_ms:.0f} pages/s if the {CORES} cores it may use were its alone | "
          f"peak PSS tree {mb(r_usage.peak_pss_tree)} | load {r_usage.load[0]} → {r_usage.load[1]} | "
          f"exit {r_usage.returncode}")
    if r_usage.returncode:
        print(r_usage.stderr[-2000:])


def print_profile(path: Path, top: int = 30) -> None:
    import pstats

    stats = pstats.Stats(str(path))
    print("\n--- hiwatch crawl process, cProfile, by own time (tottime) ---")
    stats.sort_stats("tottime").print_stats(top)
    print("\n--- by cumulative time ---")
    stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="article pages to generate (default 2000)")
    parser.add_argument("--sample", type=int, default=200, help="articles scored for extraction quality")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-reextract", action="store_true", help="do not time `hiwatch reextract` afterwards")
    parser.add_argument("--ceiling", action="store_true",
                        help="also run the baseline spider without extraction: the Scrapy + replay ceiling")
    parser.add_argument("--profile", action="store_true", help="run the hiwatch crawl under cProfile and print it")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run hiwatch and the baseline N times, alternately, and print every ratio and their median; "
                             "with --ceiling: hiwatch and the Scrapy-only ceiling, every share of it and the median")
    parser.add_argument("--as-is", action="store_true",
                        help="run the replay server without TCP_NODELAY (each kept-alive request then waits ~40 ms)")
    parser.add_argument("--reextract-of", metavar="DIR",
                        help="only time `hiwatch reextract` over the crawl kept in DIR (a --keep run's directory)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a Scrapy or hiwatch setting for the hiwatch crawl (repeatable), e.g. --set HIWATCH_EXTRACT_WORKERS=1")
    args = parser.parse_args()
    SETTINGS.extend(args.set)
    if args.reextract_of:
        kept = Path(args.reextract_of)
        time_reextract(kept / "hiwatch.sqlite3", kept / "sources.yaml", hiwatch_rows_count(kept / "hiwatch.sqlite3"))
        return

    work = Path(tempfile.mkdtemp(prefix="hiwatch-bench-"))
    try:
        started = time.perf_counter()
        truths, sources = generate(work / "replay", args.pages)
        size = sum(f.stat().st_size for f in (work / "replay" / "a").iterdir())
        print(f"replay: {len(truths)} article pages, mean {size / len(truths) / 1024:.1f} KB "
              f"({sum(t.encoding == 'gb18030' for t in truths)} GBK), generated in {time.perf_counter() - started:.1f} s "
              f"under {work}")
        print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}; load average {loadavg()}")

        print("replay server: " + ("as is (Nagle on: ~40 ms per kept-alive request)" if args.as_is
                                   else "TCP_NODELAY via bench/_nodelay.py (see its docstring)"))
        usage, db, log = run_hiwatch(work / "replay", sources, work, args.profile, not args.as_is)
        rows = hiwatch_rows(db) if db.exists() else {}
        if usage.returncode:
            print(usage.stderr[-3000:])
        rate_h = report("hiwatch", usage, len(rows), requests_in(log))
        if db.exists() and not args.skip_reextract:
            time_reextract(db, sources, len(rows))
        base_rows: dict = {}
        rate_b = None
        if not args.skip_baseline:
            b_usage, out, b_log = run_baseline(work / "replay", sources, work, not args.as_is)
            if b_usage.returncode:
                print(b_usage.stderr[-3000:])
            if out.exists():
                for line in out.read_text(encoding="utf-8").splitlines():
                    item = json.loads(line)
                    base_rows[item["url"]] = item["text"]
            rate_b = report("baseline", b_usage, len(base_rows), requests_in(b_log))
            print(f"ratio     hiwatch / baseline pages per second = {rate_h / rate_b:.2f}x "
                  f"(CPU seconds per page: hiwatch {usage.cpu / max(1, len(rows)) * 1000:.1f} ms, "
                  f"baseline {b_usage.cpu / max(1, len(base_rows)) * 1000:.1f} ms)")
        if args.repeat > 1 and rate_b and not args.ceiling:
            ratios = [rate_h / rate_b]
            for _ in range(args.repeat - 1):  # alternate, so that a slow spell of the machine hits both
                (work / f"again{len(ratios)}").mkdir()
                again, _db, again_log = run_hiwatch(work / "replay", sources, work / f"again{len(ratios)}", False,
                                                    not args.as_is)
                rate_again = report("hiwatch", again, len(hiwatch_rows(_db)) if _db.exists() else 0,
                                    requests_in(again_log))
                b_log.unlink(missing_ok=True)  # the replay server appends to its log
                b_again, b_out, b_log2 = run_baseline(work / "replay", sources, work, not args.as_is)
                base_again = sum(1 for _ in b_out.open(encoding="utf-8")) if b_out.exists() else 0
                ratios.append(rate_again / report("baseline", b_again, base_again, requests_in(b_log2)))
            print(f"ratios    {', '.join(f'{r:.2f}x' for r in ratios)}: median {statistics.median(ratios):.2f}x")
        if args.ceiling:
            c_usage, c_out, c_log = run_baseline(work / "replay", sources, work, not args.as_is, "none")
            fetched = sum(1 for _ in c_out.open(encoding="utf-8")) if c_out.exists() else 0
            rate_c = report("scrapy-only", c_usage, fetched, requests_in(c_log))
            print(f"ceiling   the same spider without extraction: {rate_c:.1f} pages/s — hiwatch reaches "
                  f"{rate_h / rate_c:.0%} of it" + (f", the trafilatura baseline {rate_b / rate_c:.0%}" if rate_b else ""))
            cores = CORES
            cpu_h = usage.cpu / max(1, len(rows)) * 1000
            cpu_c = c_usage.cpu / max(1, fetched) * 1000
            goal = GOAL_SHARE * rate_c
            print(f"goal      {GOAL_SHARE:.0%} of the ceiling = {goal:.1f} pages/s: at most {1000 * cores / goal:.1f} ms "
                  f"of CPU per page in all processes together ({cores} cores) and {1000 / goal:.1f} ms in the crawl "
                  f"process (one GIL); Scrapy alone spends {cpu_c:.1f} ms, hiwatch {cpu_h:.1f} ms (crawl process "
                  f"{_own_cpu(usage) / max(1, len(rows)) * 1000:.1f} ms), leaving {1000 * cores / goal - cpu_h:+.1f} ms"
                  + (f"; the ceiling is {rate_c / rate_b:.2f}x the baseline on this machine" if rate_b else ""))
            own_h = _own_cpu(usage) / max(1, len(rows)) * 1000
            bound_h = min(1000 * cores / cpu_h, 1000 / own_h if own_h else float("inf"))
            bound_c = 1000 * min(cores, max(1, c_usage.processes)) / cpu_c
            print(f"by CPU    what the CPU per page alone allows on {cores} free cores (wall time moves with the "
                  f"machine's other load, CPU per page much less; one process is one core at most): hiwatch "
                  f"{bound_h:.0f} pages/s, Scrapy alone {bound_c:.0f} pages/s = {bound_h / bound_c:.0%} of the ceiling")
        if args.ceiling and args.repeat > 1:  # the machine's speed drifts: pairs taken one after the other
            shares = [rate_h / rate_c]
            for n in range(1, args.repeat):
                (work / f"pair{n}").mkdir()
                again, again_db, again_log = run_hiwatch(work / "replay", sources, work / f"pair{n}", False,
                                                         not args.as_is)
                rate_again = report("hiwatch", again, hiwatch_rows_count(again_db) if again_db.exists() else 0,
                                    requests_in(again_log))
                c_log.unlink(missing_ok=True)  # the replay server appends to its log
                c_again, c_out, c_log = run_baseline(work / "replay", sources, work, not args.as_is, "none")
                rate_c_again = report("scrapy-only", c_again, sum(1 for _ in c_out.open(encoding="utf-8"))
                                      if c_out.exists() else 0, requests_in(c_log))
                shares.append(rate_again / rate_c_again)
            print(f"shares    of the ceiling, {len(shares)} pairs run one after the other: "
                  f"{', '.join(f'{r:.0%}' for r in shares)}: median {statistics.median(shares):.0%}")
        q = quality(truths, rows, base_rows, args.sample)
        print(f"quality   on {q['sample']} sampled articles vs the generated truth (character F1 of body lines): "
              f"hiwatch {mean(q['hiwatch']):.3f}"
              + (f", baseline trafilatura {mean(q['baseline']):.3f}, hiwatch–baseline agreement "
                 f"{mean(q['agreement']):.3f}" if base_rows else "")
              + f"; hiwatch titles exact {q['title_ok']}/{q['sample']}, publish minute exact {q['date_ok']}/{q['sample']}"
              + f"; missing: hiwatch {q['hiwatch_missing']}" + (f", baseline {q['baseline_missing']}" if base_rows else ""))
        if args.profile and (work / "hiwatch.prof").exists():
            print_profile(work / "hiwatch.prof")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
