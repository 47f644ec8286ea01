"""Operator configuration: the sources.yaml models, loaded and validated with file/site/field/line errors."""
from __future__ import annotations

import fnmatch
import os
import re
import string
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = REPO_ROOT / "config" / "sources.yaml"
DATE_GROUPS = {"year", "month", "day", "date", "yyyymm"}


class SourcesError(Exception):
    """A sources.yaml that cannot be used; the message names the file, site, field and line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc}): {pattern!r}") from None
    return pattern


class Paginate(_Strict):
    """Follow-on pages of a list: `template` is the page URL with `{n}` for the page number."""

    template: str
    first: int = 2
    max_pages: int = Field(10, ge=1, le=200)

    @field_validator("template")
    @classmethod
    def _has_n(cls, value: str) -> str:
        if "{n}" not in value:
            raise ValueError("template must contain {n} (the page number)")
        return value


def expand_each_host(data):
    """`urls` × `each_host`: every URL template filled in for every host, host by host (the YAML's compact way to
    say "these list pages on each of these hosts"). A host is a name (`cq.people.com.cn`) or a mapping with `host`
    and more placeholders (`{host: cq.people.com.cn, province: 重庆}`); a template may use `{host}` and any
    placeholder every host defines. Without `each_host` the entry is returned as it is."""
    if not isinstance(data, dict) or not data.get("each_host"):
        return data
    hosts, templates = data["each_host"], data.get("urls") or []
    if not isinstance(hosts, list) or not isinstance(templates, list) or not templates:
        raise ValueError("each_host needs a list of hosts and `urls`: a list of URL templates using {host}")
    filled: list[dict[str, str]] = []
    for item in hosts:
        values = {"host": item} if isinstance(item, str) else item
        if not isinstance(values, dict) or not isinstance(values.get("host"), str) or not values["host"]:
            raise ValueError(f"each_host: {item!r} is neither a host name nor a mapping with `host`")
        filled.append({str(k): str(v) for k, v in values.items()})
    urls: list[str] = []
    for template in templates:
        names = {field for _, field, _, _ in string.Formatter().parse(str(template)) if field is not None}
        if "host" not in names:
            raise ValueError(f"each_host: URL template {template!r} does not use {{host}}")
        for values in filled:
            missing = names - set(values)
            if missing:
                raise ValueError(f"each_host: host {values['host']!r} gives no {sorted(missing)} for {template!r}")
    for values in filled:
        urls.extend(str(template).format_map(values) for template in templates)
    repeated = sorted({u for u in urls if urls.count(u) > 1})
    if repeated:
        raise ValueError(f"each_host: the same URL comes out twice: {', '.join(repeated[:3])}")
    return {**data, "urls": urls, "each_host": filled, "url_templates": list(templates)}


class _EachHost(_Strict):
    """Discovery entries whose `urls` may be templates filled in for each host of `each_host` (expanded on load)."""

    each_host: list[dict[str, str]] = []
    url_templates: list[str] = []  # the templates as written (set by the expansion)

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, data):
        return expand_each_host(data)


class ListDiscovery(_EachHost):
    """Static list pages (channel index pages); every link matching an article pattern is a candidate."""

    type: Literal["list"]
    urls: list[str] = Field(min_length=1)
    paginate: Paginate | None = None


class JsonDiscovery(_EachHost):
    """A JSON list endpoint; its URL given, or found on `from_page` by `url_pattern` (re-derived each run).

    With `url_template` the URL is built from the pattern's groups ({1}, {2} …; {0} the whole match), resolved
    against the page: news.cn pages say `data="datasource:<uuid>"` and the list is `ds_<uuid>.json`.
    """

    type: Literal["json"]
    urls: list[str] = []
    from_page: str | None = None
    url_pattern: str | None = None
    url_template: str | None = None
    paginate: Paginate | None = None

    _rx = field_validator("url_pattern")(lambda cls, v: v if v is None else _check_regex(v))

    @model_validator(mode="after")
    def _one_way(self) -> "JsonDiscovery":
        if not self.urls and not (self.from_page and self.url_pattern):
            raise ValueError("give `urls`, or `from_page` together with `url_pattern`")
        return self


class FeedDiscovery(_EachHost):
    """An RSS/Atom feed or an XML sitemap (sitemap indexes are followed)."""

    type: Literal["rss", "sitemap"]
    urls: list[str] = Field(min_length=1)


class EpaperDiscovery(_Strict):
    """A newspaper walked date by date: issue page templates tried in order, then 版面 pages, then articles.

    Templates may use {yyyy} {mm} {dd} {yyyymm} {yyyymmdd}.
    """

    type: Literal["epaper"]
    issue_urls: list[str] = Field(min_length=1)
    page_pattern: str | None = None
    dates_from: str | None = None
    date_pattern: str = r"\d{8}"
    label: str | None = None

    _rx = field_validator("page_pattern", "date_pattern")(lambda cls, v: v if v is None else _check_regex(v))


Discovery = Annotated[
    Union[ListDiscovery, JsonDiscovery, FeedDiscovery, EpaperDiscovery], Field(discriminator="type")
]


class Rules(_Strict):
    """Per-site extraction rules (CSS selectors, first match wins); missing fields fall back to the generic path."""

    title: list[str] = []
    subtitle: list[str] = []  # 引题 / 副题, printed above the title in the digest
    body: list[str] = []
    date: list[str] = []
    author: list[str] = []
    editor: list[str] = []
    source: list[str] = []
    noise: list[str] = []
    title_suffix: str | None = None

    @field_validator("title", "subtitle", "body", "date", "author", "editor", "source", "noise", mode="before")
    @classmethod
    def _listify(cls, value):
        return [value] if isinstance(value, str) else value

    _rx = field_validator("title_suffix")(lambda cls, v: v if v is None else _check_regex(v))


class Politeness(_Strict):
    concurrency: int = Field(2, ge=1, le=16)
    delay: float = Field(1.0, ge=0)


class Multipage(_Strict):
    r"""Pages that continue an article (page 2, 3 …), joined into one article. Either `next_pattern`: links on
    each page that lead on (`{stem}` stands for the first page's URL without its extension); or `count_pattern`:
    a regex whose group is the page count on page 1 (cnr: `createPageHTML\((\d+)`), the other pages' URLs then
    built by `page_url` with {stem} {ext} {n}, n counting from `first_index`."""

    next_pattern: str | None = None
    count_pattern: str | None = None
    page_url: str = "{stem}_{n}.{ext}"
    first_index: int = Field(1, ge=0)
    max_pages: int = Field(20, ge=1, le=100)

    _rx = field_validator("next_pattern", "count_pattern")(lambda cls, v: v if v is None else _check_regex(v))

    @model_validator(mode="after")
    def _one_way(self) -> "Multipage":
        if bool(self.next_pattern) == bool(self.count_pattern):
            raise ValueError("give either next_pattern or count_pattern")
        return self


class Source(_Strict):
    """One site: where to look, what an article URL is, how to label it, how to extract it."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    enabled: bool = True
    hosts: list[str] = Field(min_length=1)
    label: str
    labels: dict[str, str] = {}
    article_patterns: list[str] = Field(min_length=1)
    exclude_patterns: list[str] = []  # links matching one of these are never articles (video, photo, English …)
    discovery: list[Discovery] = Field(min_length=1)
    rules: Rules = Rules()
    multipage: Multipage | None = None
    politeness: Politeness = Politeness()
    headers: dict[str, str] = {}
    js: bool = False
    expect_articles: bool = True

    @field_validator("article_patterns")
    @classmethod
    def _patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            _check_regex(pattern)
            unknown = set(re.compile(pattern).groupindex) - DATE_GROUPS
            if unknown:
                raise ValueError(f"unknown named group(s) {sorted(unknown)}; date groups are {sorted(DATE_GROUPS)}")
        return patterns

    _excludes = field_validator("exclude_patterns")(lambda cls, v: [_check_regex(p) for p in v])

    def compiled_patterns(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.article_patterns]

    def excluded(self, url: str) -> bool:
        """True when the URL matches one of `exclude_patterns` (a video, photo or other-language page)."""
        return any(re.search(p, url) for p in self.exclude_patterns)

    def owns(self, url_host: str) -> bool:
        """True when the host belongs to this site (exact host or any subdomain of a listed host)."""
        host = url_host.lower().split(":")[0]
        return any(host == h or host.endswith("." + h) for h in self.hosts)

    def label_for(self, url: str) -> str:
        """The 来源 the digest prints for this URL: the longest matching `labels` key, else `label`."""
        bare = re.sub(r"^[a-z]+://", "", url.lower())
        best, best_len = self.label, -1
        for pattern, label in self.labels.items():
            pat = pattern.lower()
            if fnmatch.fnmatch(bare, pat + "*") or bare.startswith(pat):
                if len(pat) > best_len:
                    best, best_len = label, len(pat)
        return best


class SourcesFile(_Strict):
    user_agent: str = "hiwatch/0.1 (+weekly health-informatization digest; contact: operator)"
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> "SourcesFile":
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"site name {source.name!r} is used twice")
            seen.add(source.name)
        return self

    def enabled(self) -> list[Source]:
        return [s for s in self.sources if s.enabled]

    def get(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(f"no site named {name!r} (known: {', '.join(s.name for s in self.sources)})")

    def source_for_url(self, url: str) -> Source | None:
        """The site a URL belongs to: among those owning its host, one whose article patterns match it
        (北京日报 and 北京晚报 share a host), then the most specific host."""
        host = re.sub(r"^[a-z]+://", "", url.lower()).split("/")[0]
        owners = [s for s in self.sources if s.owns(host)]
        matching = [s for s in owners if any(p.search(url) for p in s.compiled_patterns())]
        return max(matching or owners, key=lambda s: max(len(h) for h in s.hosts), default=None)


def _line_index(node: yaml.Node, path: tuple = (), index: dict | None = None) -> dict:
    """Map every key path of a YAML document to the 1-based line where it starts."""
    index = {} if index is None else index
    index.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = path + (key_node.value,)
            index[child] = key_node.start_mark.line + 1
            _line_index(value_node, child, index)
            index[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, path + (i,), index)
    return index


def sources_path(path: str | os.PathLike | None = None) -> Path:
    return Path(path or os.environ.get("HIWATCH_SOURCES") or DEFAULT_SOURCES)


def load_sources(path: str | os.PathLike | None = None) -> SourcesFile:
    """Load and validate sources.yaml; raise SourcesError with file, site, field and line on any problem."""
    from crawler.yamlfile import parse, read_text

    file = sources_path(path)
    data, node = parse(read_text(file, SourcesError), str(file), SourcesError, "a `sources:` list at the top")
    lines = _line_index(node) if node is not None else {}
    twice = _repeated_names(file, data, lines)
    try:
        loaded = SourcesFile.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(file, data, lines, tuple(err["loc"]), err)
                    for err in exc.errors() if not (twice and "is used twice" in err["msg"])]
        raise SourcesError("\n".join(problems + twice)) from None
    if twice:
        raise SourcesError("\n".join(twice))
    return loaded


