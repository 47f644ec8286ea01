"""Click commands for the weekly issue: `digest candidates`, `digest build`, `articles import`.

Register them on the main group: `main.add_command(digest); main.add_command(articles)`.
"""
from __future__ import annotations

import json
import sys

import click

from crawler.window import Window, parse_day

FORMAT_CHOICES = ("docx", "md", "html", "pdf", "all")
# exit codes as the main `hiwatch` CLI uses them: 1 a request that cannot be done, 2 configuration, 3 database;
# 5: a program the request needs is not installed (LibreOffice for --format pdf)
EXIT_CONFIG = 2
EXIT_DATABASE = 3
EXIT_UNAVAILABLE = 6


class Failure(click.ClickException):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.exit_code = code


def _fail(message: str, code: int = 1) -> None:
    raise Failure(message, code)


def _open(db_url: str | None, create: bool = False):
    """The database (exit 2 on a wrong URL, 3 unreachable or, unless `create`, an SQLite file that is not there)."""
    from crawler.db import DatabaseError, DatabaseURLError, connect  # not at the top: importing the CLI stays light

    try:
        return connect(db_url, create=create)
    except DatabaseURLError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except DatabaseError as exc:
        _fail(str(exc), EXIT_DATABASE)


def _window(week: str | None) -> Window:
    try:
        return Window.week(parse_day(week)) if week else Window.default()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None


def _settings(lexicon_path: str | None, config_path: str | None):
    from crawler.digest.settings import DigestConfigError, load_digest_settings
    from crawler.analyse.relevance import LexiconError, load_lexicon

    try:
        return load_lexicon(lexicon_path), load_digest_settings(config_path)
    except (LexiconError, DigestConfigError) as exc:
        _fail(str(exc), EXIT_CONFIG)


class IdList(click.ParamType):
    """Article ids: `12`, or `12,15,18`."""

    name = "id"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return tuple(int(part) for part in str(value).replace("，", ",").split(",") if part.strip())
        except ValueError:
            self.fail(f"{value!r} is not an article id or a comma-separated list of ids", param, ctx)


def _flat(groups) -> list[int]:
    return [article_id for group in groups for article_id in group]


db_option = click.option("--db", "db_url", metavar="URL", help="database URL (default: $HIWATCH_DATABASE_URL, "
                                                                "else sqlite:///var/hiwatch.sqlite3)")
week_option = click.option("--week", metavar="FRIDAY", help="the issue's Friday, YYYY-MM-DD (default: the latest "
                                                            "Friday, Asia/Shanghai)")
lexicon_option = click.option("--lexicon", "lexicon_path", metavar="FILE", help="lexicon file "
                                                                               "(default config/lexicon.yaml)")
config_option = click.option("--config", "config_path", metavar="FILE", help="digest settings "
                                                                            "(default config/digest.yaml)")


@click.group()
def digest() -> None:
    """The weekly 周报: candidates, then the issue."""


@digest.command("candidates")
@week_option
@db_option
@click.option("--json", "as_json", is_flag=True, help="one JSON object per candidate, one per line")
@click.option("--wide", is_flag=True, help="one untruncated line per story, with matched terms and other copies")
@click.option("--all", "show_all", is_flag=True, help="also list candidates below the threshold")
@click.option("--explain", "explain_ids", type=int, multiple=True, metavar="ID",
              help="print how this article's score was reached (repeatable)")
@lexicon_option
@config_option
def candidates_command(week, db_url, as_json, wide, show_all, explain_ids, lexicon_path, config_path) -> None:
    """List the week's stories, best first, one line each fitted to the terminal: the default issue's choice
    (*), id, score, date, source, other copies (+N) and title. --wide adds terms and copies; --json everything."""
    from sqlalchemy.exc import DBAPIError

    from crawler.db.models import Article
    from crawler.digest.build import default_choice
    from crawler.digest.candidates import candidates
    from crawler.analyse.relevance import score

    lexicon, settings = _settings(lexicon_path, config_path)
    window = _window(week)
    database = _open(db_url)
    try:
        with database.session() as session:
            if explain_ids:
                for article_id in explain_ids:
                    article = session.get(Article, article_id)
                    if article is None:
                        _fail(f"--explain {article_id}: no article with that id")
                    click.echo(f"[{article.id}] {article.title} ({article.source_name})")
                    click.echo(score(article.title, article.body, lexicon).explain())
                return
            found = candidates(session, window, lexicon, settings.preferred_sources)
            shown = found if show_all else [c for c in found if c.relevant]
            if as_json:
                for candidate in shown:
                    click.echo(json.dumps(candidate.to_json(), ensure_ascii=False))
                return
            chosen = {c.id for c in default_choice(found, settings)}
            threshold = f"threshold {lexicon.threshold:g}" + (
                f", {settings.min_score:g} for the issue" if settings.min_score is not None else "")
            _print_table(window, shown, len(found), threshold, chosen, wide)
    except DBAPIError as exc:
        _fail(f"database error on {database.url}: {exc.orig}", EXIT_DATABASE)
    finally:
        database.dispose()


