"""The `hiwatch` command line: a thin layer, each command calling one function of the core."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from crawler import __version__
from crawler.config import SourcesError, load_sources, sources_path

EXIT_CONFIG = 2
EXIT_DATABASE = 3
EXIT_LOCKED = 4


def _fail(message: str, code: int) -> None:
    click.secho(f"hiwatch: {message}", fg="red", err=True)
    sys.exit(code)


def _sources(path: str | None, sites: tuple[str, ...] = (), consequence: str = "nothing done"):
    """The validated sources file; exit 2 if it is wrong or names in `sites` are not in it."""
    try:
        loaded = load_sources(path)
    except SourcesError as exc:
        _fail(f"invalid sources file{', ' + consequence if consequence else ''}:\n{exc}", EXIT_CONFIG)
    for name in sites:
        try:
            loaded.get(name)
        except KeyError as exc:
            _fail(str(exc.args[0]), EXIT_CONFIG)
    return loaded


def _database(url: str | None, create: bool = False):
    """The migrated database; exit 2 on a wrong URL, 3 when it cannot be reached or (create=False: commands that
    only read) an SQLite file does not exist. Only commands that write pass create=True."""
    from crawler.db import DatabaseError, DatabaseURLError, connect  # not at the top: the workers import this module

    try:
        return connect(url, create=create)
    except DatabaseURLError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except DatabaseError as exc:
        _fail(str(exc), EXIT_DATABASE)


def _window(week, since, until, crawl: bool):
    from crawler.window import Window

    try:
        return Window.resolve(week, since, until, crawl=crawl)
    except ValueError as exc:
        _fail(str(exc), EXIT_CONFIG)


db_option = click.option("--db", "db_url", metavar="URL", envvar="HIWATCH_DATABASE_URL",
                         help="SQLAlchemy URL (default: sqlite:///var/hiwatch.sqlite3; env HIWATCH_DATABASE_URL).")
sources_option = click.option("--sources", "sources_file", metavar="FILE", envvar="HIWATCH_SOURCES",
                              help="sources.yaml to use (default: config/sources.yaml).")


redis_option = click.option("--redis", "redis_url", metavar="URL", envvar="HIWATCH_REDIS_URL",
                            help="Redis URL of the shared queue (env HIWATCH_REDIS_URL).")
namespace_option = click.option("--redis-namespace", "namespace", default="hiwatch", show_default=True,
                                help="Prefix of every Redis key (one per hiwatch installation).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hiwatch")
def main() -> None:
    """hiwatch: crawl the week's health-informatization news and assemble the weekly digest."""
    if os.environ.get("HIWATCH_STRICT_WARNINGS"):  # tests: our use of a deprecated Scrapy/Python API is an error
        import warnings

        from scrapy.exceptions import ScrapyDeprecationWarning

        warnings.simplefilter("error", ScrapyDeprecationWarning)
        # a DeprecationWarning raised at a line of ours; one library raises about another's call (w3lib 2.6 about
        # Scrapy's html_to_unicode arguments) is theirs to fix and must not fail our requests
        warnings.filterwarnings("error", category=DeprecationWarning, module=r"(crawler|spiders|pipelines)(\.|$)")


