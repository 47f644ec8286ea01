"""History: does a database holding years of articles slow the nightly work? Empty vs filled, SQLite and PostgreSQL.

    .venv/bin/python bench/history.py [--articles 250000] [--weeks 80] [--pages 2000] [--db sqlite,postgresql]
                                      [--repeat 20] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

For each database kind: fills a fresh database with `--articles` stored articles spread over the `--weeks` digest
weeks before 2025-08-30 (varied stories from bench/_replaygen.py's words and templates, 6 % reprints of an earlier
story, a gzipped raw page per article, MinHash bands, one crawl run per night with per-source counts and a few
failures, one published issue a week); then

- crawls the same `--pages` generated pages (bench/_replaygen.py, the week ending 2025-09-05) into an empty
  database and into the filled one, and prints both rates and their ratio;
- times what the analyst and the operator run, in process and `--repeat` times each (p50, p95): the week's
  candidates (`digest candidates`), the review page's week view (GET /week/FRIDAY through the Flask app),
  `hiwatch status` and `hiwatch runs --last 5`, for a filled history week and the crawled week (and, for the
  history week, the week view with every card rendered: `?n=all`);
- prints the bytes on disk per stored article (raw page included) and what the near-duplicate lookup touches
  per new article (band rows read, candidates compared).

An article is general news (its own text of general words; 88 %) or a health story: two or three shared
paragraphs (openers, closers and template sentences from a pool, as news repeats them) and its own text of the
generator's health words. Its MinHash signature is the
element-wise minimum of its parts' signatures (MinHash of a union of shingle sets): the shared paragraphs' real
signatures, and for its own text the minimum of as many random 32-bit hashes as it has shingles, drawn in one
step (the minimum of M uniform values is 2³² · (1 − U^(1/M))). 250,000 signatures cost seconds instead of the
half hour of hashing every text, with the band collisions of shared paragraphs kept. The database is a scratch SQLite file or a
scratch PostgreSQL database, dropped at the end.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _replaygen import PEOPLE, PLACES, SUBJECTS, WEEK, _chrome, _fill, _free_sentence, generate  # noqa: E402
from _replaygen import ACTIONS, CLOSERS, MIDDLES, OPENERS, WORDS  # noqa: E402
from throughput import PYTHON, measure  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from crawler.analyse.minhash import band_keys, content_hash, signature  # noqa: E402
from crawler.analyse.relevance import default_lexicon, score, stored  # noqa: E402
from crawler.db import connect  # noqa: E402
from crawler.db.models import (Article, Digest, DigestItem, FetchFailure, MinhashBand, RawPage, Run,  # noqa: E402
                               RunSource)

LAST_HISTORY_DAY = date(2025, 8, 29)  # the Friday before the crawled week
SITES = [("people", "人民网"), ("xinhua", "新华网"), ("gmw", "光明网"), ("bjd", "京报网"), ("cnr", "央广网")]
UTC = timezone.utc
CHUNK = 2000


# ------------------------------------------------------------------------------------------------ the history


# Most of what the nightly crawl stores from provincial home pages is not the digest's topic: general news words.
GENERAL = ("经济 城市 交通 地铁 高速 铁路 机场 港口 物流 消费 市场 商场 价格 粮食 农业 农村 种植 养殖 丰收 旅游 景区 文化 博物馆 "
           "演出 电影 图书 体育 比赛 运动员 冠军 马拉松 学校 学生 教师 高考 招生 就业 企业 工厂 制造 项目 投资 开工 签约 产业园 "
           "招商 出口 外贸 税收 财政 金融 银行 贷款 保险 股市 房地产 住房 社区 街道 志愿者 环境 生态 河湖 空气 绿化 垃圾 分类 "
           "节能 电力 天然气 气象 降雨 高温 台风 防汛 抗旱 安全 生产 消防 应急 演练 法院 检察 公安 交警 治安 立法 会议 代表 委员 "
           "调研 座谈 部署 督查 考核 人才 科研 创新 专利 高校 院士 实验室 航天 卫星 海洋 渔业 森林 草原 湿地 候鸟 文物 考古 非遗 "
           "节日 庆典 展会 论坛 峰会 合作 交流 友好 城市群 乡村振兴 脱贫 民生 养老金 社保 工资 就业岗位 创业 电商 直播 快递").split()
HEALTH_SHARE = 0.12  # the share of stored articles on the digest's topic


class Pool:
    """Paragraphs and their MinHash signatures: an article is a few of them, its signature their minimum."""

    def __init__(self, rng: random.Random, size: int):
        self.paragraphs: list[str] = []
        for _ in range(size):
            place, subject = rng.choice(PLACES), rng.choice(SUBJECTS)
            kind = rng.random()
            if kind < 0.08:
                self.paragraphs.append(_fill(rng.choice(OPENERS), rng, place, subject))
            elif kind < 0.12:
                self.paragraphs.append(_fill(rng.choice(CLOSERS), rng, place, subject))
            else:
                sentences = [_free_sentence(rng, place, subject) for _ in range(rng.randint(1, 2))]
                sentences.insert(rng.randint(0, len(sentences)), _fill(rng.choice(MIDDLES), rng, place, subject))
                self.paragraphs.append("".join(sentences))
        self.shared = set(self.paragraphs)
        self.signatures = np.stack([np.frombuffer(signature("", p), dtype="<u4") for p in self.paragraphs])

    def article(self, rng: random.Random, nprng: np.random.Generator) -> tuple[list[str], bytes]:
        """A health story (shared template paragraphs and its own text) or, mostly, general news."""
        health = rng.random() < HEALTH_SHARE
        picked = rng.sample(range(len(self.paragraphs)), rng.randint(2, 3)) if health else []
        words = WORDS if health else GENERAL
        own = ["".join(rng.choices(words, k=rng.randint(20, 60))) + "。" for _ in range(rng.randint(6, 18))]
        shingles = sum(len(p) for p in own)
        unique = (2.0 ** 32 * (1.0 - nprng.random(self.signatures.shape[1]) ** (1.0 / shingles))).astype("<u4")
        paragraphs = [*(self.paragraphs[i] for i in picked[:1]), *own, *(self.paragraphs[i] for i in picked[1:])]
        return paragraphs, np.minimum.reduce([*self.signatures[picked], unique]).astype("<u4").tobytes()


def _page(chrome: tuple[str, str, str, str], title: str, paragraphs: list[str]) -> bytes:
    nav, side, css, script = chrome
    body = "\n".join(f"<p>　　{p}</p>" for p in paragraphs)
    return (f'<html><head><meta charset="utf-8"><title>{title}</title><style>{css}</style></head><body>{nav}'
            f'<div class="rm_txt"><h1>{title}</h1><div class="rm_txt_con">{body}</div></div>{side}'
            f"<script>{script}</script></body></html>").encode("utf-8")


def fill(url: str, articles: int, weeks: int, seed: int = 80) -> dict:
    """Write the history into the (migrated, empty) database at `url`; returns what was written."""
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    lexicon = default_lexicon()  # scored as the crawl scores, with the shipped lexicon
    started = time.perf_counter()
    pool = Pool(rng, max(2000, articles // 20))
    chromes = [_chrome(rng) for _ in range(50)]
    first_day = LAST_HISTORY_DAY - timedelta(weeks=weeks) + timedelta(days=1)
    days = [first_day + timedelta(days=i) for i in range(weeks * 7)]
    engine = create_engine(url)
    run_of_day: dict[date, int] = {}
    with engine.begin() as conn:  # one crawl a night (02:30 Shanghai), its counts and a few failures
        for n, day in enumerate(days, 1):
            start = datetime(day.year, day.month, day.day, 18, 30, tzinfo=UTC)
            run_of_day[day] = n
            conn.execute(insert(Run), [{"id": n, "kind": "crawl", "started_at": start,
                                        "finished_at": start + timedelta(minutes=40),
                                        "status": "ok" if n % 9 else "partial", "window_start": start - timedelta(days=7),
                                        "window_end": start, "sources": [s for s, _ in SITES], "host": "bench",
                                        "pid": 1, "args": {}, "message": None}])
        conn.execute(insert(RunSource), [{"run_id": n, "source": site, "discovery_pages": 30, "links_found": 400,
                                          "fetched": 60, "stored": 55, "skipped_window": 200, "skipped_seen": 140,
                                          "blocked": 0, "errors": n % 3} for n in run_of_day.values()
                                         for site, _ in SITES])
        conn.execute(insert(FetchFailure), [{"run_id": n, "source": "people", "url": f"http://x.people.com.cn/{n}",
                                             "kind": "error", "reason": "HTTP 503", "http_status": 503,
                                             "at": datetime(2025, 1, 1, tzinfo=UTC)}
                                            for n in run_of_day.values() if n % 3])
    stories: list[tuple[int, list[str], bytes, str]] = []  # id, paragraphs, signature, hash: for reprints
    article_id, written = 0, 0
    bands_rows = 0
    raw_bytes = 0
    per_week: dict[date, list[int]] = {}
    while written < articles:
        rows, pages, bands = [], [], []
        for _ in range(min(CHUNK, articles - written)):
            article_id += 1
            written += 1
            day = days[min(len(days) - 1, int(len(days) * written / articles))]
            moment = datetime(day.year, day.month, day.day, rng.randint(0, 15), rng.randint(0, 59), tzinfo=UTC)
            site, label = rng.choice(SITES)
            place = rng.choice(PLACES)
            if stories and rng.random() < 0.06:  # a reprint of a story of the last few days
                original, paragraphs, sig, text_hash = rng.choice(stories[-300:])
                cluster = original
            else:
                paragraphs, sig = pool.article(rng, nprng)
                text_hash = content_hash("", "\n".join(paragraphs))
                cluster = article_id
                stories.append((article_id, paragraphs, sig, text_hash))
                if len(stories) > 2000:
                    del stories[:1000]
            body = "\n".join(paragraphs)
            topic = rng.choice(SUBJECTS) if paragraphs[0] in pool.shared else "".join(rng.sample(GENERAL, 2))
            title = f"{place}{topic}{rng.choice(ACTIONS)}（{article_id}）"
            rows.append({"id": article_id, "url": f"http://{site}.example.cn/n1/{day:%Y/%m%d}/c{article_id}.html",
                         "site": site, "source_name": label, "original_source": label, "title": title,
                         "subtitle": None, "body": body, "author": rng.choice(PEOPLE), "editor": rng.choice(PEOPLE),
                         "published_at": moment, "date_source": "rule", "date_precision": "minute", "url_date": day,
                         "extractor": "builtin", "content_hash": text_hash, "minhash": sig, "cluster_id": cluster,
                         **stored(score(title, body, lexicon), lexicon),
                         "status": "ok", "excluded_reason": None, "origin": "crawl",
                         "first_run_id": run_of_day[day], "fetched_at": moment, "updated_at": moment})
            html_gz = gzip.compress(_page(rng.choice(chromes), title, paragraphs), 3)
            raw_bytes += len(html_gz)
            pages.append({"article_id": article_id, "page_no": 1, "url": rows[-1]["url"], "http_status": 200,
                          "headers": {"Content-Type": "text/html"}, "encoding": "utf-8", "html_gz": html_gz,
                          "size": len(html_gz) * 4, "fetched_at": moment})
            bands.extend({"article_id": article_id, "band_key": key} for key in band_keys(sig))
            friday = day + timedelta(days=(4 - day.weekday()) % 7)
            per_week.setdefault(friday, []).append(article_id)
        with engine.begin() as conn:
            conn.execute(insert(Article), rows)
            conn.execute(insert(RawPage), pages)
            conn.execute(insert(MinhashBand), bands)
        bands_rows += len(bands)
    with engine.begin() as conn:  # one published issue a week, three stories each
        for number, (friday, ids) in enumerate(sorted(per_week.items()), 500):
            digest_id = conn.execute(insert(Digest).values(
                number=number, friday=friday, window_start=friday - timedelta(days=6), window_end=friday,
                organisation="bench", status="published", built_at=datetime.now(UTC),
                created_at=datetime.now(UTC)).returning(Digest.id)).scalar_one()
            conn.execute(insert(DigestItem), [{"digest_id": digest_id, "article_id": a, "position": p, "title": "t",
                                               "kicker": None, "source_name": "人民网", "url": "u",
                                               "published_on": friday, "body": "b", "also_reported_by": []}
                                              for p, a in enumerate(rng.sample(ids, 3), 1)])
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("articles", "runs", "raw_pages", "minhash_bands", "run_sources", "fetch_failures"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"articles": articles, "weeks": weeks, "band_rows": bands_rows, "raw_gz_bytes": raw_bytes,
            "seconds": time.perf_counter() - started}


# ------------------------------------------------------------------------------------------------ measuring


def crawl(url: str, replay: Path, sources: Path) -> tuple[float, int, float]:
    """(pages/s, articles stored, wall s) of one `hiwatch crawl` of the generated week into `url`."""
    engine = create_engine(url)
    with engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(Article))
    usage = measure([PYTHON, "-m", "crawler.cli", "crawl", "--replay", str(replay), "--no-polite", "--week", WEEK,
                     "--db", url, "--sources", str(sources)], {**os.environ, "HIWATCH_SOURCES": str(sources)})
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Article)) - before
    engine.dispose()
    if usage.returncode not in (0,):
        print(usage.stderr[-2000:], file=sys.stderr)
    return stored / usage.wall, stored, usage.wall


def timings(url: str, sources_path: Path, fridays: list[str], repeat: int) -> dict[str, tuple]:
    """name → (wall p50, p95, CPU p50, p95 in ms, load average after) of the analyst's and operator's reads, in
    process."""
    from crawler.config import load_sources
    from crawler.digest.candidates import candidates
    from crawler.run.report import runs_data, status_data
    from crawler.web import create_app
    from crawler.window import Window

    database = connect(url)
    sources = load_sources(sources_path)
    client = create_app(url, testing=True).test_client()
    jobs = {"runs --last 5": lambda: runs_data(database, 5), "status": lambda: status_data(database, sources)}
    for friday in fridays:
        def candidates_of(friday=friday):
            with database.session() as session:
                return candidates(session, Window.resolve(friday, None, None))

        def week_view(friday=friday):
            response = client.get(f"/week/{friday}")
            assert response.status_code == 200, response.status_code
        def every_card(friday=friday):
            response = client.get(f"/week/{friday}?n=all")
            assert response.status_code == 200, response.status_code
        jobs[f"digest candidates {friday}"] = candidates_of
        jobs[f"review week view {friday}"] = week_view
        if friday == fridays[0]:  # the page renders the best 100 cards; every one on demand (?n=all)
            jobs[f"week view, every card {friday}"] = every_card
    out = {}
    for name, job in jobs.items():
        job()  # warm: the first call loads the lexicon and compiles templates
        walls, cpus = [], []
        for _ in range(repeat):
            started, cpu = time.perf_counter(), time.process_time()
            job()
            walls.append((time.perf_counter() - started) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        out[name] = (*_p50_p95(walls), *_p50_p95(cpus), os.getloadavg()[0])
    database.dispose()
    return out


def _p50_p95(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(round(0.95 * len(samples))) - 1)]


def print_times(kind: str, times: dict) -> None:
    """Wall p50/p95 and this process's CPU p50/p95 (on a loaded machine the wall time is mostly waiting for a
    core: the CPU time is what the read itself costs; with SQLite it includes the database's work, with
    PostgreSQL not the server's)."""
    for name, (p50, p95, cpu50, cpu95, load) in times.items():
        print(f"[{kind}] {name:38} wall p50 {p50:7.1f} p95 {p95:7.1f} ms | CPU p50 {cpu50:7.1f} p95 {cpu95:7.1f} ms"
              f" | {'ok' if p95 < 300 else 'OVER 300 ms'} by wall, {'ok' if cpu95 < 300 else 'OVER 300 ms'} by CPU"
              f" | load {load:.1f}")


