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
from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer
from werkzeug.http import dump_options_header  # RFC 6266 filename* for the Chinese file name

from crawler.db import DatabaseError, connect
from crawler.db.models import Article, Digest, DigestItem
from crawler.db.cluster import as_utc
from crawler.digest.build import (DigestBuildError, build_issue, issue_from_digest, next_number, output_stem,
                                  write_outputs)
from crawler.digest.candidates import Candidate, candidates, collector_paused
from crawler.digest.render import render_html
from crawler.web import drafts, security, wording
from crawler.window import SHANGHAI, Window, latest_friday, today_shanghai

HERE = Path(__file__).resolve().parent
FORMATS = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           "md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}
# the issue's own HTML (inline <style>, no script) shown in the preview frame
PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'"
OPENING_CHARS = 160
MIN_TOKEN_LENGTH = 8
EXIT_DATABASE = 3
BUILT_BY = {"cli": "命令行", "page": "审阅页面"}
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
    app.jinja_env.globals["words"] = wording
    app.jinja_env.globals["site_labels"] = {s.name: s.label for s in app.extensions["hiwatch"]["sources"].sources}
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
    @app.errorhandler(405)
    @app.errorhandler(413)
    def _error(exc):
        message = exc.description if _has_chinese(exc.description) else ERRORS.get(exc.code, "请求有误")
        back = _week_of(request.view_args) if request.view_args else None
        return render_template("error.html", code=exc.code, title=ERROR_TITLES.get(exc.code, "出错了"),
                               message=message, back=back), exc.code

    return app


ERROR_TITLES = {400: "请求有误", 401: "需要登录", 404: "找不到", 405: "不支持的操作", 413: "提交的内容太大"}
ERRORS = {404: "没有这个页面", 405: "这个地址不接受这种请求", 413: "提交的内容超过 1 MB"}


def _has_chinese(text: str | None) -> bool:
    return bool(text) and re.search(r"[\u4e00-\u9fff]", text) is not None


def _week_of(view_args: dict) -> str | None:
    """The week an error page goes back to: the Friday in the failed URL, if it is one."""
    try:
        day = date.fromisoformat(view_args.get("friday", ""))
    except (TypeError, ValueError):
        return None
    return week_friday(day).isoformat()


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
        abort(404, description=f"不是日期（应为 年-月-日，如 2025-09-05）：{text}")
    if not FIRST_DAY <= day <= LAST_DAY:  # a week at the ends of the calendar cannot be computed (date overflow)
        abort(400, description=f"{text}：超出范围（{FIRST_DAY} 至 {LAST_DAY}）")
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
    labels = {source.name: source.label for source in sources.sources}
    try:
        data = status_data(database, sources)
        runs = [r for r in runs_data(database, 10) if r["kind"] == "crawl"]
    except Exception as exc:  # noqa: BLE001  (the status line must never take the page down)
        return {"error": f"无法读取抓取状态：{exc}"}
    last = runs[0] if runs else None
    rows = []
    if last:
        for name, counts in sorted(last["sources"].items()):
            nothing = counts.get("links_found", 0) == 0 or name in data["silent_sources"]
            rows.append({"name": name, "label": labels.get(name, name), "links": counts.get("links_found", 0),
                         "stored": counts.get("stored", 0), "errors": counts.get("errors", 0) + counts.get("blocked", 0), "nothing": nothing})
    pages = [{**page, "label": labels.get(page["source"], page["source"])} for page in data["silent_pages"]]
    return {"last": last, "sources": rows, "silent": data["silent_sources"], "last_success": data["last_success"],
            "silent_pages": pages,  # list pages with no article link in their site's last runs (hiwatch status)
            "bad": bool(last) and (last["status"] == "failed" or any(r["nothing"] for r in rows) or bool(pages)),
            "failures": len(last["failures"]) if last else 0}


# ---------------------------------------------------------------------------------------------------------------
# the issue: build through crawler.digest, then the analyst's order


