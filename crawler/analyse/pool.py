"""The extraction process pool: trafilatura and lxml hold the GIL, so extraction runs in worker processes."""
from __future__ import annotations

import asyncio
import ctypes
import importlib
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from multiprocessing import forkserver

_pool: ProcessPoolExecutor | None = None
_size = 0  # the pool's number of workers
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux: have the kernel kill this process when its parent dies (a `kill -9` of the crawl leaves no
    forkserver or extraction worker behind). Elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask (taskset, a container's cpuset), not the machine's count.
    A crawl pinned to one core of a 64-core host starts one worker, not 64 that share that core."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # no affinity on this platform
        return os.cpu_count() or 1


# what a worker imports when it starts, before its first page: the extractor and what prepares an article
WORKER_MODULES = ("crawler.extract.core", "crawler.analyse.prepare", "crawler.analyse.relevance",
                  "crawler.analyse.minhash")


# the workers' CPU priority, added to the crawl's (os.nice): the lowest, so that the crawl process — Scrapy's
# reactor and its threads under one GIL, the crawl's narrowest stage — takes a core the moment one of its threads
# wakes, instead of queueing behind a worker; at equal priority the pipeline kept 1.54–1.56 of 2 cores busy, at
# 19 1.75–1.80, and crawled 9–24 % more pages a second (docs/benchmarks.md, "Issue 20, session 7")
NICE = 19
_nice = NICE  # the priority the pool's workers were last asked for: a pool replaced after a crash keeps it


def start_worker(nice: int = 0) -> None:
    """A worker's initializer: die with the crawl, lower its priority, then import the extractor (a page waits
    for none of it)."""
    die_with_parent()
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    for name in WORKER_MODULES:
        importlib.import_module(name)


def get_pool(workers: int | None = None, nice: int | None = None) -> ProcessPoolExecutor:
    """The process-wide pool: forkserver workers that import the extractor once and die with the crawl.

    The forkserver preloads nothing but its guard: every page a forkserver holds is counted again in each worker it
    forks (a forked page is resident in both), and the extractor preloaded there made the crawl's processes 31 MB
    larger together for no gain once the workers run (docs/benchmarks.md, "Issue 20, session 7")."""
    global _pool, _size, _nice
    if nice is not None:
        _nice = nice
    if _pool is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crawler.analyse._pool_guard"])
        _size = workers or usable_cpus()
        _pool = ProcessPoolExecutor(max_workers=_size, mp_context=context, initializer=start_worker,
                                    initargs=(_nice,))
    return _pool


def warm_up(workers: int | None = None, nice: int | None = None) -> None:
    """Start the workers now, from a thread: each imports the extractor as it starts (about a second), while
    Scrapy starts; left to the first article, starting them would stall the crawl's reactor.

    The forkserver itself is started here, in the calling thread: its PR_SET_PDEATHSIG fires when the *thread*
    that started it ends, so it must not be the short-lived warm-up thread."""
    pool, size = get_pool(workers, nice), _size
    forkserver.ensure_running()

    def start() -> None:
        try:
            for _ in range(size):  # one task per worker: each finds no idle worker and starts one
                pool.submit(os.getpid)
        except (RuntimeError, BrokenProcessPool):  # the crawl ended (or the pool broke) first: nothing to warm
            pass

    threading.Thread(target=start, name="pool-warm-up", daemon=True).start()


async def run_in_pool(function, *args, workers: int | None = None, **kwargs):
    """Await function(*args, **kwargs) run in the pool, from asyncio code (Scrapy's asyncio reactor).

    A worker killed under the pool (out of memory, a crash in a C library) breaks every task in flight: the pool
    is replaced and the task runs once more, so one bad page does not fail the rest of the crawl."""
    loop = asyncio.get_running_loop()
    call = partial(function, *args, **kwargs)
    pool = get_pool(workers)
    try:
        return await loop.run_in_executor(pool, call)
    except BrokenProcessPool:
        _replace(pool)
        return await loop.run_in_executor(get_pool(workers), call)


def _replace(broken: ProcessPoolExecutor) -> None:
    """Drop a broken pool (once, however many tasks saw it break); the next get_pool() starts a fresh one."""
    global _pool
    if _pool is broken:
        _pool = None
        broken.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None