def _print_table(window: Window, shown, total: int, threshold: str, chosen: set[int], wide: bool) -> None:
    import shutil

    from rich.cells import cell_len

    from crawler.digest.console import LEGEND, table_lines, wide_lines

    click.echo(f"candidates {window} ({threshold})")
    click.echo(f"{len(shown)} of {total} stories listed, {len(chosen)} in the default issue")
    width = shutil.get_terminal_size((80, 24)).columns
    for line in wide_lines(shown, chosen) if wide else table_lines(shown, chosen, width):
        click.echo(line)
    hidden = total - len(shown)
    if hidden:
        click.echo(f"{hidden} more below the threshold: add --all to list them")
    if shown and not wide:
        click.echo(LEGEND if cell_len(LEGEND) <= width else LEGEND.replace("  ", "\n"))


@digest.command("build")
@week_option
@click.option("--number", type=click.IntRange(min=1), help="the issue number (default: the last issue's + 1)")
@click.option("--pick", "picks", type=IdList(), multiple=True, metavar="ID[,ID…]",
              help="print this article (repeatable, or comma-separated); it also chooses which copy of a story is printed")
@click.option("--exclude", "excludes", type=IdList(), multiple=True, metavar="ID[,ID…]",
              help="leave out the story containing this article (repeatable, or comma-separated)")
@click.option("--only", is_flag=True, help="print only the --pick articles, in the order given")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="all", show_default=True)
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="directory to write the issue into (created)")
@db_option
@lexicon_option
@config_option
def build_command(week, number, picks, excludes, only, fmt, out_dir, db_url, lexicon_path, config_path) -> None:
    """Build the issue of the week ending FRIDAY, store it, and write it as DOCX / Markdown / HTML (all), or PDF.

    By default the issue prints the stories at or above the threshold (best first, at most max_items of
    config/digest.yaml, 3) in date order; `hiwatch digest candidates --all` lists every story. An issue already
    stored for that Friday is printed again unchanged unless --pick, --exclude or --only is given.
    --format pdf converts the DOCX with LibreOffice (exit code 6, nothing stored, when it is not installed).
    """
    from sqlalchemy.exc import DBAPIError

    from crawler.digest.build import FORMATS, PDF, DigestBuildError, build_issue, write_outputs
    from crawler.digest.pdf import PdfFailed, PdfUnavailable, require_office

    lexicon, settings = _settings(lexicon_path, config_path)
    friday = _window(week).last
    if only and not picks:
        raise click.UsageError("--only needs at least one --pick ID")
    if fmt == PDF:
        try:
            require_office()  # before anything is stored
        except PdfUnavailable as exc:
            _fail(str(exc), EXIT_UNAVAILABLE)
    database = _open(db_url, create=True)  # it stores the issue: a writing command
    try:
        with database.session() as session:
            result = build_issue(session, friday, settings, lexicon, number=number, picks=_flat(picks),
                                 excludes=_flat(excludes), only=only)
        formats = FORMATS if fmt == "all" else (fmt,)
        paths = write_outputs(result.issue, settings, out_dir, formats)
    except DigestBuildError as exc:
        _fail(str(exc))
    except PdfFailed as exc:
        _fail(f"the issue is stored, but {exc}")
    except DBAPIError as exc:
        _fail(f"database error on {database.url}: {exc.orig}; nothing was stored", EXIT_DATABASE)
    finally:
        database.dispose()
    issue = result.issue
    state = "printed again from its stored items" if result.reused else f"{len(issue.items)} articles chosen"
    click.echo(f"issue {issue.number} {settings.number_text(issue.number)} for {issue.window_first}..{issue.friday}:"
               f" {state}")
    for item in issue.items:
        also = f"  (also: {', '.join(a['source_name'] for a in item.also_reported_by)})" if item.also_reported_by else ""
        click.echo(f"  {item.position}. [{item.article_id}] {item.title} ({item.source_name}){also}")
    for path in paths:
        click.echo(f"wrote {path}")


@click.group()
def articles() -> None:
    """Stored articles."""


@articles.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@db_option
@lexicon_option
def import_command(file, db_url, lexicon_path) -> None:
    """Import articles from FILE.jsonl: one JSON object per line with url, title, source_name,
    published_at (2025-08-31 or an ISO datetime; Asia/Shanghai when no offset) and body (paragraphs
    separated by newlines); optional site, original_source, subtitle, author, editor.

    Every line is checked first: any problem rejects the file, naming each line. Existing URLs are updated.
    """
    from sqlalchemy.exc import DBAPIError

    from crawler.db.importer import ImportError_, import_file, json_lines, parse_lines, upsert
    from crawler.analyse.relevance import LexiconError, load_lexicon

    try:
        lexicon = load_lexicon(lexicon_path)
    except LexiconError as exc:
        _fail(str(exc), EXIT_CONFIG)
    database = _open(db_url, create=True)
    try:
        with database.session() as session:
            if file == "-":
                summary = upsert(session, parse_lines(json_lines(sys.stdin.read()), "<stdin>"), lexicon)
            else:
                summary = import_file(session, file, lexicon)
    except ImportError_ as exc:
        _fail(f"nothing imported; {len(exc.problems)} problem(s):\n" + "\n".join(exc.problems))
    except DBAPIError as exc:
        _fail(f"database error on {database.url}: {exc.orig}; nothing imported", EXIT_DATABASE)
    finally:
        database.dispose()
    click.echo(f"imported {file}: {summary.inserted} new, {summary.updated} updated, {summary.unchanged} unchanged")
