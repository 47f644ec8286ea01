"""The review page's routes: week view, article view, the issue (pick, order, number, preview, save, download),
add by URL, crawl status. Everything about the issue goes through crawler.digest (candidates, build_issue,
issue_from_digest, render_html, write_outputs): the page and `hiwatch digest build` store the same rows.
"""
from __future__ import annotations

import gzip
import re
import secrets
import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import click
from flask import Flask, Response, abort, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.http import dump_options_header  # RFC 6266 filename* for the Chinese file name

from crawler.db import DatabaseError, connect
from crawler.db.models import Article, Digest
from crawler.db.cluster import as_utc
from crawler.digest.build import (DigestBuildError, build_issue, issue_from_digest, next_number, output_stem,
                                  write_outputs)
from crawler.digest.candidates import Candidate, candidates
from crawler.digest.render import render_html
from crawler.web import security
from crawler.window import SHANGHAI, Window, latest_friday, today_shanghai

HERE = Path(__file__).resolve().parent
FORMATS = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           "md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}
# the issue's own HTML (inline <style>, no script) shown in the preview frame
PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'"
OPENING_CHARS = 160
MIN_TOKEN_LENGTH = 8
EXIT_DATABASE = 3
MAX_ID = 2**63 - 1  # the largest row id a database holds: a longer number in a URL is a 404, not an overflow
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)  # the weeks the review page shows


# ---------------------------------------------------------------------------------------------------------------
# the app


def create_app(database_url: str | None = None, token: str | None = None, *, sources_path=None, lexicon_path=None,
               digest_config=None, secret_key: bytes | None = None, testing: bool = False) -> Flask:
    """The review page over the database at `database_url` (default as the CLI: $HIWATCH_DATABASE_URL, else
    var/hiwatch.sqlite3). With `token`, every request needs it (login form or header)."""
    from crawler.config import load_sources
    from crawler.digest.settings import load_digest_settings
    from crawler.analyse.relevance import load_lexicon

    app = Flask(__name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_bytes(32),
        SESSION_COOKIE_NAME="hiwatch_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=1024 * 1024,
        TESTING=testing,
        HIWATCH_TOKEN=token or None,
    )
    app.extensions["hiwatch"] = {
        "database": connect(database_url),
        "sources": load_sources(sources_path),
        "lexicon": load_lexicon(lexicon_path),
        "settings": load_digest_settings(digest_config),
    }
    app.jinja_env.autoescape = True
    app.jinja_env.filters["highlight"] = highlight
    app.jinja_env.filters["shanghai"] = shanghai_time
    app.jinja_env.filters["opening"] = opening
    app.jinja_env.filters["shanghai_iso"] = lambda text: shanghai_time(datetime.fromisoformat(text)) if text else "—"
    app.jinja_env.globals["token_required"] = bool(token)
    security.install(app)
    _routes(app)

    @app.context_processor
    def _status():
        if request.endpoint in (None, "static", "login") or not g.get("authorized"):
            return {}  # nothing about the crawl before the token (or on a refused Host)
        return {"crawl_status": crawl_status(app)}

    @app.errorhandler(400)
    @app.errorhandler(401)
    @app.errorhandler(404)
    def _error(exc):
        return render_template("error.html", code=exc.code, message=exc.description), exc.code

    return app


def _ctx(app: Flask) -> dict:
    return app.extensions["hiwatch"]


# ---------------------------------------------------------------------------------------------------------------
# helpers the templates use


def highlight(text: str | None, terms) -> Markup:
    """`text` escaped, every occurrence of a matched lexicon term wrapped in <mark>."""
    text = text or ""
    terms = sorted({t for t in (terms or []) if t}, key=len, reverse=True)
    if not terms:
        return Markup(escape(text))
    pattern = re.compile("|".join(_term_pattern(t) for t in terms))
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(Markup("<mark>") + escape(match.group(0)) + Markup("</mark>"))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _term_pattern(term: str) -> str:
    """As the lexicon matches: an ASCII term (AI, 5G) only as a whole word."""
    escaped = re.escape(term)
    if term.isascii() and term[:1].isalnum():
        return rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])"
    return escaped