def build_ordered(app: Flask, session: Session, friday: date, ordered: list[int], number: int | None):
    """Store the issue of `friday` printing exactly `ordered` (article ids) in that order, as `digest build
    --pick … --only` stores it; return (BuildResult, Issue)."""
    ctx = _ctx(app)
    result = build_issue(session, friday, ctx["settings"], ctx["lexicon"], number=number, picks=ordered, only=True)
    session.get(Digest, result.digest_id).built_by = "page"
    session.flush()
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
        raise DigestBuildError(f"期号必须是正整数：{text}")
    return int(text)


def _stored_digest(session: Session, friday: date) -> Digest | None:
    return session.scalars(select(Digest).where(Digest.friday == friday)).first()


def _panel_state(friday: date, saved: drafts.Selection, state: drafts.Selection, digest: Digest | None,
                 items: list[dict]) -> dict:
    """What the panel's script starts from: its cookie, the stored and the current selection (the draft less any
    article that no longer exists), the titles it may show."""
    return {"cookie": drafts.cookie_name(friday), "saved": saved.to_json(), "current": state.to_json(),
            "stored": digest is not None,
            "known": {str(it["article_id"]): {"title": it["title"], "source": it["source_name"]} for it in items}}


def _latest_candidate_week(session: Session, current: date, threshold: float) -> date | None:
    """The Friday of the latest week, up to `current`'s, with an article at or above the threshold."""
    latest = session.scalar(select(func.max(Article.published_at)).where(
        Article.status == "ok", Article.relevance >= threshold, Article.published_at < Window.week(current).end))
    return week_friday(as_utc(latest).astimezone(SHANGHAI).date()) if latest else None


def _panel_items(session: Session, digest: Digest | None, ids) -> list[dict]:
    """The selection panel's rows for `ids`: the stored item's title where the issue has it, else the article's."""
    stored = {it.article_id: it for it in (digest.items if digest else []) if it.article_id is not None}
    rows = []
    for article_id in ids:
        row = stored.get(article_id) or session.get(Article, article_id)
        if row is not None:
            rows.append({"article_id": article_id, "title": row.title, "source_name": row.source_name})
    return rows


def _unconfirmed_overwrite(session: Session, friday: date, ordered: list[int], number: int | None) -> str | None:
    """Why saving over the stored issue of `friday` is refused (it would change it and was not confirmed)."""
    digest = _stored_digest(session, friday)
    if digest is None or request.form.get("overwrite") == "1":
        return None
    saved = drafts.Selection(str(digest.number), tuple(it.article_id for it in digest.items))
    new = drafts.Selection(str(number if number is not None else digest.number), tuple(ordered))
    titles = {it.article_id: it.title for it in digest.items}
    titles.update({a.id: a.title for a in session.scalars(select(Article).where(Article.id.in_(ordered)))})
    changed = drafts.changes(saved, new, titles)
    if not changed:
        return None
    return f"第 {digest.number} 期已保存，未覆盖：覆盖前请确认这些更改 —— {'；'.join(changed)}"


# ---------------------------------------------------------------------------------------------------------------
# routes


