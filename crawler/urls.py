"""URLs: canonical form, the date an article URL carries, and every link a discovery page holds."""
from __future__ import annotations

import json
import re
from datetime import date
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_TRACKING = re.compile(r"^(utm_|spm$|from$|share|fbclid$|gclid$)", re.I)
_ATTR_LINK = re.compile(r"""(?:href|src|data-href|data-url|data-link)\s*=\s*["']([^"'<>]+)["']""", re.I)
_ABS_URL = re.compile(r"""https?:(?:\\?/){2}[^\s"'<>()\[\]{}\\,]+(?:\\/[^\s"'<>()\[\]{},\\]*)*""")
_JSON_PATH = re.compile(r"\.s?html?(?:[?#].*)?$", re.I)


def canonical(url: str) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower() or "http"
    host = (parts.hostname or "").lower()
    if parts.port and not ((scheme == "http" and parts.port == 80) or (scheme == "https" and parts.port == 443)):
        host = f"{host}:{parts.port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def url_date(url: str, patterns: list[re.Pattern[str]]) -> date | None:
    """The date an article URL carries through the named groups of the first matching pattern."""
    for pattern in patterns:
        match = pattern.search(url)
        if not match:
            continue
        groups = {k: v for k, v in match.groupdict().items() if v}
        try:
            if "date" in groups:
                text = groups["date"]
                return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
            year = int(groups["year"]) if "year" in groups else int(groups["yyyymm"][:4]) if "yyyymm" in groups else None
            month = int(groups["month"]) if "month" in groups else int(groups["yyyymm"][4:6]) if "yyyymm" in groups else None
            if year and month and "day" in groups:
                return date(year, month, int(groups["day"]))
        except (ValueError, KeyError):
            return None
        return None
    return None


def matches(url: str, patterns: list[re.Pattern[str]]) -> bool:
    return any(p.search(url) for p in patterns)


def _json_strings(node, out: list[str]) -> None:
    if isinstance(node, str):
        out.append(node)
    elif isinstance(node, dict):
        for value in node.values():
            _json_strings(value, out)
    elif isinstance(node, list):
        for value in node:
            _json_strings(value, out)


def links_in(text: str, base_url: str) -> list[str]:
    """Every URL a page mentions: attributes (href, src, data-href …), absolute URLs in scripts and JSON,
    and page paths held in JSON values; resolved against base_url, canonical, in first-seen order."""
    found: list[str] = []
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        try:
            strings: list[str] = []
            _json_strings(json.loads(stripped), strings)
            found.extend(s for s in strings if s.startswith(("http://", "https://", "/", "./", "../"))
                         or _JSON_PATH.search(s))
        except ValueError:
            pass
    found.extend(_ATTR_LINK.findall(text))
    found.extend(m.replace("\\/", "/") for m in _ABS_URL.findall(text))
    seen: dict[str, None] = {}
    for raw in found:
        raw = raw.strip().replace("&amp;", "&")
        if not raw or raw.startswith(("javascript:", "mailto:", "#", "data:")):
            continue
        try:
            seen.setdefault(canonical(urljoin(base_url, raw)), None)
        except ValueError:
            continue
    return list(seen)


def fill_template(template: str, day: date) -> str:
    """An e-paper URL template with {yyyy} {mm} {dd} {yyyymm} {yyyymmdd} filled for `day`."""
    return template.format(yyyy=f"{day:%Y}", mm=f"{day:%m}", dd=f"{day:%d}", yyyymm=f"{day:%Y%m}",
                           yyyymmdd=f"{day:%Y%m%d}")


def day_tokens(day: date) -> tuple[str, ...]:
    """The ways a URL path spells a day (20250901, 2025-09/01, 202509/01, 2025/0901, 2025/09/01)."""
    return (f"{day:%Y%m%d}", f"{day:%Y-%m}/{day:%d}", f"{day:%Y%m}/{day:%d}", f"{day:%Y}/{day:%m%d}",
            f"{day:%Y}/{day:%m}/{day:%d}")
