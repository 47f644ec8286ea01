"""Console reports: the crawl summary table and the run history."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select

from crawler.db import Database
from crawler.db.models import Article, FetchFailure, Run, RunDiscovery, RunSource
from crawler.db.runs import COUNTERS
from crawler.window import SHANGHAI

console = Console(stderr=False, width=None if Console().is_terminal else 120)
LISTED = 40  # stored articles listed by name after a crawl; the rest are counted (a cron mail stays readable)
FAILURES_SHOWN = 10  # failed URLs `hiwatch runs` lists per run unless --failures says otherwise
TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"  # every time a person reads: Asia/Shanghai, with its offset (+0800)
HEADERS = {"discovery_pages": "pages", "links_found": "links", "skipped_window": "outside", "skipped_seen": "seen"}


def shanghai(moment: datetime | str | None) -> str:
    """A stored UTC time (datetime or ISO text) as a person reads it: Asia/Shanghai, 2025-09-05 18:12:03 +0800."""
    if not moment:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:  # naive values in the database are UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(SHANGHAI).strftime(TIME_FORMAT)


def _counts_table(title: str, rows: list[tuple[str, dict]]) -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("source")
    for counter in COUNTERS:
        table.add_column(HEADERS.get(counter, counter), justify="right")
    for name, counts in rows:
        style = "red" if counts.get("links_found", 0) == 0 or counts.get("errors", 0) else None
        table.add_row(name, *(str(counts.get(c, "?")) for c in COUNTERS), style=style)
    return table


def _derived_counts(session, run_id: int) -> dict[str, dict]:
    """Per-source counts read from the articles that carry the run's id: what a run that ended before its
    ledger was written (killed, interrupted) still tells. Only `stored` is known, the rest is left out."""
    rows = session.execute(select(Article.site, func.count(Article.id)).where(Article.first_run_id == run_id)
                           .group_by(Article.site)).all()
    return {site: {"stored": n} for site, n in rows}


def print_crawl_summary(database: Database, result) -> None:
    """The table printed at the end of `hiwatch crawl`, then what was stored and what failed."""
    rows = [(name, dict(counts)) for name, counts in sorted(result.per_source.items())]
    console.print(_counts_table(f"run {result.run_id}: {result.status}", rows))
    with database.session() as session:
        mine = Article.first_run_id == result.run_id
        total = session.scalar(select(func.count(Article.id)).where(mine)) or 0
        stored = session.execute(select(Article.source_name, Article.published_at, Article.title, Article.url)
                                 .where(mine).order_by(Article.published_at).limit(LISTED)).all()
    for source_name, published_at, title, url in stored:
        when = shanghai(published_at) if published_at else "?"
        console.print(f"  stored [{source_name}] {when}  {title}  [dim]{url}[/dim]")
    if total > len(stored):
        console.print(f"  … {total - len(stored)} more stored articles (hiwatch digest candidates --week …)")
    for name, failures in sorted(result.failures.items()):
        for failure in failures[:20]:
            console.print(f"  [yellow]{name}: {failure.kind}[/yellow] {failure.url}: {failure.reason}")
        if len(failures) > 20:
            console.print(f"  [yellow]{name}: … {len(failures) - 20} more failures (hiwatch runs --json)[/yellow]")
    if result.silent_sources:
        console.print(f"[red]no article link found by: {', '.join(result.silent_sources)}[/red]")


def runs_data(database: Database, last: int) -> list[dict]:
    with database.session() as session:
        runs = session.scalars(select(Run).order_by(Run.id.desc()).limit(last)).all()
        data = []
        for run in runs:
            per_source = {row.source: {c: getattr(row, c) for c in COUNTERS}
                          for row in session.scalars(select(RunSource).where(RunSource.run_id == run.id))}
            derived = not per_source
            if derived:
                per_source = _derived_counts(session, run.id)
            failures = [{"source": f.source, "url": f.url, "kind": f.kind, "reason": f.reason,
                         "http_status": f.http_status}
                        for f in session.scalars(select(FetchFailure).where(FetchFailure.run_id == run.id))]
            data.append({"id": run.id, "kind": run.kind, "status": run.status,
                         "started_at": run.started_at.isoformat(),
                         "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                         "window_start": run.window_start.isoformat() if run.window_start else None,
                         "window_end": run.window_end.isoformat() if run.window_end else None,
                         "message": run.message, "sources": per_source, "sources_from_articles": derived,
                         "failures": failures})
        return data


def print_runs(database: Database, last: int, as_json: bool, failures_shown: int | None = FAILURES_SHOWN) -> None:
    """The run history; `failures_shown` failed URLs per run (None: all), and how many more there are."""
    data = runs_data(database, last)
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not data:
        console.print("no runs yet")
    for run in data:
        rows = sorted(run["sources"].items())
        finished = shanghai(run["finished_at"]) if run["finished_at"] else "…"
        title = f"run {run['id']} {run['status']}  {shanghai(run['started_at'])} → {finished}"
        console.print(_counts_table(title, rows))
        if run["sources_from_articles"] and rows:
            console.print("  [dim]the run ended before its counts were written: stored articles counted from the "
                          "articles that carry its id (? = not known)[/dim]")
        if run["message"]:
            console.print(f"  {run['message']}")
        shown = run["failures"] if failures_shown is None else run["failures"][:failures_shown]
        for failure in shown:
            console.print(f"  [yellow]{failure['source']}: {failure['kind']}[/yellow] {escape(failure['url'])}: "
                          f"{escape(failure['reason'] or '')}", highlight=False)
        if len(run["failures"]) > len(shown):
            console.print(f"  … and {len(run['failures']) - len(shown)} more failures (hiwatch runs --failures all)")


def silent_discovery_pages(database: Database, sources, runs: int = 3) -> list[dict]:
    """Discovery pages of enabled sources that gave no article link in each of the source's last `runs` crawls
    (a channel that moved or a template that changed): source, URL, runs, links, last error."""
    enabled = {s.name for s in sources.enabled()}
    out = []
    with database.session() as session:
        for source in sorted(enabled):
            run_ids = session.scalars(select(RunDiscovery.run_id).join(Run, Run.id == RunDiscovery.run_id)
                                      .where(RunDiscovery.source == source, Run.kind == "crawl")
                                      .group_by(RunDiscovery.run_id).order_by(RunDiscovery.run_id.desc())
                                      .limit(runs)).all()
            if not run_ids:
                continue
            rows = session.scalars(select(RunDiscovery).where(RunDiscovery.source == source,
                                                              RunDiscovery.run_id.in_(run_ids))
                                   .order_by(RunDiscovery.run_id)).all()
            by_url: dict[str, list] = {}
            for row in rows:
                by_url.setdefault(row.url, []).append(row)
            for url, seen in sorted(by_url.items()):
                # read in each of the source's last runs and never an article link: a page new to the config, or
                # one silent on a single night among good ones, waits for more runs
                if len(seen) == len(run_ids) and all(row.links_matching == 0 for row in seen):
                    last = seen[-1]
                    out.append({"source": source, "url": url, "runs": len(seen), "of_runs": len(run_ids),
                                "links_found": last.links_found, "http_status": last.http_status,
                                "error": last.error})
    return out


def status_data(database: Database, sources, lookback: int = 3) -> dict:
    """Last successful run, the last run, and enabled sources with no article link in their recent runs."""
    with database.session() as session:
        last = session.scalars(select(Run).where(Run.kind == "crawl").order_by(Run.id.desc()).limit(1)).first()
        good = session.scalars(select(Run).where(Run.kind == "crawl", Run.status.in_(("ok", "partial")))
                               .order_by(Run.id.desc()).limit(1)).first()
        silent = []
        for source in sources.enabled():
            rows = session.execute(select(RunSource.links_found, RunSource.stored).join(Run)
                                   .where(RunSource.source == source.name)
                                   .order_by(RunSource.run_id.desc()).limit(lookback)).all()
            if source.expect_articles and rows and all(links == 0 for links, _ in rows):
                silent.append(source.name)
        never = [s.name for s in sources.enabled() if not session.scalar(
            select(func.count(RunSource.id)).where(RunSource.source == s.name))]
    return {"last_run": {"id": last.id, "status": last.status, "started_at": last.started_at.isoformat()} if last else None,
            "last_success": good.finished_at.isoformat() if good and good.finished_at else None,
            "silent_sources": silent, "never_crawled": never,
            "silent_pages": silent_discovery_pages(database, sources, lookback)}


def print_status(database: Database, sources, lookback: int = 3) -> int:
    """Print the status; return 1 when something needs the operator (no successful run, silent sources or
    discovery pages)."""
    data = status_data(database, sources, lookback)
    last = data["last_run"]
    console.print(f"last run: {'#%d %s, started %s' % (last['id'], last['status'], shanghai(last['started_at'])) if last else 'none'}")
    console.print(f"last successful run finished: {shanghai(data['last_success']) if data['last_success'] else 'never'}")
    if data["silent_sources"]:
        console.print(f"[red]found no article link in their last runs: {', '.join(data['silent_sources'])}[/red]")
    if data["never_crawled"]:
        console.print(f"never crawled: {', '.join(data['never_crawled'])}")
    pages = data["silent_pages"]
    if pages:
        console.print(f"[red]{len(pages)} discovery page(s) gave no article link in their last runs:[/red]")
        for page in pages:
            why = (f"HTTP {page['http_status']}" if page["http_status"] else "") + (
                f" {page['error']}" if page["error"] and not page["http_status"] else "")
            runs = "the last run" if page["runs"] == 1 else f"the last {page['runs']} runs"
            console.print(f"  {page['source']}: {page['url']}  ({runs}; "
                          f"{why.strip() or str(page['links_found']) + ' links, none an article'})", soft_wrap=True)
    return 0 if data["last_success"] and not data["silent_sources"] and not pages else 1