def forget_crawls(url: str, articles: int) -> None:
    """Delete what crawls stored into a filled database (articles past the fill's `articles` ids, their pages and
    bands, the list pages' validators), so that the next crawl stores the week again."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in ("DELETE FROM minhash_bands WHERE article_id > :n", "DELETE FROM raw_pages WHERE article_id > :n",
                          "DELETE FROM articles WHERE id > :n", "DELETE FROM discovery_pages"):
            conn.execute(text(statement), {"n": articles})
    engine.dispose()


def disk_bytes(url: str, path: Path | None) -> int:
    if path is not None:
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    engine = create_engine(url)
    with engine.connect() as conn:
        size = conn.scalar(text("SELECT pg_database_size(current_database())"))
    engine.dispose()
    return int(size)


def lookup_cost(url: str, since: datetime) -> tuple[float, float]:
    """Per article stored since `since`: band rows sharing one of its keys (what the lookup reads), and of those
    the articles within ±7 days (what it compares)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        new = conn.execute(select(Article.id, Article.minhash, Article.published_at)
                           .where(Article.fetched_at >= since)).all()
        read = compared = 0
        for article_id, sig, published in new[:300]:
            keys = band_keys(sig)
            rows = conn.execute(select(MinhashBand.article_id).where(MinhashBand.band_key.in_(keys),
                                                                     MinhashBand.article_id != article_id)).all()
            read += len(rows)
            ids = {r[0] for r in rows}
            if ids and published is not None:
                lo, hi = published - timedelta(days=7), published + timedelta(days=7)
                compared += conn.scalar(select(func.count()).select_from(Article).where(
                    Article.id.in_(ids), Article.published_at.between(lo, hi)))
        n = max(1, min(300, len(new)))
    engine.dispose()
    return read / n, compared / n


