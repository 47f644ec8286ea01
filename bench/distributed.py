"""Scale-out benchmark: one worker on one core against two workers on two cores, the same replayed window.

    .venv/bin/python bench/distributed.py [--pages 2000] [--repeat 3] [--head-start 10]
                                          [--redis redis://127.0.0.1:6379/14]

The workers start first and wait for the run (`--head-start`, as `hiwatch worker` does in production); the
clock starts with the coordinator. Each worker process (and its extraction process) is confined to its own
core with os.sched_setaffinity, as if each were a machine of its own; PostgreSQL, Redis and the coordinator
(which also serves the replay on 127.0.0.1) are shared and not confined. Each run gets a fresh PostgreSQL
database and its own Redis namespace; the coordinator (`hiwatch crawl --distributed`) and the workers
(`hiwatch worker --once`) are separate processes. Politeness is off (the replay server is local). The
configurations alternate (1, 2, 1, 2, …) so a change in the machine's load hits both; medians are printed, with
the workers' CPU time per article (user + system, their extraction processes included, their start-up before
the run not), which a loaded machine disturbs far less than wall-clock time, and the end of the run: the
coordinator's own wait (from the streams drained to the run closed, `close s`) and the time from the last
article stored to the coordinator's exit (`exit s`: printing the summary and the interpreter's exit included).
Pages per second are given over the whole run (start of the coordinator to its exit) and over the crawl itself
(first to last article stored).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from _replaygen import generate  # noqa: E402

from crawler.db import connect  # noqa: E402
from crawler.db.models import Article  # noqa: E402

PG_ADMIN = os.environ.get("HIWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def fresh_database() -> tuple[str, callable]:
    name = f"hiwatch_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, drop


def _cpu_so_far(pid: int) -> float:
    """CPU seconds (user + system) of a running process and of the children it has reaped, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _cpu_of(names: tuple[str, ...]) -> float:
    """CPU seconds used so far by every process named one of `names` (PostgreSQL's backends and the children its
    postmaster reaped, redis-server), from /proc: the shared services' share of the run, as a difference."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        if raw[raw.index("(") + 1:raw.rindex(")")] in names:
            total += sum(int(v) for v in raw.rsplit(")", 1)[1].split()[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far, from /proc/stat (idle and iowait are not busy)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - fields[3] - fields[4]) / tick, sum(fields) / tick


SERVICES = {"postgresql": ("postgres",), "redis": ("redis-server",)}


def _list_pages_done(replay_log: Path) -> float:
    """When the last list page was fetched, as a share of the time from the first request to the last (0.1: the
    whole window was known after a tenth of the crawl), from the replay server's log."""
    import json

    lines = [json.loads(line) for line in replay_log.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if "robots.txt" not in line["url"]]
    if not lines:
        return float("nan")
    start, end = lines[0]["at"], lines[-1]["at"]
    lists = [line["at"] for line in lines if "/GB/" in line["url"]]
    return (max(lists) - start) / (end - start) if lists and end > start else float("nan")


def _pinned(core: int):
    return lambda: os.sched_setaffinity(0, {core})


