"""`hiwatch sources suggest`: a sources.yaml record drafted from list pages (link shapes → dated article patterns)."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

import yaml
from lxml import html as lxml_html

from crawler.config import Rules, SourcesFile
from crawler.extract import extract
from crawler.extract.decode import decode
from crawler.urls import links_in, url_date

# date spellings in article URL paths: (detect on the path, regex emitted); the first with a day wins, leftmost
_DATE_FORMS = [
    (r"(?<=/)(?P<year>20\d\d)-(?P<month>[01]\d)/(?P<day>[0-3]\d)(?=/)", r"(?P<year>\d{4})-(?P<month>\d{2})/(?P<day>\d{2})"),
    (r"(?<=/)(?P<year>20\d\d)-(?P<month>[01]\d)-(?P<day>[0-3]\d)(?=/)", r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"),
    (r"(?<=[/_])(?P<yyyymm>20\d\d[01]\d)/(?P<day>[0-3]\d)(?=/)", r"(?P<yyyymm>\d{6})/(?P<day>\d{2})"),
    (r"(?<=/)(?P<year>20\d\d)/(?P<month>[01]\d)(?P<day>[0-3]\d)(?=/)", r"(?P<year>\d{4})/(?P<month>\d{2})(?P<day>\d{2})"),
    (r"(?<=/)(?P<year>20\d\d)/(?P<month>[01]?\d)/(?P<day>[0-3]?\d)(?=/)", r"(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})"),
    (r"(?<=[/_t])(?P<date>20\d\d[01]\d[0-3]\d)(?=[/_.])", r"(?P<date>\d{8})"),
    (r"(?<=/)(?P<date>20\d\d[01]\d[0-3]\d)(?=\d{6,}[_.])", r"(?P<date>\d{8})"),  # a timestamp name: 20250904163015…
    (r"(?<=[/_])(?P<yyyymm>20\d\d[01]\d)(?=/)", r"(?P<yyyymm>\d{6})"),  # month only: the URL dates no day
]
_DATE_RX = [(re.compile(detect), emit) for detect, emit in _DATE_FORMS]
# host labels and path segments of pages that are not text articles: photo, video, foreign-language, e-paper, forum
NON_TEXT = {
    "photo", "photos", "pic", "pics", "picture", "pictures", "img", "image", "images", "tupian", "tuku",
    "video", "videos", "v", "tv", "vod", "live", "shipin", "audio",
    "en", "english", "french", "fr", "russian", "ru", "spanish", "es", "arabic", "ar", "japanese", "jp", "j",
    "korean", "kr", "german", "de", "portuguese", "pt", "epaper", "paper", "bbs", "bbs1", "forum", "blog",
}
_ASSET = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|ico|css|js|json|pdf|docx?|xlsx?|zip|rar|mp[34]|swf)$", re.I)
_SECOND_LEVEL = {"com", "gov", "org", "net", "edu", "ac"}
_EXT = re.compile(r"\.(s?html?)$")
_PAGER_JS = re.compile(r"""createPageHTML\(\s*['"]?(\d+)['"]?\s*,\s*['"]?\d+['"]?\s*,\s*['"](\w+)['"]\s*,\s*['"](\w+)['"]""")
_SITE_META = ("SiteName", "sitename", "og:site_name", "application-name", "site_name")


def domain_of(host: str) -> str:
    """The site's domain: news.cn, people.com.cn, nhc.gov.cn; a local government's department keeps its own
    host (wjw.beijing.gov.cn: beijing.gov.cn is every Beijing office)."""
    labels = host.lower().removeprefix("www.").split(".")
    keep = 3 if len(labels) >= 3 and labels[-1] == "cn" and labels[-2] in _SECOND_LEVEL else 2
    if labels[-2:] == ["gov", "cn"] and len(labels) >= 4:
        keep = 4
    return ".".join(labels[-keep:])


@dataclass
class Shape:
    """One link cut at its date: host, full path segments before it, the partial segment, the date form, the rest."""

    url: str
    host: str
    segments: tuple[str, ...]
    partial: str
    form: int
    suffix: str
    ext: str | None

    @property
    def words(self) -> set[str]:
        """Host labels and path segments that could mark a photo, video or foreign-language page."""
        return set(self.host.split(".")[:-len(domain_of(self.host).split("."))]) | set(self.segments)


def shape_of(url: str) -> Shape | None:
    """The link's date and shape, or None when its path carries no date."""
    parts = urlsplit(url)
    path = parts.path + (("?" + parts.query) if parts.query else "")
    best = None
    for form, (rx, _) in enumerate(_DATE_RX):
        for m in rx.finditer(path):
            groups = m.groupdict()
            ym = groups.get("yyyymm") or ""
            month = int(groups.get("month") or (groups.get("date") or ym or "000000")[4:6] or 0)
            day = groups.get("day") or (groups["date"][6:8] if groups.get("date") else None)
            if not 1 <= month <= 12 or (day is not None and not 1 <= int(day) <= 31):
                continue
            key = (day is None, m.start())
            if best is None or key < best[0]:
                best = (key, form, m)
            break
    if best is None:
        return None
    _, form, m = best
    head, rest = path[:m.start()], path[m.end():]
    *segments, partial = head.lstrip("/").split("/")
    ext = _EXT.search(rest)
    suffix = _EXT.sub(".", rest) if ext else rest
    return Shape(url, (parts.hostname or "").lower(), tuple(s for s in segments if s), partial, form,
                 _generalise(suffix), ext.group(1) if ext else None)


def _generalise(text: str) -> str:
    """A regex for the path after the date: 32-hex ids and digit runs generalised, everything else literal."""
    out = []
    for token in re.findall(r"[0-9a-f]{32}|\d+|[^\d]", text):
        out.append(r"[0-9a-f]{32}" if len(token) == 32 else r"\d+" if token.isdigit() else re.escape(token))
    return "".join(out)


@dataclass
class PatternReport:
    """One drafted article pattern and the list links it matched."""

    pattern: str
    matched: list[str]


@dataclass
class Suggestion:
    """The drafted record, its YAML, and what each pattern matched and left out."""

    record: dict
    yaml: str
    patterns: list[PatternReport]
    left_out: dict[str, list[str]]
    rules_note: str
    label_note: str
    problems: list[str] = field(default_factory=list)


def _alt(words: list[str]) -> str:
    """A regex alternation of literal words."""
    return re.escape(words[0]) if len(words) == 1 else "(?:" + "|".join(map(re.escape, words)) + ")"


def _pattern(shapes: list[Shape], excluded: list[Shape]) -> str:
    """One anchored regex for a group of same-shaped links; generalised where they differ, never matching
    `excluded` (photo, video, foreign-language links) when a look-ahead can keep them out."""
    hosts = sorted({s.host for s in shapes})
    domains = sorted({domain_of(h) for h in hosts})
    bad_words = sorted({w for s in excluded for w in s.words & NON_TEXT} - {w for s in shapes for w in s.words})
    if len(hosts) == 1:
        host = re.escape(hosts[0])
    else:
        labels = sorted({w for w in bad_words if any(s.host.startswith(w + ".") for s in excluded)})
        look = f"(?!{_alt(labels)}\\.)" if labels else ""
        alt = "|".join(re.escape(d) for d in domains)
        host = f"{look}(?:[a-z0-9-]+\\.)*" + (f"(?:{alt})" if len(domains) > 1 else alt)
    if len({s.segments for s in shapes}) == 1:
        prefix = "".join((rf"\d{{{len(seg)}}}" if seg.isdigit() else re.escape(seg)) + "/" for seg in shapes[0].segments)
    else:
        segs = sorted({w for w in bad_words if any(w in s.segments for s in excluded)})
        look = f"(?!{_alt(segs)}/)" if segs else ""
        prefix = f"(?:{look}[A-Za-z0-9_-]+/)*"
    partials = {s.partial for s in shapes}
    partial = re.escape(partials.pop()) if len(partials) == 1 else r"[A-Za-z_]*"
    suffix = shapes[0].suffix
    exts = sorted({s.ext for s in shapes if s.ext})
    if exts:
        suffix = suffix.removesuffix("\\.") + (r"\." + exts[0] if len(exts) == 1 else r"\.(?:" + "|".join(exts) + ")")
    return f"^https?://{host}/{prefix}{partial}{_DATE_RX[shapes[0].form][1]}{suffix}$"


def article_patterns(links: list[str], domains: set[str], allowed: frozenset[str] = frozenset()
                     ) -> tuple[list[PatternReport], dict[str, list[str]], set[str]]:
    """Group the dated page links by shape; one pattern per group; the rest left out with a reason. Links of
    `domains` (the list pages' sites) count, and those of another domain holding a good share of the dated
    page links (news.cn's home page lists xinhuanet.com articles). Words in `allowed` (the list pages' own host
    labels and path segments: an e-paper's list is on epaper.) do not mark a link as photo, video or foreign."""
    left: dict[str, list[str]] = defaultdict(list)
    groups: dict[tuple, list[Shape]] = defaultdict(list)
    excluded: list[Shape] = []
    shapes: list[Shape] = []
    for url in links:
        if _ASSET.search(urlsplit(url).path):
            left["images, scripts, styles, documents"].append(url)
        elif (shape := shape_of(url)) is None:
            left["undated (channel, navigation, other pages)"].append(url)
        else:
            shapes.append(shape)
    per_domain: dict[str, int] = defaultdict(int)
    for shape in shapes:
        per_domain[domain_of(shape.host)] += shape.ext is not None
    most = max(per_domain.values(), default=0)
    owned = set(domains) | {d for d, n in per_domain.items() if n >= 5 and n >= most / 4}
    for shape in shapes:
        if domain_of(shape.host) not in owned:
            left["other sites"].append(shape.url)
        elif shape.words & (NON_TEXT - allowed):
            excluded.append(shape)
            left["photo, video, foreign-language or e-paper"].append(shape.url)
        else:
            groups[(shape.form, shape.suffix, shape.ext is None)].append(shape)
    reports = []
    total = sum(len(g) for g in groups.values())
    for key, shapes in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        if key[2] or (len(shapes) < 2 and total > 5):  # no page extension, or a one-off among many
            left["dated but rare or not a page"].extend(s.url for s in shapes)
            continue
        pattern = _pattern(shapes, excluded)
        rx = re.compile(pattern)
        if any(rx.search(s.url) for s in excluded):  # the look-aheads could not keep them out: pin the prefix
            shapes_by_prefix = defaultdict(list)
            for s in shapes:
                shapes_by_prefix[s.segments].append(s)
            for sub in shapes_by_prefix.values():
                reports.append(PatternReport(_pattern(sub, excluded), [s.url for s in sub]))
            continue
        reports.append(PatternReport(pattern, [s.url for s in shapes]))
    used = {domain_of(urlsplit(u).hostname or "") for r in reports for u in r.matched}
    return reports, dict(left), used


def paginate_for(list_url: str, text: str, links: list[str]) -> dict | None:
    """A `paginate` entry when the list page links its own next page (index_1.html, index2.html, node_9_2.htm)
    or names it in a TRS pager script (createPageHTML(pages, current, "index", "shtml"))."""
    base = list_url.rsplit("/", 1)[0] + "/"
    name = list_url.rsplit("/", 1)[1] or "index.html"
    stem, dot, ext = name.partition(".")
    js = _PAGER_JS.search(text)
    if js and int(js.group(1)) > 1:
        return {"template": f"{js.group(2)}_{{n}}.{js.group(3)}", "first": 1, "max_pages": min(int(js.group(1)) - 1, 5)}
    rx = re.compile(rf"^{re.escape(base)}{re.escape(stem)}([_-]?)(\d+){re.escape(dot + ext)}$")
    found = sorted((int(m.group(2)), m.group(1)) for url in links if (m := rx.match(url)))
    if not found:
        return None
    first, sep = found[0]
    return {"template": f"{stem}{sep}{{n}}{dot}{ext}", "first": first, "max_pages": 5}


def guess_label(text: str) -> tuple[str | None, str]:
    """The site's name from its meta tags or <title> tail, and where it came from."""
    for name in _SITE_META:
        m = re.search(rf"""<meta[^>]+(?:name|property)\s*=\s*["']{re.escape(name)}["'][^>]*content\s*=\s*["']([^"']+)""", text, re.I)
        if m and m.group(1).strip():
            return m.group(1).strip(), f"meta {name}"
    m = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    if m:
        title = re.sub(r"\s+", " ", m.group(1)).strip()
        parts = [p.strip() for p in re.split(r"\s*(?:--|[-_|—–·])\s*", title) if p.strip()]
        names = [p for p in parts if len(p) <= 16 and re.search(r"(?:网|报|台|社|局|委员会|政府|中心|网站)$", p)]
        if names or parts:
            return (names or parts)[-1 if not names else 0], "the <title>"
    return None, "nothing (no site name on the page)"


def _own_selector(el) -> str | None:
    if el.get("id") and re.fullmatch(r"[A-Za-z][\w-]*", el.get("id")):
        return "#" + el.get("id")
    classes = [c for c in (el.get("class") or "").split() if re.fullmatch(r"[A-Za-z][\w-]*", c)]
    return f"{el.tag}.{classes[0]}" if classes else None


def _selector(el) -> str | None:
    """`#id` or `tag.class` for an element; `parent-selector tag` when only its parent has either."""
    own = _own_selector(el)
    parent = el.getparent()
    if own or parent is None:
        return own
    above = _own_selector(parent)
    return f"{above} {el.tag}" if above else None


def _smallest_holding(root, needles: list[str], tags: tuple[str, ...]) -> str | None:
    """The selector of the smallest element (with an id or class) whose text holds every needle."""
    best = None
    for el in root.iter(*tags):
        text = el.text_content()
        if all(n in text for n in needles) and _selector(el):
            if best is None or len(text) < best[0]:
                best = (len(text), _selector(el))
    return best[1] if best else None


def rules_for(page: bytes, url: str) -> tuple[dict, str]:
    """The rules an article page needs: none when the built-in path extracts title, body and date; else the
    selectors of the elements holding what the generic path found (kept only if extraction with them agrees)."""
    plain = extract(page, url, Rules())
    have = [k for k, v in (("title", plain.title), ("body", plain.body), ("date", plain.published_at)) if v]
    if plain.extractor.startswith("builtin:") and len(have) == 3 and plain.date_source != "url":
        return {}, f"none needed: the built-in template ({plain.extractor}) extracts title, body and date"
    if not plain.body:
        return {}, "none: no article body found on the page (give another with --article)"
    root = lxml_html.fromstring(decode(page)[0])
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    rules: dict = {}
    lines = [line for line in plain.body.splitlines() if line.strip()]
    body = _smallest_holding(root, [lines[0][:20], lines[-1][:20]], ("div", "article", "section", "span", "td"))
    if body:
        rules["body"] = [body]
    if plain.title:
        title = _smallest_holding(root, [plain.title[:20]], ("h1", "h2", "div", "p"))
        if title:
            rules["title"] = [title]
    if plain.published_at and plain.date_source not in ("url", "meta"):
        date_rx = re.compile(r"20\d\d\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2}")
        holders = sorted((len(el.text_content()), _selector(el)) for el in root.iter("div", "span", "p", "em", "i", "td")
                         if date_rx.search(el.text_content()[:80]) and _selector(el))
        for _, selector in holders[:5]:  # the smallest holder whose date is the one the generic path found
            dated = extract(page, url, Rules(date=[selector]))
            if dated.published_at and dated.published_at.date() == plain.published_at.date():
                rules["date"] = [selector]
                break
    checked = extract(page, url, Rules(**rules))
    if not rules or len(checked.body) < 0.8 * len(plain.body):
        return {}, f"none: the generic path ({plain.extractor}) finds {', '.join(have)}; no selector did better"
    return rules, f"from the elements holding what the generic path ({plain.extractor}) found: check them"


def _record_yaml(record: dict, label_note: str, rules_note: str) -> str:
    """The record as a sources.yaml list item, with the label and rules notes as comments."""
    text = yaml.safe_dump([record], allow_unicode=True, sort_keys=False, width=400, default_flow_style=False)
    lines = []
    for line in text.splitlines():
        if line.startswith("  label:"):
            line += f"   # GUESSED from {label_note}: confirm the 来源 the digest should print"
        lines.append("  " + line)
    if not record.get("rules"):
        lines.append(f"    # rules: {rules_note}")
    return "\n".join(lines) + "\n"


def suggest(pages: list[tuple[str, bytes]], article: tuple[str, bytes] | None = None, name: str | None = None,
            fetch=None) -> Suggestion:
    """Draft a record from list pages (url, bytes); `article` is an article page, else the first matching link
    is fetched with `fetch(url) -> bytes` when given. The record is validated as `sources validate` does."""
    domains = {domain_of(urlsplit(url).hostname or "") for url, _ in pages}
    all_links: list[str] = []
    discovery: dict[str, dict] = {}
    label, label_from = None, "nothing"
    for url, body in pages:
        text = decode(body)[0]
        links = links_in(text, url)
        all_links.extend(link for link in links if link not in all_links)
        pager = paginate_for(url, text, links)
        key = repr(pager)
        discovery.setdefault(key, {"type": "list", "urls": [], **({"paginate": pager} if pager else {})})
        discovery[key]["urls"].append(url)
        if label is None:
            label, label_from = guess_label(text)
            if label and url.split("/")[2].endswith(".gov.cn") and not label.endswith(("网", "网站")):
                label += "网站"  # the digest prints a government office's site as 国家卫生健康委员会网站
    allowed = frozenset(w for url, _ in pages for w in re.split(r"[./]", urlsplit(url).hostname or "")
                        + urlsplit(url).path.split("/"))
    reports, left, used = article_patterns(all_links, domains, allowed)
    problems = [] if reports else ["no dated article links found: give a list page whose links carry dates"]
    hosts = sorted(domains | used)
    record: dict = {
        "name": name or re.sub(r"[^a-z0-9_]", "", sorted(domains)[0].split(".")[0].lower()) or "site",
        "label": label or hosts[0],
        "hosts": hosts,
        "article_patterns": [r.pattern for r in reports] or ["^$"],
        "discovery": list(discovery.values()),
    }
    rules_note = "none: no article page to look at"
    if article is None and fetch and reports:
        rx = [re.compile(reports[0].pattern)]
        newest = sorted(reports[0].matched, key=lambda u: url_date(u, rx) or date.min, reverse=True)
        for sample in newest[:3]:  # the newest links first; the next when one cannot be fetched
            try:
                article = (sample, fetch(sample))
                break
            except Exception as exc:  # noqa: BLE001 — the draft is still useful without the article
                rules_note = f"none: the sample article {sample} could not be fetched ({exc})"
    if article is not None:
        rules, rules_note = rules_for(article[1], article[0])
        if rules:
            record["rules"] = rules
    text = _record_yaml(record, label_from, rules_note)
    try:
        SourcesFile.model_validate({"sources": yaml.safe_load(text)})
    except Exception as exc:  # pydantic.ValidationError: the same models `sources validate` uses
        problems.append(f"the draft does not validate: {exc}")
    return Suggestion(record, text, reports, left, rules_note, label_from, problems)


def report_lines(suggestion: Suggestion, shown: int = 5) -> list[str]:
    """What each pattern matched and what the draft left out, for the operator."""
    out = []
    for n, rep in enumerate(suggestion.patterns, 1):
        out.append(f"pattern {n} matches {len(rep.matched)} links, e.g. {rep.matched[0]}")
    for reason, urls in suggestion.left_out.items():
        out.append(f"left out {len(urls)} {reason}: " + ", ".join(urls[:shown]) + (" …" if len(urls) > shown else ""))
    out.append(f"rules: {suggestion.rules_note}")
    out.extend(f"PROBLEM: {p}" for p in suggestion.problems)
    return out


def fetcher(user_agent: str, replay_url: str | None = None):
    """`fetch(url) -> bytes` for suggest(): robots.txt honoured, live or through a replay server."""
    from crawler.run.fetch import fetch_page

    return lambda url: fetch_page(url, user_agent, replay_url).body