# ------------------------------------------------------------------------------------------------ the run


class Scratch:
    """A scratch database of one kind: a SQLite file in `work`, or a PostgreSQL database dropped at the end."""

    def __init__(self, kind: str, work: Path, admin_url: str, name: str):
        self.kind, self.admin_url, self.path = kind, admin_url, None
        if kind == "sqlite":
            self.path = work / f"{name}.sqlite3"
            self.url = f"sqlite:///{self.path}"
        else:
            self.name = f"hiwatch_bench_{name}_{uuid.uuid4().hex[:6]}"
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            admin.dispose()
            self.url = admin_url.rsplit("/", 1)[0] + "/" + self.name
        connect(self.url).dispose()  # migrated, empty

    def drop(self) -> None:
        if self.kind == "postgresql":
            admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}'"))
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}"'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=250_000)
    parser.add_argument("--weeks", type=int, default=80)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pg", default=os.environ.get("HIWATCH_TEST_PG",
                                                      "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the filled database (print its URL) for later --reuse runs")
    parser.add_argument("--crawls", type=int, default=0, metavar="N",
                        help="with --reuse: N interleaved pairs of crawls, a fresh empty database and the filled "
                             "one (its articles past --articles, i.e. an earlier crawl's, deleted first), their "
                             "ratios and median")
    parser.add_argument("--reuse", metavar="URL",
                        help="time the reads of an already filled database (a --keep run's; one --db kind) "
                             "instead of filling one: no crawl, nothing dropped")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hiwatch-history-"))
    _truths, sources = generate(work / "replay", args.pages)
    history_friday = f"{LAST_HISTORY_DAY:%Y-%m-%d}"
    figures: dict = {"machine": f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", "args": vars(args) | {"json": None}}
    print(f"history benchmark: {args.articles} articles over {args.weeks} weeks, crawl of {args.pages} new pages; "
          f"load average {os.getloadavg()}")
    if args.reuse:
        kind = "postgresql" if args.reuse.startswith("postgresql") else "sqlite"
        connect(args.reuse).dispose()  # brought to the current schema (a new migration's indexes included)
        path = Path(args.reuse.split("///", 1)[1]) if kind == "sqlite" else None
        with connect(args.reuse).session() as session:
            count = session.scalar(select(func.count()).select_from(Article))
        print(f"[{kind}] reused {args.reuse}: {count} articles, "
              f"{disk_bytes(args.reuse, path) / count:.0f} bytes on disk per article")
        times = timings(args.reuse, sources, [history_friday, WEEK], args.repeat)
        print_times(kind, times)
        figures[kind] = {"reused": args.reuse, "timings_ms": times}
        ratios = []
        for n in range(args.crawls):
            forget_crawls(args.reuse, args.articles)
            empty = Scratch(kind, work, args.pg, f"empty{n}")
            try:
                order = [("empty", empty.url), ("filled", args.reuse)]
                rates = {}
                for name, url in (order if n % 2 == 0 else order[::-1]):  # alternate which goes first
                    load = os.getloadavg()[0]
                    rates[name], stored, wall = crawl(url, work / "replay", sources)
                    print(f"[{kind}] crawl {n + 1} into the {name} database: {rates[name]:.1f} pages/s "
                          f"({stored} stored, {wall:.1f} s, load {load:.1f} before)")
                ratios.append(rates["filled"] / rates["empty"])
                print(f"[{kind}] crawl {n + 1}: filled / empty = {ratios[-1]:.0%}")
            finally:
                empty.drop()
        if ratios:
            print(f"[{kind}] crawl ratios {', '.join(f'{r:.0%}' for r in ratios)}: median "
                  f"{statistics.median(ratios):.0%} (goal ≥ 90 %)")
            figures[kind]["crawl_ratios"] = ratios
    for kind in ([] if args.reuse else args.db.split(",")):
        empty, filled = Scratch(kind, work, args.pg, "empty"), Scratch(kind, work, args.pg, "filled")
        try:
            written = fill(filled.url, args.articles, args.weeks)
            filled_bytes = disk_bytes(filled.url, filled.path)
            print(f"\n[{kind}] filled in {written['seconds']:.0f} s: {written['articles']} articles, "
                  f"{written['band_rows']} band rows, raw pages {written['raw_gz_bytes'] / written['articles'] / 1024:.1f} KB "
                  f"gzipped each; {filled_bytes / written['articles']:.0f} bytes on disk per article")
            since = datetime.now(UTC)
            rate_empty, stored_empty, wall_empty = crawl(empty.url, work / "replay", sources)
            rate_filled, stored_filled, wall_filled = crawl(filled.url, work / "replay", sources)
            print(f"[{kind}] crawl of {args.pages} pages: empty {rate_empty:.1f} pages/s ({stored_empty} stored, "
                  f"{wall_empty:.1f} s), filled {rate_filled:.1f} pages/s ({stored_filled} stored, {wall_filled:.1f} s): "
                  f"{rate_filled / rate_empty:.0%} of the empty database's rate (goal ≥ 90 %)")
            read, compared = lookup_cost(filled.url, since)
            print(f"[{kind}] near-duplicate lookup per new article: {read:.1f} band rows read, {compared:.1f} "
                  f"stored articles within ±7 days compared")
            times = timings(filled.url, sources, [history_friday, WEEK], args.repeat)
            print_times(kind, times)
            figures[kind] = {"fill": written, "bytes_per_article": filled_bytes / written["articles"],
                             "crawl_empty": rate_empty, "crawl_filled": rate_filled,
                             "crawl_ratio": rate_filled / rate_empty, "lookup_rows_read": read,
                             "lookup_compared": compared, "timings_ms": times}
        finally:
            empty.drop()
            if args.keep:
                print(f"[{kind}] kept the filled database: {filled.url} (--reuse it; drop it when done)")
            else:
                filled.drop()
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    print(f"\nwork files in {work} (delete when done)")


if __name__ == "__main__":
    main()