def _routes(app: Flask) -> None:
    ctx = _ctx(app)
    database = ctx["database"]

    @app.route("/")
    def index():
        """The latest week with candidates or with an unsaved selection (not past this week), saying which."""
        current = latest_friday(today_shanghai())
        with database.session() as session:
            found = _latest_candidate_week(session, current, ctx["lexicon"].threshold)
        draft = next((d for d in drafts.fridays(request.cookies) if d <= current), None)
        chosen = max([d for d in (found, draft) if d is not None], default=current)
        window = Window.week(chosen)
        span = f"{window.first:%Y-%m-%d} – {window.last:%Y-%m-%d}"
        if chosen == draft and chosen == found:
            note = f"已打开 {span}：最近有候选文章、也有未保存的选择的一周"
        elif chosen == draft:
            note = f"已打开 {span}：这一周有未保存的选择"
        elif chosen == found:
            note = f"已打开 {span}：最近有候选文章的一周" + ("（即本周）" if chosen == current else "")
        else:
            note = f"已打开本周 {span}：还没有任何候选文章"
        flash(note, "info")
        return redirect(url_for("week", friday=chosen.isoformat()))

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
            flash(f"不是日期（应为 年-月-日，如 2025-09-05）：{text}", "error")
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
        limit = _shown_limit(request.args.get("n"))
        # the collector paused for the whole page: at 250,000 stored articles its passes over a week's ORM rows and
        # the page's objects made the p95 369 ms against 212 ms paused (docs/benchmarks.md); cycles wait for later
        with collector_paused(), database.session() as session:
            found = candidates(session, window, ctx["lexicon"], ctx["settings"].preferred_sources)
            sites = sorted({a.source_name for c in found for a in [c.article] + c.also})
            relevant_count = sum(1 for c in found if c.relevant)
            shown = [c for c in found if show_all or c.relevant]
            if site:
                shown = [c for c in shown if site in {a.source_name for a in [c.article] + c.also}]
            if text:
                matching = _matching_ids(session, window, text)
                shown = [c for c in shown if c.member_ids() & matching]
            digest = _stored_digest(session, day)
            try:
                suggested = digest.number if digest else next_number(session, day)
            except DigestBuildError:
                suggested = None
            saved = drafts.Selection(str(suggested or ""), tuple(
                it.article_id for it in (digest.items if digest else []) if it.article_id is not None))
            draft = drafts.read(request.cookies, day)
            state = draft if draft is not None else saved
            items = _panel_items(session, digest, state.ids)
            state = drafts.Selection(state.number, tuple(it["article_id"] for it in items))
            picked = set(state.ids)
            # the best `limit` cards, and any later one holding a picked copy (its tick and cluster stay on the page)
            page = [c for at, c in enumerate(shown) if limit is None or at < limit or c.member_ids() & picked]
            bodies = _bodies(session, [c.article.id for c in page])
            rows = [_row(c, picked, ctx["lexicon"], bodies.get(c.article.id, "")) for c in page]
            hidden = len(shown) - len(page)
            more = {"hidden": hidden, "next": None, "all": None, "anchor": None}
            if hidden:
                args = {k: v for k, v in request.args.items() if k not in ("n", "friday")}
                first_hidden = next(c for c in shown[limit:] if not c.member_ids() & picked)
                more.update(
                    next=url_for("week", friday=day.isoformat(), **args, n=limit + PAGE_SIZE),
                    all=url_for("week", friday=day.isoformat(), **args, n="all"),
                    anchor=f"cand-{first_hidden.article.id}")
            excluded = list(session.scalars(select(Article).options(defer(Article.body)).where(
                Article.published_at >= window.start, Article.published_at < window.end,
                Article.status == "excluded").order_by(Article.published_at)))
            return render_template(
                "week.html", window=window, friday=day, rows=rows, total=len(found), relevant_count=relevant_count,
                matched=len(shown), more=more,
                sites=sites, site=site, q=text, show_all=show_all, digest=digest, items=items,
                number=state.number, suggested=suggested, excluded=excluded, saved_count=len(saved.ids),
                dirty=state != saved, panel_state=_panel_state(day, saved, state, digest, items),
                threshold=ctx["lexicon"].threshold,
                prev_friday=(day - timedelta(days=7)).isoformat(), next_friday=(day + timedelta(days=7)).isoformat(),
                this_friday=latest_friday(today_shanghai()).isoformat(),
                settings=ctx["settings"])

    @app.route("/week/<friday>/issue", methods=["POST"])
    def save_issue(friday: str):
        day = _parse_friday(friday)
        if day.weekday() != 4:
            abort(404, description=f"{day} 不是星期五：每期以星期五为准")
        back = url_for("week", friday=day.isoformat())
        ordered = _selection_from_form()
        if not ordered:
            flash("请至少选入一篇文章", "error")
            return redirect(back)
        try:
            number = _number_from_form()
            with database.session() as session:
                refused = _unconfirmed_overwrite(session, day, ordered, number)
                if refused:
                    flash(refused, "error")
                    return redirect(back)
                _, issue = build_ordered(app, session, day, ordered, number)
        except DigestBuildError as exc:
            flash(wording.chinese(str(exc)), "error")
            return redirect(back)
        flash(f"已保存第 {issue.number} 期 {ctx['settings'].number_text(issue.number)}，共 {len(issue.items)} 篇", "ok")
        response = redirect(back + "#issue")
        response.delete_cookie(drafts.cookie_name(day), path="/", samesite="Lax")
        return response

    @app.route("/week/<friday>/preview", methods=["POST"])
    def preview_unsaved(friday: str):
        """The issue as it would be published with this selection, built in a transaction that is rolled back."""
        day = _parse_friday(friday)
        if day.weekday() != 4:
            abort(404, description=f"{day} 不是星期五：每期以星期五为准")
        ordered = _selection_from_form()
        if not ordered:  # back to the week it came from, which says why
            flash("没有可预览的内容：请先选入至少一篇文章", "error")
            return redirect(url_for("week", friday=day.isoformat()))
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
            abort(400, description=wording.chinese(str(exc)))
        response = Response(page, mimetype="text/html")
        response.headers["Content-Security-Policy"] = PREVIEW_CSP
        return response

    @app.route("/week/<friday>/issue.<fmt>")
    def issue_file(friday: str, fmt: str):
        """The stored issue of the week, rendered by crawler.digest (HTML inline; ?download=1 as an attachment)."""
        day = _parse_friday(friday)
        if fmt not in FORMATS:
            abort(404, description="没有这种格式的周报文件：可下载 DOCX、Markdown 或 HTML")
        with database.session() as session:
            digest = _stored_digest(session, day)
            if digest is None:
                abort(404, description=f"{day} 这一周还没有保存的周报：请先选入文章并保存")
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

    @app.route("/issues")
    def archive():
        """Every stored issue, latest first: number, week, items, when and how it was built, its files."""
        with database.session() as session:
            counts = {digest_id: n for digest_id, n in session.execute(
                select(DigestItem.digest_id, func.count()).group_by(DigestItem.digest_id))}
            issues = [{"number": d.number, "friday": d.friday, "first": d.window_start, "last": d.window_end,
                       "items": counts.get(d.id, 0), "built_at": d.built_at,
                       "built_by": BUILT_BY.get(d.built_by or "", "未记录"),
                       "number_text": ctx["settings"].number_text(d.number)}
                      for d in session.scalars(select(Digest).order_by(Digest.friday.desc()))]
        return render_template("archive.html", issues=issues)

    @app.route(f"/article/<int(max={MAX_ID}):article_id>")
    def article(article_id: int):
        from crawler.analyse.relevance import score

        with database.session() as session:
            row = session.get(Article, article_id)
            if row is None:
                abort(404, description=f"没有编号为 #{article_id} 的文章")
            result = score(row.title, row.body, ctx["lexicon"])
            members = []
            if row.cluster_id is not None:
                members = list(session.scalars(select(Article).where(Article.cluster_id == row.cluster_id,
                                                                     Article.id != row.id).order_by(Article.id)))
            day = as_utc(row.published_at).astimezone(SHANGHAI).date() if row.published_at else None
            has_raw = bool(row.pages)
            return render_template("article.html", a=row, result=result, members=members, has_raw=has_raw,
                                   explanation=wording.explain(result), key=wording.key_terms(result),
                                   reason=wording.reason(result),
                                   friday=week_friday(day).isoformat() if day else None,
                                   paragraphs=[p for p in (row.body or "").split("\n") if p.strip()])

    @app.route(f"/article/<int(max={MAX_ID}):article_id>/raw")
    def article_raw(article_id: int):
        """The stored page as fetched, as plain text (never rendered), to judge the extraction against."""
        with database.session() as session:
            row = session.get(Article, article_id)
            if row is None or not row.pages:
                abort(404, description=f"文章 #{article_id} 没有保存的网页源码")
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
            flash("请写明排除的原因", "error")
            return redirect(url_for("article", article_id=article_id))
        with database.session() as session:
            row = session.get(Article, article_id)
            if row is None:
                abort(404, description=f"没有编号为 #{article_id} 的文章")
            row.status, row.excluded_reason = "excluded", reason[:2000]
        flash(f"#{article_id} 已标记为错误并排除：{reason}", "ok")
        return redirect(url_for("article", article_id=article_id))

    @app.route(f"/article/<int(max={MAX_ID}):article_id>/restore", methods=["POST"])
    def restore(article_id: int):
        with database.session() as session:
            row = session.get(Article, article_id)
            if row is None:
                abort(404, description=f"没有编号为 #{article_id} 的文章")
            row.status, row.excluded_reason = "ok", None
        flash(f"#{article_id} 已恢复为候选", "ok")
        return redirect(url_for("article", article_id=article_id))

    @app.route("/add", methods=["GET", "POST"])
    def add():
        from crawler.run.add import AddError, add_url

        url = (request.values.get("url") or "").strip()
        source_name = (request.values.get("source_name") or "").strip()
        error = None
        if request.method == "POST":
            if not url:
                error = "请填写网址"
            else:
                try:
                    added = add_url(database, ctx["sources"], url, source_name or None)
                except AddError as exc:
                    error = wording.chinese(str(exc))
                except Exception as exc:  # noqa: BLE001  (an unexpected failure is still an answer, not a 500)
                    error = f"{url}：无法添加（{type(exc).__name__}: {exc}）"
                else:
                    flash(f"{'已添加' if added.created else '已更新'} #{added.article_id}（{added.source_name}）"
                          f"{added.title}", "ok")
                    return redirect(url_for("article", article_id=added.article_id))
        return render_template("add.html", url=url, source_name=source_name, error=error), (422 if error else 200)