def _repeated_names(file: Path, data: dict, lines: dict) -> list[str]:
    """A site name used again, at the line of the record that repeats it."""
    records = data.get("sources") if isinstance(data.get("sources"), list) else []
    first: dict[str, int] = {}
    problems = []
    for i, record in enumerate(records):
        name = record.get("name") if isinstance(record, dict) else None
        if not isinstance(name, str):
            continue
        line = lines.get(("sources", i, "name")) or lines.get(("sources", i))
        if name in first:
            problems.append(f"{file}:{line}: site {name!r}: the name is used twice (first on line {first[name]}); "
                            "site names must be unique")
        else:
            first[name] = line
    return problems


def _describe(file: Path, data: dict, lines: dict, loc: tuple, err: dict) -> str:
    """One readable line per validation problem: file:line: site 'x': field a.b: message (crawler.yamlfile.explain)."""
    from crawler.yamlfile import explain, fields_at

    site = ""
    # pydantic puts the union tag into loc (e.g. 'list'); drop such non-key parts for the YAML path
    yaml_path: list = []
    rest: list = []  # parts of loc below what the file holds (a missing key), union tags left out
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            yaml_path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            yaml_path.append(part)
            node = node[part]
        elif not (isinstance(node, dict) and str(part).startswith(("list", "json", "rss", "sitemap", "epaper",
                                                                    "function-"))):
            rest.append(part)
            node = None
    if len(yaml_path) >= 2 and yaml_path[0] == "sources":
        entry = data["sources"][yaml_path[1]]
        name = entry.get("name") if isinstance(entry, dict) else None
        site = f"site {name!r}" if name else f"site #{yaml_path[1] + 1}"
        field = ".".join(str(p) for p in yaml_path[2:] + rest) or "(entry)"
    else:
        field = ".".join(str(p) for p in yaml_path + rest) or "(file)"
    line = None
    for cut in range(len(yaml_path), -1, -1):
        line = lines.get(tuple(yaml_path[:cut]))
        if line:
            break
    where = f"{file}:{line}" if line else str(file)
    return f"{where}: {site + ': ' if site else ''}field {field}: {explain(err, fields_at(SourcesFile, loc))}"
