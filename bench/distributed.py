"""Scale-out benchmark: the same replayed window crawled by one worker and by two, pages per second side by side.

    .venv/bin/python bench/distributed.py [--pages 600] [--redis redis://127.0.0.1:6379/14]

Each configuration gets a fresh PostgreSQL database on the local server and its own Redis namespace; the
coordinator (`hiwatch crawl --distributed`) and the workers (`hiwatch worker --once`) are separate processes,
as on separate machines. Politeness is off (the replay server is on 127.0.0.1).
"""
from __future__ import annotations

import argparse
import os
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


def run(workers: int, replay: Path, sources: Path, redis_url: str, since: str, until: str) -> dict:
    db_url, drop = fresh_database()
    connect(db_url).dispose()  # migrate before the clock starts
    namespace = f"hiwatch-bench-{uuid.uuid4().hex[:8]}"
    base = [sys.executable, "-m", "crawler.cli"]
    started = time.monotonic()
    coordinator = subprocess.Popen(base + ["crawl", "--distributed", "--redis", redis_url, "--redis-namespace",
                                           namespace, "--replay", str(replay), "--since", since, "--until", until, "--db", db_url,
                                           "--sources", str(sources)],
                                   cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    procs = [subprocess.Popen(base + ["worker", "--once", "--wait", "60", "--redis", redis_url, "--redis-namespace",
                                      namespace, "--db", db_url],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(workers)]
    _, err = coordinator.communicate()
    elapsed = time.monotonic() - started
    for proc in procs:
        proc.wait(timeout=120)
    database = connect(db_url)
    with database.session() as session:
        stored = session.scalar(select(func.count(Article.id)))
    database.dispose()
    drop()
    if coordinator.returncode != 0:
        raise SystemExit(f"coordinator failed ({coordinator.returncode}): {err[-2000:]}")
    return {"workers": workers, "stored": stored, "seconds": elapsed, "pages_per_second": stored / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--redis", default=os.environ.get("HIWATCH_TEST_REDIS", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hiwatch-bench-dist-") as tmp:
        root = Path(tmp) / "replay"
        root.mkdir()
        truths, sources = generate(root, args.pages)
        days = sorted(t.published.date() for t in truths)
        results = [run(n, root, sources, args.redis, days[0].isoformat(), days[-1].isoformat()) for n in (1, 2)]
    print(f"distributed crawl of {args.pages} replayed article pages (+ list pages), {os.cpu_count()} CPUs")
    print(f"{'workers':>8} {'stored':>7} {'seconds':>8} {'pages/s':>8}")
    for r in results:
        print(f"{r['workers']:>8} {r['stored']:>7} {r['seconds']:>8.1f} {r['pages_per_second']:>8.1f}")
    print(f"two workers / one worker: {results[1]['pages_per_second'] / results[0]['pages_per_second']:.2f}×")


if __name__ == "__main__":
    main()
