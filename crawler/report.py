"""Console reports: the crawl summary table and the run history."""
from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from crawler.db import Database
from crawler.db.models import Article, FetchFailure, Run, RunSource
from crawler.runs import COUNTERS

console = Console(stderr=False, width=None if Console().is_terminal else 120)
HEADERS = {"discovery_pages": "pages", "links_found": "links", "skipped_window": "outside", "skipped_seen": "seen"}


def _counts_table(title: str, rows: list[tuple[str, dict]]) -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("source")
    for counter in COUNTERS:
        table.add_column(HEADERS.get(counter, counter), justify="right")
    for name, counts in rows:
        style = "red" if counts.get("links_found", 0) == 0 or counts.get("errors", 0) else None
        table.add_row(name, *(str(counts.get(c, 0)) for c in COUNTERS), style=style)
    return table


def print_crawl_summary(database: Database, result) -> None:
    """The table printed at the end of `hiwatch crawl`, then what was stored and what failed."""
    rows = [(name, dict(counts)) for name, counts in sorted(result.per_source.items())]
    console.print(_counts_table(f"run {result.run_id}: {result.status}", rows))
    with database.session() as session:
        stored = session.scalars(select(Article).where(Article.first_run_id == result.run_id)
                                 .order_by(Article.published_at)).all()
        for article in stored:
            when = article.published_at.strftime("%Y-%m-%d %H:%M") if article.published_at else "?"
            console.print(f"  stored [{article.source_name}] {when}Z  {article.title}  [dim]{article.url}[/dim]")
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
            failures = [{"source": f.source, "url": f.url, "kind": f.kind, "reason": f.reason,
                         "http_status": f.http_status}
                        for f in session.scalars(select(FetchFailure).where(FetchFailure.run_id == run.id))]
            data.append({"id": run.id, "kind": run.kind, "status": run.status,
                         "started_at": run.started_at.isoformat(),
                         "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                         "window_start": run.window_start.isoformat() if run.window_start else None,
                         "window_end": run.window_end.isoformat() if run.window_end else None,
                         "message": run.message, "sources": per_source, "failures": failures})
        return data


def print_runs(database: Database, last: int, as_json: bool) -> None:
    data = runs_data(database, last)
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not data:
        console.print("no runs yet")
    for run in data:
        rows = sorted(run["sources"].items())
        title = f"run {run['id']} {run['status']}  {run['started_at'][:19]} → {(run['finished_at'] or '…')[:19]}"
        console.print(_counts_table(title, rows))
        if run["message"]:
            console.print(f"  {run['message']}")
        for failure in run["failures"][:10]:
            console.print(f"  [yellow]{failure['source']}: {failure['kind']}[/yellow] {failure['url']}: {failure['reason']}")


def article_count(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count(Article.id))) or 0
