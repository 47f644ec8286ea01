"""Run a module (-m NAME) or a script with TCP_NODELAY on every http.server request handler.

crawler/run/replay.py's server writes the headers and the body of a response in two sends; on a kept-alive
connection (Scrapy keeps them) Nagle's algorithm then holds the body until the client's delayed ACK, ~40 ms per
request on loopback, and a replay crawl measures that wait instead of the engine. The benchmarks run both
crawls through this wrapper (see docs/benchmarks.md); `--as-is` in bench/throughput.py runs without it.

    python bench/_nodelay.py -m crawler.cli crawl ...
    python bench/_nodelay.py bench/baseline_spider.py ...
"""
import http.server
import runpy
import sys
from pathlib import Path

http.server.BaseHTTPRequestHandler.disable_nagle_algorithm = True
_BENCH = Path(__file__).resolve().parent
# bench/ must not shadow packages (bench/incremental.py vs Twisted's `incremental`): the repository root instead
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

if __name__ == "__main__":
    if sys.argv[1] == "-m":
        module = sys.argv[2]
        sys.argv = [module, *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    else:
        script = sys.argv[1]
        sys.argv = sys.argv[1:]
        runpy.run_path(script, run_name="__main__")
