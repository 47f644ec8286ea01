"""The publish-date chain for Chinese news pages.

Candidates come from, in priority order: a site rule selector ('rule'), date metas and Founder
``<!--enpproperty <date>…</date>-->`` comments ('meta'), Chinese date-time text near the title ('text'),
the URL ('url'), and htmldate as a last resort ('htmldate'). Page times are Asia/Shanghai wall-clock
times; the result is timezone-aware UTC. Future dates (later than ``now``) and absurdly old ones are
rejected. Among the candidates that agree with the anchor day (the URL's day when the URL has one,
else the best-priority candidate's day) the most precise one wins.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no DST in China since 1991
MIN_YEAR = 1990
PRIORITY = {"rule": 0, "meta": 1, "text": 2, "url": 3, "htmldate": 4}
PRECISION_RANK = {"day": 0, "minute": 1, "second": 2}

_FULLWIDTH = str.maketrans("０１２３４５６７８９：／－", "0123456789:/-")

# 2025年08月31日09:12 · 2025年8月31日 09:12:05 · 2025-08-31 09:12 · 2025/8/31 · 2025.08.31 · 2025-08-31T09:12:05+08:00
_DT = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?:(?P<cn>年)|[-/.])\s*(?P<m>\d{1,2})\s*(?(cn)月|[-/.])\s*(?P<d>\d{1,2})(?!\d)\s*(?(cn)日?)"
    r"(?:\s*(?:T|[日号]|,)?\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})(?:\s*[:：分]\s*(?P<S>\d{1,2})(?:\.\d+)?)?(?!\d)"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?)?"
)
# Dates in article URLs: /2024/0424/ (people), /20240919/ (news.cn, cnr), /2020-02/19/ (xinhua old, gmw),
# /2025/07/01/ (bjd), t20250428_ (cnr), _20250212_ (gmrb e-paper), /202601/15/ (e-paper), /2020-02-19/ (sina)
_URL_PATTERNS = [
    re.compile(r"/(?P<y>(?:19|20)\d{2})-(?P<m>\d{2})/(?P<d>\d{2})/"),
    re.compile(r"/(?P<y>(?:19|20)\d{2})-(?P<m>\d{2})-(?P<d>\d{2})/"),
    re.compile(r"/(?P<y>(?:19|20)\d{2})/(?P<m>\d{2})/(?P<d>\d{2})/"),
    re.compile(r"/(?P<y>(?:19|20)\d{2})/(?P<m>\d{2})(?P<d>\d{2})/"),
    re.compile(r"/(?P<y>(?:19|20)\d{2})(?P<m>\d{2})/(?P<d>\d{2})/"),
    re.compile(r"[/_t](?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})(?=[/_.])"),
]
_WAYBACK = re.compile(r"^https?://web\.archive\.org/web/\d+[a-z_]*/", re.I)
_META_NAMES = (
    "publishdate", "pubdate", "publish_date", "publishtime", "publish-date", "pubtime", "article:published_time",
    "og:release_date", "og:published_time", "datepublished", "dc.date.issued", "dc.date", "date", "sailthru.date",
    "parsely-pub-date", "weibo:article:create_at", "releasedate", "firstpublishedtime", "apub:time",
)
_ENP_DATE = re.compile(r"<date>\s*([^<]{8,40})</date>", re.I)
_JSON_LD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')


@dataclass(frozen=True)
class Candidate:
    """One date a source proposes: naive Asia/Shanghai wall-clock (or aware) datetime with its precision."""

    value: datetime
    source: str
    precision: str

    def local(self) -> datetime:
        if self.value.tzinfo is None:
            return self.value.replace(tzinfo=SHANGHAI)
        return self.value.astimezone(SHANGHAI)

    def utc(self) -> datetime:
        return self.local().astimezone(timezone.utc)


def _mk(y: str, m: str, d: str, hh: str | None = None, mm: str | None = None, ss: str | None = None,
        tz: str | None = None) -> tuple[datetime, str] | None:
    try:
        year, month, day = int(y), int(m), int(d)
        if year < MIN_YEAR:
            return None
        if hh is None or mm is None:
            return datetime(year, month, day), "day"
        value = datetime(year, month, day, int(hh), int(mm), int(ss or 0))
    except ValueError:
        return None
    if tz:
        if tz == "Z":
            value = value.replace(tzinfo=timezone.utc)
        else:
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            value = value.replace(tzinfo=timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))))
    return value, ("second" if ss is not None else "minute")


def parse_datetimes(text: str, limit: int = 20) -> list[tuple[datetime, str]]:
    """Every date or date-time in `text` (Chinese 年月日, ISO, slashed), in order, with its precision."""
    if not text:
        return []
    text = text.translate(_FULLWIDTH)
    found = []
    for match in _DT.finditer(text):
        parsed = _mk(match["y"], match["m"], match["d"], match["H"], match["M"], match["S"], match["tz"])
        if parsed:
            found.append(parsed)
            if len(found) >= limit:
                break
    return found


def parse_datetime(text: str) -> tuple[datetime, str] | None:
    """The first date in `text`, preferring a date-time: '2025年08月31日09:12 | 来源：…' → (09:12, 'minute')."""
    found = parse_datetimes(text, limit=5)
    if not found:
        return None
    best = found[0]
    for value, precision in found[1:]:
        if value.date() == best[0].date() and PRECISION_RANK[precision] > PRECISION_RANK[best[1]]:
            best = (value, precision)
    return best


def date_from_url(url: str | None) -> date | None:
    """The day an article URL carries (people /YYYY/MMDD/, news.cn /YYYYMMDD/, gmw /YYYY-MM/DD/, cnr tYYYYMMDD_ …)."""
    if not url:
        return None
    url = _WAYBACK.sub("", url)
    path = re.sub(r"^[a-z]+://[^/]+", "", url, flags=re.I).split("?")[0]
    for pattern in _URL_PATTERNS:
        for match in pattern.finditer(path):
            try:
                day = date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                continue
            if day.year >= MIN_YEAR:
                return day
    return None


def meta_candidates(metas: dict[str, str], comments: list[str] = (), html_head: str = "") -> list[Candidate]:
    """Dates from <meta> (publishdate, article:published_time …), Founder enpproperty comments and JSON-LD."""
    out: list[Candidate] = []
    for name in _META_NAMES:
        value = metas.get(name)
        if value:
            parsed = parse_datetime(value)
            if parsed:
                out.append(Candidate(parsed[0], "meta", parsed[1]))
    for comment in comments:
        match = _ENP_DATE.search(comment)
        if match:
            parsed = parse_datetime(match.group(1))
            if parsed:
                out.append(Candidate(parsed[0], "meta", parsed[1]))
    if html_head:
        match = _JSON_LD_DATE.search(html_head)
        if match:
            parsed = parse_datetime(match.group(1))
            if parsed:
                out.append(Candidate(parsed[0], "meta", parsed[1]))
    return out


def choose(candidates: list[Candidate], url_day: date | None, now: datetime | None = None) -> Candidate | None:
    """Pick the publish date: drop future/absurd candidates, anchor on a day, take the most precise on that day."""
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    # A day-precision date is "not in the future" when its day has begun in Shanghai.
    valid = []
    for cand in candidates:
        when = cand.utc()
        if cand.precision == "day":
            if cand.local().date() > now.astimezone(SHANGHAI).date():
                continue
        elif when > now + timedelta(minutes=5):
            continue
        valid.append(cand)
    if url_day and url_day <= now.astimezone(SHANGHAI).date():
        url_cand = Candidate(datetime.combine(url_day, time()), "url", "day")
        agreeing = [c for c in valid if c.local().date() == url_day]
        if not agreeing:
            # A page date one day off the URL day is a late-night/early-morning publication: keep its time
            # only when it is a precise time of a real rule/meta/text source next to the URL day.
            near = [c for c in valid if c.precision != "day" and c.source in ("rule", "meta")
                    and abs((c.local().date() - url_day).days) == 1]
            agreeing = near
        pool = agreeing + [url_cand]
    else:
        if not valid:
            return None
        ordered = sorted(valid, key=lambda c: PRIORITY[c.source])
        anchor = ordered[0].local().date()
        pool = [c for c in ordered if c.local().date() == anchor]
    picked = max(pool, key=lambda c: (PRECISION_RANK[c.precision], -PRIORITY[c.source]))
    if picked.utc() > now:
        # accepted within the clock-skew tolerance, but a publish time is never later than `now`
        picked = Candidate(now.astimezone(timezone.utc), picked.source, picked.precision)
    return picked


def htmldate_candidate(html: str, url: str | None = None) -> Candidate | None:
    """htmldate's guess (day precision), used only when nothing better exists."""
    try:
        from htmldate import find_date

        found = find_date(html, url=url, original_date=True, extensive_search=False, outputformat="%Y-%m-%d")
    except Exception:  # htmldate must never take the extractor down
        return None
    if not found:
        return None
    parsed = parse_datetime(found)
    return Candidate(parsed[0], "htmldate", "day") if parsed else None