def _row(candidate: Candidate, picked: set[int], lexicon, body: str) -> dict:
    """One candidate card: the story, which of its copies is picked (if any), its cluster key, the terms that
    carried its score (the ones marked), the score's reason in one line and the body the opening is cut from."""
    from crawler.analyse.relevance import score

    members = [candidate.article] + candidate.also
    chosen = next((m.id for m in members if m.id in picked), None)
    result = score(candidate.article.title, body, lexicon)
    return {"c": candidate, "a": candidate.article, "chosen": chosen, "cluster": candidate.article.cluster_id
            or candidate.article.id, "key": wording.key_terms(result), "reason": wording.reason(result),
            "body": body}


PAGE_SIZE = 100  # candidate cards the week page renders at first; the rest on demand (?n=200, ?n=all)


def _shown_limit(value: str | None) -> int | None:
    """How many cards to render: ?n=all (None: every one), ?n=N (at least PAGE_SIZE), else PAGE_SIZE."""
    if value == "all":
        return None
    if value and value.isdigit():
        return max(PAGE_SIZE, min(int(value), 10**6))
    return PAGE_SIZE


def _bodies(session: Session, ids: list[int]) -> dict[int, str]:
    """id → body of these articles, a few queries for all (the candidates were loaded without their bodies)."""
    out: dict[int, str] = {}
    for at in range(0, len(ids), 500):
        out.update(session.execute(select(Article.id, Article.body).where(Article.id.in_(ids[at:at + 500]))).all())
    return out


def _matching_ids(session: Session, window: Window, text: str) -> set[int]:
    """Ids of the window's stored articles whose title or body contains `text` (case-insensitive, as Python
    lowers it): read as plain rows, not ORM objects."""
    needle = text.lower()
    rows = session.execute(select(Article.id, Article.title, Article.body).where(
        Article.published_at >= window.start, Article.published_at < window.end, Article.status == "ok"))
    return {article_id for article_id, title, body in rows
            if needle in (title or "").lower() or needle in (body or "").lower()}


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

    try:
        token = security.usable_token(token)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
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
