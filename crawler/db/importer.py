"""Articles from other tools as JSON lines (url, title, source_name, published_at, body): validated, upserted by URL.

Every line is checked before anything is written; any problem rejects the whole file with one message per
problem, each naming the line. A body that is binary or larger than a page (crawler.extract.sniff) is such a
problem; a stray NUL character is dropped (PostgreSQL cannot store it), so SQLite and PostgreSQL store the same.
Accepted lines are stored with origin 'import', scored and clustered.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db.models import Article
from crawler.db.cluster import as_utc, assign_cluster
from crawler.analyse.relevance import Lexicon, default_lexicon, score, stored
from crawler.extract.sniff import refusal
from crawler.window import SHANGHAI, now_utc

REQUIRED = ("url", "title", "source_name", "published_at", "body")
OPTIONAL = ("site", "original_source", "subtitle", "author", "editor")


class ImportError_(Exception):
    """The file cannot be imported; `problems` lists 'FILE:LINE: message' strings."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportRecord:
    line: int
    url: str
    title: str
    source_name: str
    published_at: datetime
    date_precision: str
    body: str
    extra: dict


@dataclass
class ImportSummary:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def canonical_url(url: str) -> str:
    """The URL as stored: trimmed, scheme and host lower-cased, fragment dropped."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def parse_published(value) -> tuple[datetime, str]:
    """ISO date (midnight Asia/Shanghai, precision day) or datetime (naive = Asia/Shanghai) → (UTC instant, precision)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("published_at must be an ISO date or datetime string, e.g. 2025-08-31 or 2025-08-31T09:30+08:00")
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text)
        return datetime.combine(day, time.min, SHANGHAI).astimezone(timezone.utc), "day"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"published_at {value!r} is not an ISO date or datetime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    try:
        instant = moment.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:59:59-12:00 is past the last instant Python can hold
        raise ValueError(f"published_at {value!r} is out of range") from None
    return instant, "second" if moment.second else "minute"


def json_lines(text: str) -> list[str]:
    """The lines of a JSON Lines text: split at newlines only (str.splitlines() would also split inside a body
    at U+2028, U+0085 or a control character, which JSON strings may hold unescaped)."""
    return text.split("\n")


def parse_lines(lines: Iterable[str], name: str = "<input>") -> list[ImportRecord]:
    """Validate every line; raise ImportError_ listing all problems (file:line) when any line is bad."""
    records, problems, seen = [], [], {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{name}:{number}"
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{where}: expected a JSON object, got {type(data).__name__}")
            continue
        # a stray NUL (U+0000): PostgreSQL cannot store it, SQLite can; dropped on both, so both store the same
        data = {key: value.replace("\x00", "") if isinstance(value, str) else value for key, value in data.items()}
        line_problems = []
        unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            line_problems.append(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(REQUIRED + OPTIONAL)})")
        for key in REQUIRED:
            if key not in data or data[key] is None or (isinstance(data[key], str) and not data[key].strip()):
                line_problems.append(f"missing {key}")
            elif key != "published_at" and not isinstance(data[key], str):
                line_problems.append(f"{key} must be a string")
        for key in OPTIONAL:
            if data.get(key) is not None and not isinstance(data[key], str):
                line_problems.append(f"{key} must be a string")
        url = data.get("url") if isinstance(data.get("url"), str) else ""
        if url and not re.match(r"^https?://[^\s/]+", url.strip(), re.I):
            line_problems.append(f"url {url!r} is not an http(s) URL")
        if isinstance(data.get("source_name"), str) and len(data["source_name"]) > 64:
            line_problems.append("source_name is longer than 64 characters")
        body = data.get("body")
        if isinstance(body, str):
            refused = refusal(body)  # the same check as every page extracted: binary or larger than a page
            if refused:
                line_problems.append(f"body {refused}")
        published = precision = None
        if "published_at" in data and data["published_at"] is not None:
            try:
                published, precision = parse_published(data["published_at"])
            except ValueError as exc:
                line_problems.append(str(exc))
        if not line_problems:
            canonical = canonical_url(url)
            if canonical in seen:
                line_problems.append(f"url repeats line {seen[canonical]}")
            seen[canonical] = number
        if line_problems:
            problems.extend(f"{where}: {p}" for p in line_problems)
            continue
        body = "\n".join(p.strip() for p in data["body"].replace("\r\n", "\n").split("\n") if p.strip())
        records.append(ImportRecord(number, canonical_url(url), data["title"].strip(), data["source_name"].strip(),
                                    published, precision, body,
                                    {k: data[k] for k in OPTIONAL if data.get(k) is not None}))
    if problems:
        raise ImportError_(problems)
    return records


def _site_for(url: str) -> str:
    """The sources.yaml site owning the URL, else its host."""
    try:
        from crawler.config import load_sources

        source = load_sources().source_for_url(url)
        if source is not None:
            return source.name
    except Exception:  # an unreadable sources.yaml must not stop an import  # noqa: BLE001
        pass
    return (urlsplit(url).hostname or "import")[:64]


def upsert(session: Session, records: list[ImportRecord], lexicon: Lexicon | None = None) -> ImportSummary:
    """Insert new URLs, update changed ones; score and cluster what changed. One transaction is the caller's."""
    lexicon = lexicon or default_lexicon()
    summary, now = ImportSummary(), now_utc()
    for record in records:
        article = session.scalars(select(Article).where(Article.url == record.url)).first()
        values = dict(title=record.title, source_name=record.source_name, published_at=record.published_at,
                      body=record.body, date_source="import", date_precision=record.date_precision,
                      original_source=record.extra.get("original_source"), subtitle=record.extra.get("subtitle"),
                      author=record.extra.get("author"), editor=record.extra.get("editor"))
        if article is None:
            article = Article(url=record.url, site=record.extra.get("site") or _site_for(record.url),
                              origin="import", status="ok", fetched_at=now, updated_at=now, **values)
            session.add(article)
            summary.inserted += 1
        else:
            current = {k: getattr(article, k) for k in values}
            current["published_at"] = as_utc(current["published_at"])
            if current == values:
                summary.unchanged += 1
                continue
            for key, value in values.items():
                setattr(article, key, value)
            article.updated_at = now
            summary.updated += 1
        session.flush()
        for name, value in stored(score(article.title, article.body, lexicon), lexicon).items():
            setattr(article, name, value)
        assign_cluster(session, article)
    session.flush()
    return summary


def import_file(session: Session, path: str | Path, lexicon: Lexicon | None = None) -> ImportSummary:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportError_([f"{file}: cannot read: {exc}"]) from None
    return upsert(session, parse_lines(json_lines(text), str(file)), lexicon)
