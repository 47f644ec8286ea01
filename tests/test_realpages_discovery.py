"""Discovery on the real home pages of ../shared/realpages: each is served at its own URL and crawled with the
shipped site record (its patterns and exclusions, discovery replaced by that one page), the window set to the
day the page shows. Every article link of the site dated that day is requested; navigation, channel fronts,
video, photo, English and other-language links, and links of other days are not."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from crawler.config import load_sources
from crawler.extract.decode import decode
from crawler.run.replay import replay_key
from crawler.urls import links_in, matches, url_date
from replaykit import requested, run_cli

# page file → (the day it shows, article links of that day the crawl must request: pinned)
PAGES = {
    "people/jcms__homepage_people.com.cn.html": ("2018-03-17", 71),
    "xinhua/jcms__homepage_news.cn.html": ("2018-03-19", 102),
    "xinhua/jcms__homepage_xinhuanet.com.html": ("2018-03-17", 56),
    "xinhua/idx__homepage_hq.xinhuanet.html": ("2015-10-28", 25),
    "xinhua/cmw__listing.html": ("2026-09-16", 11),
    "cnr/jcms__homepage_cnr.cn.html": ("2018-03-19", 94),
    "gmw/jcms__homepage_gmw.cn.html": ("2018-03-18", 6),
}
NEVER = re.compile(r"//(?:tv|v|pic|photo|en|english|arabic|jp|kr|french|russian|german|spanish|uyghur|mn)\.|"
                   r"/(?:video|photo|picture|pictures|photos|english)/")


def record_for(site: str, url: str, folder: Path) -> Path:
    """The shipped record of `site`, its discovery replaced by the one real page, as a sources file."""
    source = load_sources().get(site)
    data = source.model_dump(mode="json", exclude={"discovery"}, exclude_none=True)
    data["discovery"] = [{"type": "list", "urls": [url]}]
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [data]}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("file", sorted(PAGES))
def test_real_page_requests_the_days_articles_and_nothing_else(file: str, manifest, realpages, tmp_path) -> None:
    entry = next(m for m in manifest if m["file"] == file)
    day, pinned = PAGES[file]
    url = entry["url"]
    site = load_sources().source_for_url(url)
    replay = tmp_path / "replay"
    replay.mkdir()
    (replay / "MANIFEST.jsonl").write_text(json.dumps({
        "url": url, "file": str(realpages / file), "headers": {"Content-Type": "text/html"}}) + "\n",
        encoding="utf-8")
    sources = record_for(site.name, url, tmp_path)
    log = tmp_path / "requests.jsonl"
    result = run_cli("crawl", "--replay", str(replay), "--replay-log", str(log), "--since", day, "--until", day,
                     "--db", f"sqlite:///{tmp_path}/db.sqlite3", "--sources", str(sources))
    assert result.returncode in (0, 1), result.stderr[-3000:]  # the articles themselves are not in the set
    asked = {replay_key(u) for u in requested(log)} - {replay_key(url)}
    asked = {key for key in asked if not key.endswith("/robots.txt")}

    page_links = links_in(decode((realpages / file).read_bytes(), "text/html")[0], url)
    patterns = site.compiled_patterns()
    articles = {link for link in page_links if matches(link, patterns) and site.owns(urlsplit(link).hostname or "")}
    wanted = {link for link in articles if not site.excluded(link) and str(url_date(link, patterns)) == day}
    assert len(wanted) == pinned
    assert asked == {replay_key(link) for link in wanted}
    # what is left out: other days, the excluded kinds, and every link that is no article of the site
    left_out = {replay_key(link) for link in page_links} - asked
    assert not [key for key in asked if NEVER.search("//" + key)], "a video/photo/English page was requested"
    excluded = [link for link in articles if site.excluded(link)]
    assert all(replay_key(link) in left_out for link in excluded)
    assert any(str(url_date(link, patterns)) != day for link in articles)  # the page holds other days too
    others = set(page_links) - articles  # navigation, channel fronts, scripts, other sites
    assert len(others) > 50 and all(replay_key(link) in left_out for link in others if replay_key(link) != replay_key(url))