def run(workers: int, replay: Path, sources: Path, redis_url: str, since: str, until: str,
        head_start: float) -> dict:
    cores = sorted(os.sched_getaffinity(0))
    db_url, drop = fresh_database()
    connect(db_url).dispose()  # migrate before the clock starts
    namespace = f"hiwatch-bench-{uuid.uuid4().hex[:8]}"
    base = [sys.executable, "-m", "crawler.cli"]
    procs = [subprocess.Popen(base + ["worker", "--once", "--wait", "60", "--redis", redis_url, "--redis-namespace",
                                      namespace, "--db", db_url],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              preexec_fn=_pinned(cores[i % len(cores)]))
             for i in range(workers)]
    time.sleep(head_start)  # as in production (`hiwatch worker`), the workers are started and waiting for a run
    cpu_before_run = sum(_cpu_so_far(proc.pid) for proc in procs)  # their start-up (imports) is not the run's
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    services_before = {name: _cpu_of(comm) for name, comm in SERVICES.items()}
    busy_before = _machine_busy()
    started = time.monotonic()
    replay_log = replay.parent / f"requests-{namespace}.jsonl"
    coordinator = subprocess.Popen(base + ["crawl", "--distributed", "--redis", redis_url, "--redis-namespace",
                                           namespace, "--replay", str(replay), "--replay-log", str(replay_log),
                                           "--since", since, "--until", until,
                                           "--db", db_url, "--sources", str(sources),
                                           "--set", "HIWATCH_EXTRACT_WORKERS=1"],  # one extraction process per core
                                   cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, err = coordinator.communicate()
    ended_wall, elapsed = time.time(), time.monotonic() - started
    busy_after = _machine_busy()
    services = {name: _cpu_of(comm) - services_before[name] for name, comm in SERVICES.items()}
    cpu = 0.0
    for proc in procs:
        _, _, usage = os.wait4(proc.pid, 0)  # the worker and the extraction processes it reaped
        proc.returncode = 0
        cpu += usage.ru_utime + usage.ru_stime
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    coordinator_cpu = (children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime
                       - cpu)  # the coordinator and the replay server it runs
    cpu -= cpu_before_run
    import redis

    redis.Redis.from_url(redis_url).delete(f"{namespace}:current-run")  # the coordinator removed the rest
    database = connect(db_url)
    with database.session() as session:
        stored = session.scalar(select(func.count(Article.id)))
        first, last = session.execute(select(func.min(Article.fetched_at), func.max(Article.fetched_at))).one()
    database.dispose()
    drop()
    if coordinator.returncode != 0:
        raise SystemExit(f"coordinator failed ({coordinator.returncode}): {err[-2000:]}")
    lists_done = _list_pages_done(replay_log)
    closed = re.search(r"closed ([0-9.]+) s after the streams were drained", err)
    crawling = (last - first).total_seconds() if first and last else float("nan")
    return {"workers": workers, "stored": stored, "seconds": elapsed, "per_second": stored / elapsed,
            "crawling": crawling, "crawl_per_second": stored / crawling if crawling else float("nan"),
            "cpu_per_article_ms": 1000 * cpu / max(stored, 1), "cpu": cpu, "coordinator_cpu": coordinator_cpu,
            "pg_cpu": services["postgresql"], "redis_cpu": services["redis"],
            "machine_busy": (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1e-9),
            "end_wait": ended_wall - last.timestamp() if last else float("nan"), "lists_done": lists_done,
            "closed": float(closed.group(1)) if closed else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--head-start", type=float, default=10.0,
                        help="seconds the workers get to start (imports) before the coordinator and the clock")
    parser.add_argument("--redis", default=os.environ.get("HIWATCH_TEST_REDIS", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs two cores")
    results: dict[int, list[dict]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="hiwatch-bench-dist-") as tmp:
        root = Path(tmp) / "replay"
        root.mkdir()
        truths, sources = generate(root, args.pages)
        days = sorted(t.published.date() for t in truths)
        for _ in range(args.repeat):
            for n in (1, 2):
                r = run(n, root, sources, args.redis, days[0].isoformat(), days[-1].isoformat(), args.head_start)
                results[n].append(r)
                print(f"  {n} worker(s): {r['stored']} stored in {r['seconds']:.1f} s = {r['per_second']:.1f}/s "
                      f"(first to last article {r['crawling']:.1f} s = {r['crawl_per_second']:.1f}/s), "
                      f"workers' CPU {r['cpu']:.1f} s = {r['cpu_per_article_ms']:.1f} ms/article, coordinator + "
                      f"replay CPU {r['coordinator_cpu']:.1f} s, PostgreSQL {r['pg_cpu']:.1f} s, Redis "
                      f"{r['redis_cpu']:.1f} s, machine busy {100 * r['machine_busy']:.0f} %, "
                      f"last list page fetched at "
                      f"{100 * r['lists_done']:.0f} % of the crawl, run closed {r['closed']:.2f} s after the "
                      f"streams were drained, coordinator exited {r['end_wait']:.2f} s after the last article",
                      flush=True)
    load = os.getloadavg()
    print(f"distributed crawl of {args.pages} replayed article pages (+ list pages), {os.cpu_count()} CPUs, "
          f"each worker on its own core; median of {args.repeat}; load average at the end {load[0]:.1f}")
    print(f"{'workers':>8} {'stored':>7} {'wall s':>7} {'pages/s':>8} {'crawling s':>11} {'pages/s':>8} "
          f"{'CPU ms/page':>12} {'close s':>8} {'exit s':>7}")
    median = {}
    keys = ("stored", "seconds", "per_second", "crawling", "crawl_per_second", "cpu_per_article_ms", "closed",
            "end_wait", "cpu", "coordinator_cpu", "pg_cpu", "redis_cpu", "machine_busy", "lists_done")
    for n, rows in results.items():
        median[n] = {k: statistics.median(r[k] for r in rows) for k in keys}
        m = median[n]
        print(f"{n:>8} {m['stored']:>7.0f} {m['seconds']:>7.1f} {m['per_second']:>8.1f} {m['crawling']:>11.1f} "
              f"{m['crawl_per_second']:>8.1f} {m['cpu_per_article_ms']:>12.1f} {m['closed']:>8.2f} "
              f"{m['end_wait']:>7.2f}")
    for label, key in (("wall clock, start to exit", "per_second"), ("first to last article", "crawl_per_second")):
        ratios = ", ".join(f"{b[key] / a[key]:.2f}" for a, b in zip(results[1], results[2]))
        print(f"two workers / one worker, {label}: {median[2][key] / median[1][key]:.2f}× (per run: {ratios})")
    print(f"{'workers':>8} {'workers CPU s':>14} {'coord+replay s':>15} {'PostgreSQL s':>13} {'Redis s':>8} "
          f"{'machine busy':>13} {'lists done at':>14}")
    for n, m in median.items():
        print(f"{n:>8} {m['cpu']:>14.1f} {m['coordinator_cpu']:>15.1f} {m['pg_cpu']:>13.1f} {m['redis_cpu']:>8.1f} "
              f"{100 * m['machine_busy']:>12.0f}% {100 * m['lists_done']:>13.0f}%")
    cpu1, cpu2 = median[1]["cpu_per_article_ms"], median[2]["cpu_per_article_ms"]
    print(f"CPU-bound bound with a core per worker and the services elsewhere (two machines): "
          f"2 × {cpu1:.1f} / {cpu2:.1f} = {2 * cpu1 / cpu2:.2f}×")
    # On this machine the shared services (PostgreSQL, Redis, the coordinator's replay server) run on the same
    # cores: one worker has core 0 and the services the other; two workers share both cores with the services.
    services = {n: 1000 * (m["coordinator_cpu"] + m["pg_cpu"] + m["redis_cpu"]) / max(m["stored"], 1)
                for n, m in median.items()}
    one = 1000 / max(cpu1, services[1])
    two = 2 * 1000 / (cpu2 + services[2])
    print(f"services' CPU per article: {services[1]:.1f} ms (1 worker), {services[2]:.1f} ms (2 workers); "
          f"CPU bound on these {len(os.sched_getaffinity(0))} cores: 1 worker ≤ {one:.0f}/s, 2 workers ≤ {two:.0f}/s "
          f"= {two / one:.2f}× (any other load on the machine lowers both)")


if __name__ == "__main__":
    main()