def shanghai_time(moment, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return as_utc(moment).astimezone(SHANGHAI).strftime(fmt) if moment else "—"


def opening(body: str | None, length: int = OPENING_CHARS) -> str:
    flat = " ".join(p.strip() for p in (body or "").split("\n") if p.strip())
    return flat if len(flat) <= length else flat[:length].rstrip() + "…"


def week_friday(day: date) -> date:
    """The Friday that ends the Saturday–Friday week containing `day`."""
    return day + timedelta(days=(4 - day.weekday()) % 7)


def _parse_friday(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        abort(404, description=f"not a date (YYYY-MM-DD): {text!r}")
    if not FIRST_DAY <= day <= LAST_DAY:  # a week at the ends of the calendar cannot be computed (date overflow)
        abort(400, description=f"{text}: out of range ({FIRST_DAY}..{LAST_DAY})")
    return day


def _ids(values) -> list[int]:
    out: list[int] = []
    for value in values:
        for part in str(value).replace("，", ",").split(","):
            part = part.strip()
            if part.isdigit() and int(part) not in out:
                out.append(int(part))
    return out


def crawl_status(app: Flask) -> dict:
    """The last crawl run with its per-source counts (red when a source found nothing), from runs/run_sources."""
    from crawler.run.report import runs_data, status_data

    database, sources = _ctx(app)["database"], _ctx(app)["sources"]
    try:
        data = status_data(database, sources)
        runs = [r for r in runs_data(database, 10) if r["kind"] == "crawl"]
    except Exception as exc:  # noqa: BLE001  (the status line must never take the page down)
        return {"error": f"crawl status unavailable: {exc}"}
    last = runs[0] if runs else None
    rows = []
    if last:
        for name, counts in sorted(last["sources"].items()):
            nothing = counts.get("links_found", 0) == 0 or name in data["silent_sources"]
            rows.append({"name": name, "links": counts.get("links_found", 0), "stored": counts.get("stored", 0),
                         "errors": counts.get("errors", 0) + counts.get("blocked", 0), "nothing": nothing})
    return {"last": last, "sources": rows, "silent": data["silent_sources"], "last_success": data["last_success"],
            "bad": bool(last) and (last["status"] == "failed" or any(r["nothing"] for r in rows)),
            "failures": len(last["failures"]) if last else 0}


# ---------------------------------------------------------------------------------------------------------------
# the issue: build through crawler.digest, then the analyst's order


def build_ordered(app: Flask, session: Session, friday: date, ordered: list[int], number: int | None):
    """Store the issue of `friday` printing exactly `ordered` (article ids) in that order, as `digest build
    --pick … --only` stores it; return (BuildResult, Issue)."""
    ctx = _ctx(app)
    result = build_issue(session, friday, ctx["settings"], ctx["lexicon"], number=number, picks=ordered, only=True)
    return result, result.issue


def _selection_from_form() -> list[int]:
    picks = _ids(request.form.getlist("pick"))
    order = [i for i in _ids([request.form.get("order", "")]) if i in picks]
    return order + [p for p in picks if p not in order]


def _number_from_form() -> int | None:
    text = (request.form.get("number") or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise DigestBuildError(f"期号必须是正整数 (the issue number must be a positive whole number): {text!r}")
    return int(text)


def _stored_digest(session: Session, friday: date) -> Digest | None:
    return session.scalars(select(Digest).where(Digest.friday == friday)).first()


# ---------------------------------------------------------------------------------------------------------------
# routes


def _routes(app: Flask) -> None:
    ctx = _ctx(app)
    database = ctx["database"]

    @app.route("/")
    def index():
        return redirect(url_for("week", friday=latest_friday(today_shanghai()).isoformat()))

    @app.route("/favicon.ico")
    def favicon():
        return Response(status=204)

    @app.route("/week")
    def week_jump():
        text = request.args.get("day", "")
        try:
            day = date.fromisoformat(text)
            if not FIRST_DAY <= day <= LAST_DAY:
                raise ValueError(text)
        except ValueError:
            flash(f"不是日期 (not a date, YYYY-MM-DD): {text!r}", "error")
            return redirect(url_for("index"))
        return redirect(url_for("week", friday=week_friday(day).isoformat()))

    @app.route("/week/<friday>")
    def week(friday: str):
        day = _parse_friday(friday)
        if day.weekday() != 4:
            return redirect(url_for("week", friday=week_friday(day).isoformat(), **request.args.to_dict()))
        window = Window.week(day)
        site = request.args.get("site", "").strip()
        text = request.args.get("q", "").strip()
        show_all = request.args.get("all") == "1"
        with database.session() as session:
            found = candidates(session, window, ctx["lexicon"], ctx["settings"].preferred_sources)
            sites = sorted({a.source_name for c in found for a in [c.article] + c.also})
            relevant_count = sum(1 for c in found if c.relevant)
            shown = [c for c in found if show_all or c.relevant]
            if site:
                shown = [c for c in shown if site in {a.source_name for a in [c.article] + c.also}]
            if text:
                needle = text.lower()
                shown = [c for c in shown if any(needle in (a.title or "").lower() or needle in (a.body or "").lower()
                                                 for a in [c.article] + c.also)]
            digest = _stored_digest(session, day)
            items = [{"article_id": it.article_id, "title": it.title, "source_name": it.source_name,
                      "position": it.position} for it in (digest.items if digest else [])]
            picked = {it["article_id"] for it in items}
            shown_ids = {a.id for c in shown for a in [c.article] + c.also}
            try:
                suggested = digest.number if digest else next_number(session, day)
            except DigestBuildError:
                suggested = None
            rows = [_row(c, picked) for c in shown]
            excluded = list(session.scalars(select(Article).where(
                Article.published_at >= window.start, Article.published_at < window.end,
                Article.status == "excluded").order_by(Article.published_at)))
            return render_template(
                "week.html", window=window, friday=day, rows=rows, total=len(found), relevant_count=relevant_count,
                sites=sites, site=site, q=text, show_all=show_all, digest=digest, items=items,
                shown_ids=shown_ids, number=suggested, excluded=excluded, threshold=ctx["lexicon"].threshold,
                prev_friday=(day - timedelta(days=7)).isoformat(), next_friday=(day + timedelta(days=7)).isoformat(),
                this_friday=latest_friday(today_shanghai()).isoformat(),
                settings=ctx["settings"])

    @app.route("/week/<friday>/issue", methods=["POST"])
    def save_issue(friday: str):
        day = _parse_friday(friday)
        if day.weekday() != 4:
            abort(404, description=f"{day} is not a Friday")
        back = url_for("week", friday=day.isoformat())
        ordered = _selection_from_form()
        if not ordered:
            flash("请至少选入一篇文章 (pick at least one article)", "error")
            return redirect(back)
        try:
            number = _number_from_form()
            with database.session() as session:
                _, issue = build_ordered(app, session, day, ordered, number)
        except DigestBuildError as exc:
            flash(str(exc), "error")
            return redirect(back)
        flash(f"已保存第 {issue.number} 期 {ctx['settings'].number_text(issue.number)}，共 {len(issue.items)} 篇 "
              f"(saved issue {issue.number}: {len(issue.items)} articles)", "ok")
        return redirect(back + "#issue")

    @app.route("/week/<friday>/preview", methods=["POST"])
    def preview_unsaved(friday: str):
        """The issue as it would be published with this selection, built in a transaction that is rolled back."""
        day = _parse_friday(friday)
        ordered = _selection_from_form()
        if day.weekday() != 4 or not ordered:
            abort(400, description="pick at least one article of a Friday's week to preview")
        try:
            number = _number_from_form()
            with database.sessions() as session:
                session.begin()
                try:
                    _, issue = build_ordered(app, session, day, ordered, number)
                    page = render_html(issue, ctx["settings"])
                finally:
                    session.rollback()
        except DigestBuildError as exc:
            abort(400, description=str(exc))
        response = Response(page, mimetype="text/html")
        response.headers["Content-Security-Policy"] = PREVIEW_CSP
        return response

    @app.route("/week/<friday>/issue.<fmt>")
    def issue_file(friday: str, fmt: str):
        """The stored issue of the week, rendered by crawler.digest (HTML inline; ?download=1 as an attachment)."""
        day = _parse_friday(friday)
        if fmt not in FORMATS:
            abort(404, description=f"unknown format {fmt!r} (docx, md, html)")
        with database.session() as session:
            digest = _stored_digest(session, day)
            if digest is None:
                abort(404, description=f"no issue is stored for {day}: pick articles and save first")
            issue = issue_from_digest(digest)
        with tempfile.TemporaryDirectory(prefix="hiwatch-web-") as tmp:
            path = write_outputs(issue, ctx["settings"], tmp, [fmt])[0]
            data = path.read_bytes()
        inline = fmt == "html" and request.args.get("download") != "1"
        response = Response(data, mimetype=FORMATS[fmt].split(";")[0])
        if fmt != "docx":
            response.charset = "utf-8"
        name = f"{output_stem(issue)}.{fmt}"
        response.headers["Content-Disposition"] = dump_options_header(
            "inline" if inline else "attachment",
            {"filename": f"digest-{issue.number}-{issue.friday:%Y%m%d}.{fmt}", "filename*": f"UTF-8''{quote(name)}"})
        if fmt == "html":
            response.headers["Content-Security-Policy"] = PREVIEW_CSP
        return response

    @app.route(f"/article/<int(max={MAX_ID}):article_id>")
    def article(article_id: int):
        from crawler.analyse.relevance import score

        with database.session() as session:
            row = session.get(Article, article_id)
            if row is None:
                abort(404, description=f"no article #{article_id}")
            result = score(row.title, row.body, ctx["lexicon"])
            members = []
            if row.cluster_id is not None:
                members = list(session.scalars(select(Article).where(Article.cluster_id == row.cluster_id,
                                                                     Article.id != row.id).order_by(Article.id)))
            day = as_utc(row.published_at).astimezone(SHANGHAI).date() if row.published_at else None
            has_raw = bool(row.pages)
            return render_template("article.html", a=row, result=result, members=members, has_raw=has_raw,
                                   friday=week_friday(day).isoformat() if day else None,
                                   paragraphs=[p for p in (row.body or "").split("\n") if p.strip()])

    @app.route(f"/article/<int(max={MAX_ID}):article_id>/raw")
    def article_raw(article_id: int):
        """The stored page as fetched, as plain text (never rendered), to judge the extraction against."""
        with database.session() as session:
            row = session.get(Article, article_id)
            if row is None or not row.pages:
                abort(404, description=f"no stored page for article #{article_id}")
            page = row.pages[0]
            text = gzip.decompress(page.html_gz).decode(page.encoding or "utf-8", errors="replace")
        response = Response(text, mimetype="text/plain")
        response.charset = "utf-8"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @app.route(f"/article/<int(max={MAX_ID}):article_id>/exclude", methods=["POST"])
    def exclude(article_id: int):
        reason = (request.form.get("reason") or "").strip()
        if not reason:
            flash("请写明原因 (give a reason for excluding the article)", "error")
            return redirect(url_for("article", article_id=article_id))
        with database.session() as session:
            row = session.get(Article, article_id)
            if row is None:
                abort(404, description=f"no article #{article_id}")
            row.status, row.excluded_reason = "excluded", reason[:2000]
        flash(f"#{article_id} 已标记为错误并排除 (excluded): {reason}", "ok")
        return redirect(url_for("article", article_id=article_id))

    @app.route(f"/article/<int(max={MAX_ID}):article_id>/restore", methods=["POST"])
    def restore(article_id: int):
        with database.session() as session:
            row = session.get(Article, article_id)
            if row is None:
                abort(404, description=f"no article #{article_id}")
            row.status, row.excluded_reason = "ok", None
        flash(f"#{article_id} 已恢复 (restored)", "ok")
        return redirect(url_for("article", article_id=article_id))

    @app.route("/add", methods=["GET", "POST"])
    def add():
        from crawler.run.add import AddError, add_url

        url = (request.values.get("url") or "").strip()
        source_name = (request.values.get("source_name") or "").strip()
        error = None
        if request.method == "POST":
            if not url:
                error = "请填写网址 (give the article's URL)"
            else:
                try:
                    added = add_url(database, ctx["sources"], url, source_name or None)
                except AddError as exc:
                    error = str(exc)
                except Exception as exc:  # noqa: BLE001  (an unexpected failure is still an answer, not a 500)
                    error = f"{url}: could not be added: {type(exc).__name__}: {exc}"
                else:
                    flash(f"{'已添加' if added.created else '已更新'} #{added.article_id} [{added.source_name}] "
                          f"{added.title} ({'added' if added.created else 'updated'})", "ok")
                    return redirect(url_for("article", article_id=added.article_id))
        return render_template("add.html", url=url, source_name=source_name, error=error), (422 if error else 200)


def _row(candidate: Candidate, picked: set[int]) -> dict:
    members = [candidate.article] + candidate.also
    chosen = next((m.id for m in members if m.id in picked), None)
    return {"c": candidate, "a": candidate.article, "chosen": chosen, "cluster": candidate.article.cluster_id
            or candidate.article.id}


# ---------------------------------------------------------------------------------------------------------------
# serving


def make_server(app: Flask, host: str = "127.0.0.1", port: int = 0):
    """A threaded WSGI server for `app` (port 0: a free port, see .server_port); call serve_forever()."""
    from werkzeug.serving import make_server as werkzeug_server

    return werkzeug_server(host, port, app, threaded=True)


def serve(host: str = "127.0.0.1", port: int = 8765, token: str | None = None, database_url: str | None = None,
          **options) -> None:
    """Run the review page until Ctrl-C. Bound anywhere but localhost it refuses to start without a token."""
    from crawler.config import SourcesError
    from crawler.digest.settings import DigestConfigError
    from crawler.analyse.relevance import LexiconError

    if not is_loopback_host(host):
        if not token:
            raise click.UsageError(f"refusing to serve on {host}: anything but localhost needs an access token "
                                   "(--token or HIWATCH_WEB_TOKEN)")
        if len(token) < MIN_TOKEN_LENGTH:
            raise click.UsageError(f"the access token is too short: use at least {MIN_TOKEN_LENGTH} characters")
    try:
        app = create_app(database_url, token, **options)
    except DatabaseError as exc:
        failure = click.ClickException(str(exc))
        failure.exit_code = EXIT_DATABASE  # as the main CLI: 3 when the database cannot be reached
        raise failure from None
    except (SourcesError, LexiconError, DigestConfigError) as exc:
        raise click.UsageError(str(exc)) from None
    server = make_server(app, host, port)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"hiwatch review page on http://{shown}:{server.server_port}/"
               f"{'  (access token required)' if token else ''}  — Ctrl-C stops it", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
        _ctx(app)["database"].dispose()


def is_loopback_host(host: str) -> bool:
    return security.is_loopback(host)
