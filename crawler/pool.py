"""The extraction process pool: trafilatura and lxml hold the GIL, so extraction runs in worker processes."""
from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import partial

_pool: ProcessPoolExecutor | None = None
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


def get_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """The process-wide pool: forkserver workers that import the extractor once and die with the crawl."""
    global _pool
    if _pool is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crawler._pool_guard", "crawler.extract", "crawler.prepare",
                                        "crawler.relevance", "crawler.dedupe"])
        _pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 2, mp_context=context,
                                    initializer=die_with_parent)
    return _pool


async def run_in_pool(function, *args, workers: int | None = None, **kwargs):
    """Await function(*args, **kwargs) run in the pool, from asyncio code (Scrapy's asyncio reactor)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(get_pool(workers), partial(function, *args, **kwargs))


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None
