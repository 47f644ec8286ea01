"""The run ledger: one row per run, counts per source, each failed URL with its reason."""
from __future__ import annotations

import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from crawler.db import Database
from crawler.db.models import FetchFailure, Run, RunDiscovery, RunSource
from crawler.window import Window, now_utc

COUNTERS = ("discovery_pages", "links_found", "fetched", "stored", "skipped_window", "skipped_seen", "blocked", "errors")


@dataclass
class Failure:
    url: str
    kind: str  # error|blocked|empty|robots
    reason: str
    http_status: int | None = None
    at: datetime = field(default_factory=now_utc)


@dataclass
class SourceLedger:
    """What one source did in this run; written to run_sources / fetch_failures by `save`."""

    source: str
    counts: Counter = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    _saved_failures: int = 0
    _saved: Counter = field(default_factory=Counter)

    def incr(self, counter: str, n: int = 1) -> None:
        if counter not in COUNTERS:
            raise KeyError(counter)
        self.counts[counter] += n

    def fail(self, url: str, kind: str, reason: str, http_status: int | None = None) -> None:
        self.failures.append(Failure(url, kind, reason, http_status))
        if kind == "blocked":
            self.incr("blocked")
        elif kind != "robots":  # a robots.txt refusal is policy, not an error
            self.incr("errors")

    def save(self, database: Database, run_id: int) -> None:
        """Add the counts since the last save to the run's row (several workers may share it) and write the
        failures not yet written; safe to call often (the spider flushes every 30 s)."""
        delta = {c: self.counts[c] - self._saved[c] for c in COUNTERS}
        failures = self.failures[self._saved_failures:]
        for attempt in range(3):
            try:
                with database.session() as session:
                    row_id = session.scalar(select(RunSource.id).where(RunSource.run_id == run_id,
                                                                       RunSource.source == self.source))
                    if row_id is None:
                        row = RunSource(run_id=run_id, source=self.source, **{c: 0 for c in COUNTERS})
                        session.add(row)
                        session.flush()
                        row_id = row.id
                    if any(delta.values()):
                        session.execute(update(RunSource).where(RunSource.id == row_id).values(
                            {c: getattr(RunSource, c) + delta[c] for c in COUNTERS if delta[c]}))
                    for failure in failures:
                        session.add(FetchFailure(run_id=run_id, source=self.source, url=failure.url,
                                                 kind=failure.kind, reason=failure.reason[:2000],
                                                 http_status=failure.http_status, at=failure.at))
                break
            except IntegrityError:  # another worker created the row at the same moment: add to theirs
                if attempt == 2:
                    raise
        self._saved.update(delta)
        self._saved_failures += len(failures)


PAGE_FIGURES = ("fetches", "links_found", "links_matching", "links_in_window", "stored")


@dataclass
class DiscoveryLedger:
    """Per discovery page of one source in this run: what it gave (links, matching, in window, new articles
    stored from it); written to run_discovery by `save`, adding to the row (several workers may share a run)."""

    source: str
    pages: dict[str, Counter] = field(default_factory=dict)
    problems: dict[str, tuple[int | None, str | None]] = field(default_factory=dict)
    _saved: dict[str, Counter] = field(default_factory=dict)

    def read(self, url: str, found: int, matching: int, in_window: int, http_status: int | None = None,
             error: str | None = None) -> None:
        page = self.pages.setdefault(url, Counter())
        page.update(fetches=1, links_found=found, links_matching=matching, links_in_window=in_window)
        if http_status is not None or error:
            self.problems[url] = (http_status, error)

    def stored(self, url: str) -> None:
        self.pages.setdefault(url, Counter())["stored"] += 1

    def save(self, database: Database, run_id: int) -> None:
        deltas = {url: {f: page[f] - self._saved.get(url, Counter())[f] for f in PAGE_FIGURES}
                  for url, page in self.pages.items()}
        deltas = {url: d for url, d in deltas.items() if any(d.values()) or url in self.problems}
        if not deltas:
            return
        for attempt in range(3):
            try:
                with database.session() as session:
                    rows = {row.url: row for row in session.scalars(select(RunDiscovery).where(
                        RunDiscovery.run_id == run_id, RunDiscovery.url.in_(list(deltas))))}
                    for url, delta in deltas.items():
                        status, error = self.problems.get(url, (None, None))
                        row = rows.get(url)
                        if row is None:
                            session.add(RunDiscovery(run_id=run_id, source=self.source, url=url, http_status=status,
                                                     error=error and error[:2000], **delta))
                            continue
                        values = {f: getattr(RunDiscovery, f) + delta[f] for f in PAGE_FIGURES if delta[f]}
                        if status is not None or error:
                            values.update(http_status=status, error=error and error[:2000])
                        if values:
                            session.execute(update(RunDiscovery).where(RunDiscovery.id == row.id).values(values))
                break
            except IntegrityError:  # another worker added the page's row at the same moment: add to theirs
                if attempt == 2:
                    raise
        for url in deltas:
            self._saved[url] = Counter(self.pages[url])
        self.problems.clear()


def start_run(database: Database, window: Window | None, sources: list[str], args: dict, kind: str = "crawl") -> int:
    with database.session() as session:
        run = Run(kind=kind, started_at=now_utc(), status="running", sources=sources, host=socket.gethostname(),
                  pid=os.getpid(), args=args,
                  window_start=window.start if window else None, window_end=window.end if window else None)
        session.add(run)
        session.flush()
        return run.id


def finish_run(database: Database, run_id: int, status: str, message: str | None = None) -> None:
    with database.session() as session:
        run = session.get(Run, run_id)
        run.status, run.finished_at, run.message = status, now_utc(), message


def run_status(per_source: dict[str, Counter], interrupted: bool) -> str:
    """ok: no errors; partial: some errors or blocks but articles came in or none were due; failed: nothing but errors."""
    if interrupted:
        return "interrupted"
    total = sum(per_source.values(), Counter())
    if total["errors"] + total["blocked"] == 0:
        return "ok"
    if total["fetched"] == 0 and total["discovery_pages"] == 0:
        return "failed"
    return "partial"
