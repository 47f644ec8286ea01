"""Building an issue: choose the stories, number the issue, store it (digests, digest_items), write the files."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db.models import Article, Digest, DigestItem
from crawler.digest.candidates import Candidate, candidates, published_key, shanghai_day
from crawler.digest.docx_render import render_docx
from crawler.digest.layout import Issue, IssueItem
from crawler.digest.render import render_html, render_markdown
from crawler.digest.settings import DigestSettings
from crawler.analyse.relevance import Lexicon
from crawler.window import Window, now_utc

FORMATS = ("docx", "md", "html")  # what `--format all` writes
PDF = "pdf"  # through LibreOffice (crawler.digest.pdf), asked for by name


class DigestBuildError(Exception):
    """An issue that cannot be built as asked (unknown article, number already used …); the message says why."""


@dataclass
class BuildResult:
    issue: Issue
    digest_id: int
    reused: bool  # True when the stored items were printed again unchanged


def next_number(session: Session, friday: date) -> int:
    """The number after the latest issue before `friday` (weeks without an issue are skipped, not counted)."""
    last = session.scalars(select(Digest).where(Digest.friday < friday).order_by(Digest.friday.desc()).limit(1)).first()
    if last is None:
        raise DigestBuildError(f"no issue before {friday} is stored: give the number of this one (--number N)")
    return last.number + 1


def _also(members: Iterable[Article]) -> list[dict]:
    return [{"article_id": a.id, "source_name": a.source_name, "url": a.url, "title": a.title} for a in members]


def default_choice(found: list[Candidate], settings: DigestSettings) -> list[Candidate]:
    """The stories the issue prints unless told otherwise: relevant, at or above min_score (when set), not printed
    in an earlier issue, best first, at most max_items."""
    eligible = [c for c in found if c.relevant and not c.printed_in
                and (settings.min_score is None or c.score >= settings.min_score)]
    return eligible[: settings.max_items]


def select_items(session: Session, found: list[Candidate], settings: DigestSettings, picks: Iterable[int] = (),
                 excludes: Iterable[int] = (), only: bool = False) -> list[tuple[Article, list[Article]]]:
    """Default: `default_choice` (relevant, not printed before, best first, at most max_items); plus picks;
    minus excludes; in date order. With `only`, exactly the picks, in the order given (the analyst's order)."""
    picks, excludes = list(dict.fromkeys(picks)), set(excludes)
    chosen: dict[int, tuple[Article, list[Article]]] = {}  # keyed by the candidate's printed article id
    if not only:
        for candidate in default_choice(found, settings):
            chosen[candidate.id] = (candidate.article, candidate.also)
    for article_id in picks:
        candidate = next((c for c in found if article_id in c.member_ids()), None)
        if candidate is None:
            article = session.get(Article, article_id)
            if article is None:
                raise DigestBuildError(f"--pick {article_id}: no article with that id")
            chosen.setdefault(article.id, (article, []))
            continue
        chosen.pop(candidate.id, None)
        members = [candidate.article] + candidate.also
        picked = next(m for m in members if m.id == article_id)  # the analyst's copy is the printed one
        chosen[picked.id] = (picked, sorted((m for m in members if m.id != picked.id), key=published_key))
    for article_id in excludes:
        for key, (article, also) in list(chosen.items()):
            if article_id == article.id or article_id in {a.id for a in also}:
                del chosen[key]
    items = list(chosen.values())
    if not only:
        items.sort(key=lambda pair: published_key(pair[0]))
    return items


def issue_from_digest(digest: Digest) -> Issue:
    return Issue(
        number=digest.number, friday=digest.friday, window_first=digest.window_start, window_last=digest.window_end,
        organisation=digest.organisation,
        items=[IssueItem(item.position, item.title, item.source_name, item.url, item.published_on, item.body,
                         list(item.also_reported_by or []), item.article_id, item.kicker) for item in digest.items],
    )


def build_issue(session: Session, friday: date, settings: DigestSettings, lexicon: Lexicon | None = None,
                number: int | None = None, picks: Iterable[int] = (), excludes: Iterable[int] = (),
                only: bool = False) -> BuildResult:
    """Build (or rebuild) the issue of the week ending `friday` and store it.

    An issue already stored for that Friday is printed again from its stored items, unchanged, unless a selection
    is given (picks, excludes or only): then its items are chosen afresh and replaced.
    """
    window = Window.week(friday)
    picks, excludes = list(picks), list(excludes)
    digest = session.scalars(select(Digest).where(Digest.friday == friday)).first()
    if number is None and digest is None:
        number = next_number(session, friday)
    if number is not None:
        clash = session.scalars(select(Digest).where(Digest.number == number, Digest.friday != friday)).first()
        if clash is not None:
            raise DigestBuildError(f"issue number {number} is already used by the issue of {clash.friday}"
                                   "; give another with --number N")
    reselect = digest is None or bool(picks or excludes or only)
    now = now_utc()
    if digest is None:
        digest = Digest(number=number, friday=friday,
                        window_start=window.first, window_end=window.last, organisation=settings.organisation,
                        status="draft", created_at=now)
        session.add(digest)
    elif number is not None:
        digest.number = number
    if reselect:
        found = candidates(session, window, lexicon, settings.preferred_sources)
        chosen = select_items(session, found, settings, picks, excludes, only)
        if not chosen:
            raise DigestBuildError(f"no article to print for {window}: nothing at or above the threshold "
                                   "(see `hiwatch digest candidates`), and nothing picked")
        digest.items.clear()
        session.flush()
        for position, (article, also) in enumerate(chosen, start=1):
            digest.items.append(DigestItem(
                article_id=article.id, position=position, title=article.title, kicker=article.subtitle,
                source_name=article.source_name,
                url=article.url, published_on=shanghai_day(article.published_at), body=article.body,
                also_reported_by=_also(also)))
    digest.built_at = now
    session.flush()
    return BuildResult(issue_from_digest(digest), digest.id, reused=not reselect)


def output_stem(issue: Issue) -> str:
    return f"周报-{issue.number}-{issue.friday:%Y%m%d}"


def write_outputs(issue: Issue, settings: DigestSettings, out_dir: str | Path,
                  formats: Iterable[str] = FORMATS) -> list[Path]:
    """Write the issue as DOCX / Markdown / HTML / PDF into `out_dir` (created); return the paths written.

    PDF is the DOCX converted by LibreOffice: crawler.digest.pdf.PdfUnavailable when it is not installed."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem, written = output_stem(issue), []
    for fmt in formats:
        path = out / f"{stem}.{fmt}"
        if fmt == "md":
            path.write_text(render_markdown(issue, settings), encoding="utf-8")
        elif fmt == "html":
            path.write_text(render_html(issue, settings), encoding="utf-8")
        elif fmt == "docx":
            render_docx(issue, settings, path)
        elif fmt == PDF:
            from crawler.digest.pdf import docx_to_pdf

            with tempfile.TemporaryDirectory(prefix="hiwatch-pdf-") as scratch:
                path = docx_to_pdf(render_docx(issue, settings, Path(scratch) / f"{stem}.docx"), out)
        else:
            raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS + (PDF,))})")
        written.append(path)
    return written
