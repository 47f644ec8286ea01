"""The extraction process pool: trafilatura and lxml hold the GIL, so extraction runs in worker processes."""
from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial

_pool: ProcessPoolExecutor | None = None


def get_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """The process-wide pool (forkserver workers that import the extractor once)."""
    global _pool
    if _pool is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crawler.extract"])
        _pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 2, mp_context=context)
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
