"""Scrapy's lines about items name the URL and the reason, never the item's content (issue 14, item 9)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CRAWL = textwrap.dedent('''
    import sys
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.exceptions import DropItem
    from scrapy.settings import Settings

    BODY = "正文" * 200_000  # the extracted body, raw pages and signature bytes of a real item are this big

    class Huge(scrapy.Spider):
        name = "huge"
        start_urls = ["data:text/html,<p>x</p>"]

        def parse(self, response):
            for n in range(3):
                yield {"url": f"http://health.people.com.cn/n1/2025/0901/c14739-{n}.html", "body": BODY,
                       "raw": b"\\x1f\\x8b" + bytes(range(256)) * 2000, "minhash": bytes(512)}

    class Failing:
        def process_item(self, item):
            if item["url"].endswith("-0.html"):
                raise DropItem(f"{item['url']}: database error")
            if item["url"].endswith("-1.html"):
                raise DropItem("no publish date " + repr(item))  # a careless message that embeds the item
            raise RuntimeError("boom")

    settings = Settings()
    settings.setmodule("crawler.settings")
    settings.set("ITEM_PIPELINES", {"__main__.Failing": 100})
    settings.set("EXTENSIONS", {})
    settings.set("SPIDER_MIDDLEWARES", {})
    settings.set("DOWNLOADER_MIDDLEWARES", {})
    settings.set("ROBOTSTXT_OBEY", False)
    settings.set("LOG_LEVEL", "DEBUG")
    settings.set("LOG_FILE", sys.argv[1])
    process = CrawlerProcess(settings, install_root_handler=True)
    process.crawl(Huge)
    process.start()
''')


def test_a_dropped_huge_item_logs_one_short_line(tmp_path):
    log = tmp_path / "crawl.log"
    script = tmp_path / "crawl.py"
    script.write_text(CRAWL, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), str(log)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    text = log.read_text(encoding="utf-8")
    lines = text.splitlines()
    dropped = [line for line in lines if "Dropped" in line]
    assert len(dropped) == 2, dropped
    assert "c14739-0.html: database error" in dropped[0] and len(dropped[0]) < 400, dropped[0][:500]
    assert "c14739-1.html" in dropped[1] and len(dropped[1]) < 600, dropped[1][:700]
    failed = [line for line in lines if "Error processing" in line]
    assert len(failed) == 1 and "c14739-2.html" in failed[0] and len(failed[0]) < 600, failed
    assert "正文正文正文" * 100 not in text  # no body, in no line (tracebacks included)
    assert "\\x1f\\x8b" not in text and "minhash" not in text
    assert len(text) < 20_000, len(text)