@main.command()
@click.option("--site", "sites", multiple=True, metavar="NAME", help="Crawl only this site (repeatable).")
@click.option("--week", metavar="FRIDAY", help="The digest week ending on this Friday (YYYY-MM-DD).")
@click.option("--since", metavar="DATE", help="First day of the window (Asia/Shanghai).")
@click.option("--until", metavar="DATE", help="Last day of the window (Asia/Shanghai).")
@click.option("--replay", "replay_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Serve this replay directory on 127.0.0.1 and crawl it instead of the live sites (repeatable).")
@click.option("--replay-log", metavar="FILE", help="Append every request the replay server answers to FILE.")
@click.option("--refresh", is_flag=True, help="Fetch articles again even when already stored.")
@click.option("--polite/--no-polite", default=None, help="Politeness delays (default: on live, off for replays).")
@click.option("-v", "--verbose", count=True, help="-v: Scrapy INFO logs, -vv: DEBUG.")
@click.option("--log-file", metavar="FILE", help="Write Scrapy's log to FILE.")
@click.option("--set", "scrapy_set", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting (repeatable), e.g. --set DOWNLOAD_TIMEOUT=5.")
@click.option("--distributed", is_flag=True, help="Seed a shared Redis queue and wait for `hiwatch worker`s.")
@click.option("--plan", "plan_only", is_flag=True,
              help="Print every discovery URL the crawl would request, per site and host, with the politeness and "
                   "the estimated time; fetch nothing.")
@click.option("--record", "record_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Write every response received (with status and headers) to DIR as a replay set for --replay "
                   "(implies --refresh: list pages are fetched in full and stored articles again).")
@redis_option
@namespace_option
@db_option
@sources_option
def crawl(sites, week, since, until, replay_dirs, replay_log, refresh, polite, verbose, log_file, scrapy_set,
          distributed, plan_only, record_dir, redis_url, namespace, db_url, sources_file) -> None:
    """Crawl the sites for the window and store the articles.

    The default window is the latest Saturday–Friday digest week plus the days since.
    Exits 1 when the run failed or a site found no article link at all.
    """
    from crawler.run.crawl import run_crawl
    from crawler.run.report import print_crawl_summary

    sources = _sources(sources_file, sites, "nothing crawled")
    window = _window(week, since, until, crawl=True)
    if plan_only:
        _print_plan(sources, window, sites)
        return
    extra = {}
    for pair in scrapy_set:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            _fail(f"--set takes NAME=VALUE, got {pair!r}", EXIT_CONFIG)
        extra[name.strip()] = value
    if record_dir:
        if distributed:
            _fail("--record works on a crawl in this process, not with --distributed", EXIT_CONFIG)
        extra.update(_record_settings(record_dir))
        refresh = True  # every page in full: no 304s and no skipped stored articles, so the set stands alone
    database = _database(db_url, create=True)
    level = {0: "WARNING", 1: "INFO"}.get(verbose, "DEBUG")
    click.echo(f"hiwatch: crawling {', '.join(sites) or 'all enabled sites'} for {window} into {database.url}"
               + (f" (replay of {', '.join(replay_dirs)})" if replay_dirs else ""), err=True)
    from crawler.db.lock import LockHeld

    try:
        if distributed:
            from crawler.run.scaleout import run_coordinator

            if not redis_url:
                _fail("--distributed needs --redis URL (or HIWATCH_REDIS_URL)", EXIT_CONFIG)
            result = run_coordinator(database, sources, window, redis_url, namespace, list(sites) or None,
                                     list(replay_dirs), replay_log, polite, sources_file, extra)
        else:
            result = run_crawl(database, sources, window, list(sites) or None, list(replay_dirs), replay_log,
                               polite, refresh, sources_file, level, log_file, extra)
    except LockHeld as exc:
        _fail(f"{exc}; not starting a second crawl", EXIT_LOCKED)
    except ConnectionError as exc:
        _fail(str(exc), EXIT_DATABASE)
    print_crawl_summary(database, result)
    if record_dir:
        click.echo(f"recorded every response into {record_dir} (replay it with --replay {record_dir})", err=True)
    if result.status in ("failed", "interrupted") or result.silent_sources:
        sys.exit(1)


def _print_plan(sources, window, sites, articles_per_page: int | None = None) -> None:
    from crawler.run.plan import ARTICLES_PER_PAGE, build_plan, format_plan

    click.echo(format_plan(build_plan(sources, window, list(sites) or None), window,
                           articles_per_page if articles_per_page is not None else ARTICLES_PER_PAGE))


def _record_settings(record_dir: str) -> dict:
    """Scrapy settings that add the recording downloader middleware (crawler/run/record.py) for DIR."""
    from crawler.run.record import record_settings

    try:
        return record_settings(record_dir)
    except OSError as exc:
        _fail(f"--record {record_dir}: {exc}", EXIT_CONFIG)


@main.command()
@redis_option
@namespace_option
@click.option("--once", is_flag=True, help="Work on one run, then exit (default: keep waiting for runs).")
@click.option("--wait", "wait_seconds", default=600.0, show_default=True, help="Seconds to wait for a run to start.")
@click.option("-v", "--verbose", count=True, help="-v: Scrapy INFO logs, -vv: DEBUG.")
@db_option
@sources_option
def worker(redis_url, namespace, once, wait_seconds, verbose, db_url, sources_file) -> None:
    """Work on distributed crawls: take requests from the shared Redis queue, store into the shared database.

    Without --once it serves run after run, each in a fresh subprocess (Scrapy's reactor runs once per process).
    """
    from crawler.run.scaleout import run_worker, wait_for_run

    if not redis_url:
        _fail("hiwatch worker needs --redis URL (or HIWATCH_REDIS_URL)", EXIT_CONFIG)
    if not once:
        import subprocess

        args = [sys.executable, "-m", "crawler.cli", "worker", "--once", "--redis", redis_url, "--redis-namespace",
                namespace, "--wait", str(wait_seconds)] + (["--db", db_url] if db_url else []) \
            + (["--sources", sources_file] if sources_file else []) + (["-" + "v" * verbose] if verbose else [])
        while True:
            code = subprocess.run(args, check=False).returncode
            if code not in (0, 5):
                click.echo(f"worker exited {code}; starting again in 10 s", err=True)
                import time

                time.sleep(10)
    try:
        info = wait_for_run(redis_url, namespace, wait_seconds)
    except ConnectionError as exc:
        _fail(str(exc), EXIT_DATABASE)
    if info is None:
        click.echo(f"no run to work on within {wait_seconds:.0f} s", err=True)
        sys.exit(5)
    level = {0: "WARNING", 1: "INFO"}.get(verbose, "DEBUG")
    from crawler.db import DatabaseError, DatabaseURLError

    try:
        counts = run_worker(info, redis_url, namespace, db_url, sources_file, level)
    except DatabaseURLError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except DatabaseError as exc:
        _fail(str(exc), EXIT_DATABASE)
    click.echo(f"worker done with run {info.run_id}: " + "; ".join(
        f"{name}: {c.get('fetched', 0)} fetched, {c.get('stored', 0)} stored" for name, c in sorted(counts.items())))


@main.group()
def sources() -> None:
    """Check and list the configured sites."""


@sources.command("validate")
@click.argument("file", required=False)
def sources_validate(file) -> None:
    """Validate FILE (default config/sources.yaml); exit 2 naming the file, site, field and line."""
    loaded = _sources(file, consequence="")
    click.echo(f"{sources_path(file)}: OK, {len(loaded.sources)} sites ({len(loaded.enabled())} enabled)")


@sources.command("check")
@click.option("--site", "sites", multiple=True, metavar="NAME", help="Check only this site (repeatable).")
@click.option("--week", metavar="FRIDAY", help="Look for articles of this digest week (default: the last 7+ days).")
@click.option("--replay", "replay_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Check against a replay directory instead of the live sites.")
@click.option("--record", "record_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Write every response received to DIR as a replay set (see `hiwatch crawl --record`).")
@db_option
@sources_option
def sources_check(sites, week, replay_dirs, record_dir, db_url, sources_file) -> None:
    """The operator's canary: per site, fetch the discovery pages, count article links, extract one article.

    Exits 1 when a site finds no article link, or its sample article lacks a body or a date.
    """
    from crawler.run.crawl import run_crawl
    from crawler.db.lock import LockHeld

    loaded = _sources(sources_file, sites, "nothing checked")
    window = _window(week, None, None, crawl=True)
    try:
        result = run_crawl(_database(db_url, create=True), loaded, window, list(sites) or None, list(replay_dirs),
                           sources_file=sources_file, check=True, refresh=bool(record_dir),
                           extra_settings=_record_settings(record_dir) if record_dir else None)
    except LockHeld as exc:
        _fail(f"{exc}; try again when it has finished", EXIT_LOCKED)
    healthy = True
    for name, counts in sorted(result.per_source.items()):
        sample = result.samples.get(name)
        problems = []
        if counts["links_found"] == 0:
            problems.append("no article link found")
        elif sample is None:
            reasons = "; ".join(f.reason for f in result.failures.get(name, [])[:2]) or "no article could be fetched"
            problems.append(f"sample article failed: {reasons}")
        else:
            if not sample.body:
                problems.append("sample has no body")
            if sample.published_at is None:
                problems.append("sample has no date")
        healthy = healthy and not problems
        mark = click.style("FAIL", fg="red") if problems else click.style("ok  ", fg="green")
        click.echo(f"{mark} {name:8} {counts['discovery_pages']} discovery pages, {counts['links_found']} article links")
        if sample is not None:
            fields = {"title": sample.title, "date": sample.published_at and sample.published_at.isoformat(),
                      "date_source": sample.date_source, "author": sample.author, "editor": sample.editor,
                      "original_source": sample.original_source}
            present = ", ".join(f"{k}={v!r}" if k in ("title", "date") else k for k, v in fields.items() if v)
            missing = ", ".join(k for k, v in fields.items() if not v)
            click.echo(f"       sample {sample.url}\n       body {len(sample.body)} chars; {present}"
                       + (f"; missing: {missing}" if missing else ""))
        for problem in problems:
            click.echo(f"       {click.style(problem, fg='red')}")
    sys.exit(0 if healthy else 1)


@sources.command("suggest")
@click.argument("list_urls", nargs=-1)
@click.option("--article", metavar="URL", help="An article page to draft `rules` from (default: the first matching link).")
@click.option("--replay", "replay_dir", type=click.Path(exists=True, file_okay=False),
              help="Fetch the pages from a replay directory instead of the live site.")
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Read a saved list page (repeatable; each with its --url).")
@click.option("--url", "file_urls", multiple=True, metavar="URL", help="The address of each --file.")
@click.option("--name", metavar="NAME", help="The record's name (default: from the domain).")
@sources_option
def sources_suggest(list_urls, article, replay_dir, files, file_urls, name, sources_file) -> None:
    """Draft a sources.yaml record from list pages: article patterns from the links' shapes, discovery,
    paging, rules and a label guess. Prints the record (stdout) and what each pattern matched (stderr)."""
    from pathlib import Path

    from crawler.run.fetch import FetchError
    from crawler.run.replay import ReplayServer
    from crawler.suggest import fetcher, report_lines, suggest

    if len(files) != len(file_urls):
        _fail("give one --url for each --file", EXIT_CONFIG)
    if not list_urls and not files:
        _fail("give at least one LIST_URL (or --file FILE --url URL)", EXIT_CONFIG)
    loaded = _sources(sources_file)
    server = ReplayServer([replay_dir]).start() if replay_dir else None
    try:
        fetch = fetcher(loaded.user_agent, server.url if server else None)
        try:
            pages = [(url, Path(file).read_bytes()) for file, url in zip(files, file_urls)]
            pages += [(url, fetch(url)) for url in list_urls]
            sample = (article, fetch(article)) if article else None
        except FetchError as exc:
            _fail(str(exc), 1)
        result = suggest(pages, sample, name, fetch)
    finally:
        if server:
            server.stop()
    click.echo(result.yaml, nl=False)
    if any(s.name == result.record["name"] for s in loaded.sources):
        result.problems.append(f"a site named {result.record['name']!r} exists already: pick another with --name")
    for line in report_lines(result):
        click.echo("# " + line, err=True)
    sys.exit(1 if result.problems else 0)


@sources.command("list")
@click.option("--short", is_flag=True, help="One line per site, without the discovery URLs.")
@sources_option
def sources_list(short, sources_file) -> None:
    """List the sites with their 来源 label, hosts and discovery types, then every discovery URL (`each_host`
    templates expanded)."""
    for source in _sources(sources_file).sources:
        kinds = ",".join(entry.type for entry in source.discovery)
        state = "" if source.enabled else " (disabled)"
        click.echo(f"{source.name:10} {source.label:6} {' '.join(source.hosts):40} {kinds}{state}")
        if short:
            continue
        for entry in source.discovery:
            hosts = getattr(entry, "each_host", [])
            origin = f"  ({' '.join(getattr(entry, 'url_templates', []))} × {len(hosts)} hosts)" if hosts else ""
            urls = list(getattr(entry, "urls", None) or []) + ([entry.from_page] if getattr(entry, "from_page", None) else [])
            urls += list(getattr(entry, "issue_urls", None) or [])
            click.echo(f"    {entry.type}: {len(urls)} URL{'s' if len(urls) != 1 else ''}{origin}")
            for url in urls:
                click.echo(f"      {url}")


@sources.command("plan")
@click.option("--site", "sites", multiple=True, metavar="NAME", help="Only this site (repeatable).")
@click.option("--week", metavar="FRIDAY", help="The digest week ending on this Friday (YYYY-MM-DD).")
@click.option("--articles-per-page", type=int, help="New articles a discovery page yields (estimate; default 8, "
                                                      "a first night on an empty database sees more).")
@sources_option
def sources_plan(sites, week, articles_per_page, sources_file) -> None:
    """The nightly plan without fetching (same as `hiwatch crawl --plan`)."""
    _print_plan(_sources(sources_file, sites), _window(week, None, None, crawl=True), sites, articles_per_page)


@main.command()
@click.argument("file", default="-")
@click.option("--url", required=True, help="The page's URL (selects the site rules, dates by URL).")
@sources_option
def extract(file, url, sources_file) -> None:
    """Extract one saved page (FILE, or - for stdin) and print one JSON object: the crawl's own code path.

    Exits 1 when the page is no article (binary, too large, a block page, no body: the JSON's `blocked` says why),
    2 when FILE cannot be read.
    """
    from crawler.extract import extract as extract_page
    from crawler.extract.sniff import MAX_PAGE_BYTES

    try:
        if file == "-":
            data = sys.stdin.buffer.read(MAX_PAGE_BYTES + 1)
        else:
            with open(file, "rb") as handle:  # never more than the cap plus one byte: a huge file is refused unread
                data = handle.read(MAX_PAGE_BYTES + 1)
    except OSError as exc:
        _fail(f"{file}: cannot read: {exc.strerror or exc}", EXIT_CONFIG)
    loaded = _sources(sources_file)
    source = loaded.source_for_url(url)
    result = extract_page(data, url, source.rules if source else None)
    result.source_name = source.label_for(url) if source else None
    keys = ("title", "body", "published_at", "date_source", "date_precision", "author", "editor",
            "original_source", "source_name", "url", "extractor", "encoding", "blocked")
    payload = {key: value for key, value in result.to_json().items() if key in keys}
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    if result.blocked:
        _fail(f"{file}: not an article page ({result.blocked})", 1)


@main.command()
@click.option("--since", metavar="DATE", help="Only articles published on or after DATE (Asia/Shanghai).")
@click.option("--site", metavar="NAME", help="Only this site.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@db_option
@sources_option
def reextract(since, site, dry_run, db_url, sources_file) -> None:
    """Run extraction again on the stored raw HTML (no network) and report what changed."""
    from crawler.run.reextract import reextract as run_reextract
    from crawler.window import parse_day

    loaded = _sources(sources_file)
    try:
        since_day = parse_day(since) if since else None
    except ValueError as exc:
        _fail(str(exc), EXIT_CONFIG)
    report = run_reextract(_database(db_url), loaded, since_day, site, dry_run)
    verb = "would change" if dry_run else "changed"
    click.echo(f"re-extracted {report.examined} articles: {report.changed} {verb}, {report.unchanged} unchanged, "
               f"{report.failed} kept (new extraction found no body)")
    for name, count in report.fields.most_common():
        click.echo(f"  {name}: {count}")
    for article_id, url, name, old, new in report.examples:
        click.echo(f"  #{article_id} {name}: {old!r} → {new!r}  {url}")


@main.command()
@click.argument("url")
@click.option("--source-name", metavar="NAME", help="The 来源 to print (default: the site's label, else the host).")
@click.option("--replay", "replay_dir", type=click.Path(exists=True, file_okay=False),
              help="Fetch from this replay directory instead of the live site.")
@db_option
@sources_option
def add(url, source_name, replay_dir, db_url, sources_file) -> None:
    """Fetch and store one article an analyst found elsewhere (kept whatever its date)."""
    from crawler.run.add import AddError, add_url
    from crawler.run.replay import ReplayServer

    loaded, database = _sources(sources_file), _database(db_url, create=True)
    server = ReplayServer([replay_dir]).start() if replay_dir else None
    try:
        added = add_url(database, loaded, url, source_name, server.url if server else None)
    except AddError as exc:
        _fail(str(exc), 1)
    finally:
        if server:
            server.stop()
    from crawler.run.report import shanghai

    when = shanghai(added.published_at) if added.published_at else "no date found"
    click.echo(f"{'added' if added.created else 'updated'} #{added.article_id} [{added.source_name}] {when} "
               f"{added.title}")


@main.command()
@click.option("--runs", "lookback", default=3, show_default=True,
              help="Name the sources and discovery pages that found no article link in each of their last N runs.")
@db_option
@sources_option
def status(lookback, db_url, sources_file) -> None:
    """When the last successful crawl was, and which sources and discovery pages found nothing lately."""
    from crawler.run.report import print_status

    sys.exit(print_status(_database(db_url), _sources(sources_file), lookback))


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--at", "crawl_at", default="02:30", show_default=True, help="Nightly crawl time (Asia/Shanghai).")
@click.option("--digest-at", metavar="'fri HH:MM'", help="Also build the Friday issue at this time.")
@click.option("--digest-dir", default="out", show_default=True, help="Where the Friday build writes the issue.")
@click.option("--grace", default=6 * 3600, show_default=True, type=click.IntRange(min=1),
              help="Seconds a missed run may still start late (at least 1).")
@click.argument("crawl_args", nargs=-1, type=click.UNPROCESSED)
def schedule(crawl_at, digest_at, digest_dir, grace, crawl_args) -> None:
    """Run the nightly crawl (and optionally the Friday build) in the foreground, for systemd or a container.

    Extra arguments go to every `hiwatch crawl` (e.g. -- --db postgresql://…). Each job is a fresh subprocess.
    """
    from crawler.logs import attach_file_log
    from crawler.run.schedule import ScheduleConfig, build_scheduler
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    attach_file_log()
    passthrough = [a for a in crawl_args if a != "--"]
    digest_args = [a for i, a in enumerate(passthrough) if a == "--db" or (i and passthrough[i - 1] == "--db")]
    try:
        scheduler = build_scheduler(ScheduleConfig(crawl_at, digest_at, digest_dir, grace, passthrough, digest_args))
    except ValueError as exc:
        _fail(str(exc), EXIT_CONFIG)
    for job in scheduler.get_jobs():
        click.echo(f"scheduled: {job.name}")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("scheduler stopped")


@main.command("eval")
@click.argument("realpages", required=False, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
def eval_command(realpages, as_json) -> None:
    """Extraction evaluation on saved pages with ground truth (default ../shared/realpages; the project's own
    set is fixtures/evalpages): body F1 and publish-day accuracy per page, per site, per page kind (news
    article, e-paper, government document, portal with comments) and on average, beside trafilatura's own
    result in the same run."""
    from crawler.config import REPO_ROOT
    from crawler.extract.evaluate import evaluate, format_report

    folder = Path(realpages) if realpages else Path(os.environ.get("HIWATCH_SHARED", REPO_ROOT.parent / "shared")) / "realpages"
    if not (folder / "MANIFEST.jsonl").is_file():
        _fail(f"{folder}: no MANIFEST.jsonl (give the realpages folder)", EXIT_CONFIG)
    report = evaluate(folder)
    click.echo(json.dumps(report, ensure_ascii=False, indent=1) if as_json else format_report(report))


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@db_option
def db_upgrade(db_url) -> None:
    """Apply the Alembic migrations (also done automatically on first use); creates an SQLite file."""
    database = _database(db_url, create=True)
    click.echo(f"{database.url}: schema up to date")


@main.command()
@click.option("--last", default=10, show_default=True, help="How many runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--failures", "failures_shown", default="10", show_default=True, metavar="N|all",
              help="Failed URLs listed per run (all: every one); the rest are counted.")
@db_option
def runs(last, as_json, failures_shown, db_url) -> None:
    """The latest runs with their counts per source."""
    from crawler.run.report import print_runs

    if failures_shown != "all" and not (failures_shown.isdigit()):
        raise click.BadParameter(f"{failures_shown!r}: give a number or 'all'", param_hint="--failures")
    print_runs(_database(db_url), last, as_json, None if failures_shown == "all" else int(failures_shown))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; anything but localhost "
              "needs a token (HIWATCH_WEB_TOKEN or --token).")
@click.option("--port", default=8765, show_default=True)
@click.option("--token", envvar="HIWATCH_WEB_TOKEN", help="Access token required when not bound to localhost.")
@db_option
def serve(host, port, token, db_url) -> None:
    """The analyst's review page: pick, order and publish the week's issue in a browser."""
    from crawler.web import serve as run_server
    from crawler.web.security import usable_token

    try:  # the arguments first: a blank token is a wrong argument (2) whatever the database
        usable_token(token)
    except ValueError as exc:
        _fail(str(exc), EXIT_CONFIG)
    _database(db_url).dispose()  # a mistyped --db is an error here, not a new empty database
    run_server(host=host, port=port, token=token, database_url=db_url)


def _register_feature_groups() -> None:
    """Command groups that live beside their feature."""
    from crawler.digest.cli import articles, digest

    main.add_command(digest)
    main.add_command(articles)


_register_feature_groups()

if __name__ == "__main__":
    main()
