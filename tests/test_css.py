"""crawler.extract.css.PageIndex against lxml CSSSelector: rule selectors on fixture pages, mutation, edge cases, random."""
from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml.cssselect import CSSSelector

from crawler.extract import css
from crawler.extract import rules_builtin
from crawler.config import load_sources
from crawler.extract.css import PageIndex

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
RULE_FIELDS = ("title", "subtitle", "body", "date", "author", "editor", "source", "noise")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


@lru_cache(maxsize=None)
def _pages() -> tuple[tuple[str, str], ...]:
    paths = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and re.search(r"\.html?$", p.name))
    return tuple((str(p.relative_to(FIXTURES)), _decode(p.read_bytes())) for p in paths)


def _parse(html: str):
    return lxml.html.document_fromstring(html)


@lru_cache(maxsize=None)
def _rule_selectors() -> tuple[str, ...]:
    found: list[str] = []
    for name, value in vars(rules_builtin).items():
        if name.startswith("_") or not name.isupper():
            continue
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            found.extend(value)
        elif isinstance(value, str):  # COMMENTS: one selector group
            found.append(value)
    for source in load_sources(REPO / "config" / "sources.yaml").sources:
        for field in RULE_FIELDS:
            found.extend(getattr(source.rules, field))
    return tuple(dict.fromkeys(found))


@lru_cache(maxsize=None)
def _compiled(selector: str):
    try:
        return CSSSelector(selector)
    except Exception:
        return None


def _expected(context, selector: str) -> list:
    compiled = _compiled(selector)
    return compiled(context) if compiled is not None else []


def _assert_same(index: PageIndex, context, selector: str, where: str = "") -> None:
    want = _expected(context, selector)
    got = index.select(context, selector)
    assert isinstance(got, list)
    same = len(got) == len(want) and all(a is b for a, b in zip(got, want))
    if not same:
        def show(els):
            return [(e.tag, e.get("id"), e.get("class")) for e in els]

        pytest.fail(f"{where} {selector!r}: got {show(got)}, want {show(want)}")


def _contexts(root, rng: random.Random) -> list:
    """The root, the body, and a few random elements that have element children."""
    out = [root]
    body = root.find("body")
    if body is not None:
        out.append(body)
    parents = [el for el in root.iter() if isinstance(el.tag, str) and len(el) and el is not root]
    out.extend(rng.sample(parents, min(4, len(parents))))
    return out


def test_fixture_pages_and_rule_selectors_are_present():
    assert len(_pages()) >= 50
    selectors = _rule_selectors()
    assert len(selectors) >= 100
    assert rules_builtin.COMMENTS in selectors and ".rm_txt h1" in selectors


def test_rule_selectors_use_the_fast_path():
    """Everything in the rules but sibling combinators and pseudo-classes is evaluated natively."""
    for selector in _rule_selectors():
        unsupported = re.search(r"[:~+]", selector.replace("~=", "")) is not None
        assert (css._plan(selector) is css._FALLBACK) == unsupported, selector


def test_rule_selectors_match_cssselect_on_fixture_pages():
    selectors = _rule_selectors()
    rng = random.Random(20250905)
    for name, html in _pages():
        root = _parse(html)
        index = PageIndex(root)
        for context in _contexts(root, rng):
            for selector in selectors:
                _assert_same(index, context, selector, f"{name} <{context.tag}>")


def test_results_exclude_elements_dropped_after_indexing():
    selectors = _rule_selectors()
    droppers = list(rules_builtin.NOISE[:12]) + [rules_builtin.COMMENTS, ".rm_txt h1", "#rm_txt_zw p", "h1", "li"]
    for name, html in _pages():
        root = _parse(html)
        index = PageIndex(root)
        for el in list(root.iter("script", "style", "noscript", "template")):
            el.drop_tree()
        for selector in droppers:
            found = CSSSelector(selector)(root)
            if found and found[0] is not root and found[0].getparent() is not None:
                found[0].drop_tree()
        removable = [el for el in root.iter("p", "a", "span") if el.getparent() is not None]
        for el in removable[1::7]:
            if el.getparent() is not None:
                el.getparent().remove(el)
        body = root.find("body")
        for context in [root] + ([body] if body is not None else []):
            for selector in selectors + ("p", "a", "div p", "body > div", "[href]", "*"):
                _assert_same(index, context, selector, f"{name} (mutated) <{context.tag}>")


TRICKY_HTML = """<html><head><title>t</title></head><body>
<div id="art1" class="a y">
  <p class="a b" id="x">one</p>
  <div class="b">
    <p class="c">two <a href="/n/1.html">l1</a> <a href="/n/1.htm">l2</a></p>
    <div class="c a"><p class="b c">three</p></div>
  </div>
  <p class="a  b	extra" data-x="">four</p>
</div>
<div id="x" class="y z">
  <table><tr><td>c1</td><td class="m">c2</td><td>c3</td></tr></table>
  <ul><li>i1</li><li class="comment-item">i2</li></ul>
  <section id="comments" class="my-comment-box"><p class="reply">r</p></section>
  <span class="Upper" lang="en-US" title="x y  z">u</span>
  <!-- a comment -->
  <p class="a b" data-x="v">five</p>
</div>
<article id="article" class="  padded  "><p>six</p><input disabled><p class="a\u00a0b">nbsp</p></article>
</body></html>"""

TRICKY = [
    "div > p", ".a .b .c", "#x.y", "p.a.b", '[class*="comment"]', '[id^="art"]', 'a[href$=".html"]', "[data-x]",
    "td ~ td", "li:first-child", "..x", "", ",", "p,", "div >", "> p", "p, , a",
    "p, .a, #x, div > p, .b", ".a p, p.c, .b", "div p, p", "*", "* > p", "div *", "body > * > p",
    '[data-x=""]', "[data-x='']", '[data-x*=""]', '[data-x^=""]', '[data-x$=""]', '[data-x~=""]',
    '[title~="y"]', '[title~="x y"]', "[title~=z]", '[lang|="en"]', '[data-x!="v"]', "[data-x=v]", '[data-x="v" i]',
    ".upper", ".Upper", "SPAN", "span", "P.a", "[Data-X]", "[DATA-X]", "[disabled]", '[disabled="disabled"]',
    ".padded", '[class="  padded  "]', '[class~="padded"]', ".a", "p.b", ".a.b.c", "p#x", "#x p", "#x > p", "#x#x",
    "#x#y", "#art1 .b p", "#art1 > .b > p", "#art1 > p", ".b > .c > p", ".a > .b", "div div p", "div > div > div > p",
    '[id*="comment"], [class*="comment"], [id*="pinglun"]', "  p  ", "p\t>\na", "p>a", "p >a", 'a[href*="/n/"]',
    'a[href^="/n/1"]', 'a[href$="htm"]', "[href]", "a[href]", "section#comments.my-comment-box > p.reply",
    "#1a", ".1a", "p:not(.a)", "p::text", "td + td", "ns|p", "*|p", ".a\\ b", '[x="\\""]',
    "/* c */ p", 'p[class="a b"]',
    # left to CSSSelector, some pre-judged by the ids/classes they certainly need
    ".nosuch ~ p", "#nosuch:first-child", "p:not(.nosuch)", ".a:not(.b)", ".nosuch\\:x", ".a .nosuch + p",
    "#art1 > p ~ p", ".a:first-child", '.c[title="x" i]', "li.nosuch, li:last-child", "td.m + td",
]


@pytest.mark.parametrize("selector", TRICKY)
def test_tricky_selectors_match_cssselect(selector):
    root = _parse(TRICKY_HTML)
    index = PageIndex(root)
    contexts = [root, root.find("body")] + [el for el in root.iter("div", "table", "section", "article", "p")]
    for context in contexts:
        try:
            want = _expected(context, selector)
        except Exception as exc:  # CSSSelector compiles it but cannot evaluate it (e.g. an undefined ns prefix)
            with pytest.raises(type(exc)):
                index.select(context, selector)
            continue
        _assert_same(index, context, selector, f"<{context.tag} {context.get('id')}>")


def test_group_union_is_in_document_order_without_duplicates():
    root = _parse(TRICKY_HTML)
    index = PageIndex(root)
    got = index.select(root, ".b, p, #x, .a")
    assert len(got) == len(set(map(id, got)))
    order = {el: n for n, el in enumerate(root.iter())}
    assert [order[el] for el in got] == sorted(order[el] for el in got)
    _assert_same(index, root, ".b, p, #x, .a")


def test_context_itself_matches_but_ancestors_above_it_do_not():
    root = _parse(TRICKY_HTML)
    index = PageIndex(root)
    art1 = root.get_element_by_id("art1")
    inner = art1.find("div")  # div.b
    assert index.select(art1, "#art1") == [art1]
    assert index.select(art1, "div")[0] is art1
    # the left part must match the context or below: #art1 is above div.b, so nothing
    assert index.select(inner, "#art1 p") == [] == CSSSelector("#art1 p")(inner)
    assert index.select(inner, "#art1 > .b") == []
    # ... while from #art1 itself its children count
    assert [e.text for e in index.select(art1, "#art1 > p")] == ["one", "four"]
    # a compound with a combinator never returns the context itself
    assert inner not in index.select(inner, "div .b")
    assert [e.text for e in index.select(inner, "div .b")] == ["three"]
    assert [e.get("class") for e in index.select(inner, ".b .c")] == ["c", "c a", "b c"]


NESTED_HTML = """<html><body>
<div class="a" id="top"><div class="b" id="y"><div class="q"><div class="b" id="x"><div class="a">
  <span class="c" id="deep">d</span></div></div></div></div></div>
<div class="b"><div class="a"><p class="c" id="other">o</p></div></div>
</body></html>"""


@pytest.mark.parametrize("selector", [
    ".a > .b .c", ".a > .b > .c", ".a .b .c", ".b .a > .c", ".a > .b > .q > .b .c", ".q > .b > .a > .c", "div > div div",
    ".a > div > div > div > div > span", ".b > .q .c", ".b > .a .c", "body > .a .a .c", "#top .q > .b > .a > .c",
    ".a .a .c", ".a > .a .c", "div div div div div span", "div > div > .b div > .c",
])
def test_chains_that_need_backtracking(selector):
    root = _parse(NESTED_HTML)
    index = PageIndex(root)
    for context in [root] + [el for el in root.iter("div")]:
        _assert_same(index, context, selector, f"<div {context.get('id')} {context.get('class')}>")


def test_invalid_and_fallback_selectors():
    root = _parse(TRICKY_HTML)
    index = PageIndex(root)
    assert index.select(root, "..x") == []
    assert index.select(root, "p:nth-child(") == []
    assert css._plan("td ~ td") is css._FALLBACK and css._plan("li:first-child") is css._FALLBACK
    assert [e.text for e in index.select(root, "td ~ td")] == ["c2", "c3"]
    assert [e.text for e in index.select(root, "li:first-child")] == ["i1"]
    assert index.select(root, '[data-x*=""]') == [] and index.select(root, '[data-x^=""]') == []
    assert index.select(root, '[data-x$=""]') == [] and index.select(root, '[data-x~=""]') == []
    assert [e.text for e in index.select(root, '[data-x=""]')] == ["four"]


def test_ids_and_classes_a_fallback_selector_needs():
    assert css._required(".lai > :first-child") == ((), ("lai",))
    assert css._required("#rwb_zw ~ div") == (("rwb_zw",), ())
    assert css._required("div.x.y p:nth-child(2) .z") == ((), ("x", "y"))
    assert css._required(".a:not(.b)") == ((), ("a",))
    for selector in ("p:not(.b)", ".a\\:b", ".x ns|p", "a, .b:first-child", "[a] + .q"):
        assert css._required(selector) is None, selector
    root = _parse(TRICKY_HTML)
    index = PageIndex(root)
    assert index.select(root, ".nosuch ~ p") == [] and index.select(root, "p:not(.nosuch)") != []


def test_detached_context_and_dropped_elements():
    root = _parse(TRICKY_HTML)
    index = PageIndex(root)
    box = root.xpath("//div[@id='x']")[0]
    box.drop_tree()
    assert index.select(root, "div#x") == []
    assert [e.text for e in index.select(root, "#x")] == ["one"]
    assert index.select(root, ".reply") == []
    # the dropped subtree itself can still be searched, as CSSSelector would
    for selector in ("p", ".reply", "#x > p", "section p", "*", ".y"):
        _assert_same(index, box, selector, "detached")
    art = root.get_element_by_id("art1")
    art.getparent().remove(art)
    for selector in ("p", ".a .b .c", "div > p", "#art1", "[data-x]"):
        _assert_same(index, root, selector, "after remove")


def test_tokens():
    index = PageIndex(_parse(TRICKY_HTML))
    tokens = index.tokens()
    assert {"art1", "a", "b", "extra", "comments", "my-comment-box", "padded", "Upper"} <= tokens
    assert "a\u00a0b" in tokens and "" not in tokens


# ----- random selectors from the supported grammar over one page's own tokens

def _page_vocabulary(html: str) -> dict:
    root = _parse(html)
    tags, ids, classes, attrs = set(), set(), set(), {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tags.add(el.tag)
        for key, value in el.attrib.items():
            attrs.setdefault(key, set()).add(value)
        if el.get("id") is not None:
            ids.add(el.get("id"))
        classes.update(re.split(r"[ \t\r\n]+", el.get("class") or ""))
    ident = re.compile(r"-?[_a-zA-Z\u0080-\uffff][_a-zA-Z0-9\-\u0080-\uffff]*\Z")
    values = sorted({v for vs in attrs.values() for v in vs if not re.search(r'["\\\x00-\x1f\x7f]', v)})
    return {
        "tags": sorted(t for t in tags if re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_-]*", t)) + ["DIV", "section", "nosuch"],
        "ids": sorted(i for i in ids if re.fullmatch(r"[_a-zA-Z0-9\-\u0080-\uffff]+", i)) + ["nosuch"],
        "classes": sorted(c for c in classes if c and ident.match(c)) + ["nosuch"],
        "attrs": sorted(k for k in attrs if re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_-]*", k)) + ["data-none", "ID"],
        "values": values or ["x"],
    }


def _vocab_page() -> tuple[str, str]:
    """The biggest people.com.cn-like article page: many classes, ids and attributes."""
    pages = [p for p in _pages() if "people" in p[0] and "/n" in p[0]] or list(_pages())
    return max(pages, key=lambda p: len(p[1]))


@st.composite
def _selectors(draw, vocab):
    def value():
        v = draw(st.sampled_from(vocab["values"]))
        if v and draw(st.booleans()):
            a = draw(st.integers(0, len(v)))
            b = draw(st.integers(a, len(v)))
            v = v[a:b]
        return v

    def compound():
        parts = []
        head = draw(st.sampled_from(["", "", "*", "tag"]))
        if head == "tag":
            parts.append(draw(st.sampled_from(vocab["tags"])))
        elif head == "*":
            parts.append("*")
        for _ in range(draw(st.integers(0 if parts else 1, 3))):
            kind = draw(st.sampled_from(["id", "class", "class", "attr"]))
            if kind == "id":
                parts.append("#" + draw(st.sampled_from(vocab["ids"])))
            elif kind == "class":
                parts.append("." + draw(st.sampled_from(vocab["classes"])))
            else:
                name = draw(st.sampled_from(vocab["attrs"] + ["id", "class"]))
                op = draw(st.sampled_from(["", "=", "*=", "^=", "$=", "~="]))
                if not op:
                    parts.append(f"[{name}]")
                else:
                    quote = draw(st.sampled_from(['"', "'"]))
                    v = value()
                    if quote == "'" and "'" in v:
                        quote = '"'
                    parts.append(f"[{name}{op}{quote}{v}{quote}]")
        return "".join(parts)

    groups = []
    for _ in range(draw(st.integers(1, 3))):
        chain = compound()
        for _ in range(draw(st.integers(0, 2))):
            chain += draw(st.sampled_from([" ", " > ", ">", "  ", "\t"])) + compound()
        groups.append(chain)
    return draw(st.sampled_from([", ", ",", " , "])).join(groups)


_VOCAB_NAME, _VOCAB_HTML = _vocab_page()
_VOCAB = _page_vocabulary(_VOCAB_HTML)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(selector=_selectors(_VOCAB), pick=st.integers(0, 10**6), drop=st.integers(0, 10**6), mutate=st.booleans())
def test_random_selectors_match_cssselect(selector, pick, drop, mutate):
    root = _parse(_VOCAB_HTML)
    index = PageIndex(root)
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    if mutate:
        victim = elements[1 + drop % (len(elements) - 1)]
        if victim.getparent() is not None:
            victim.drop_tree()
        elements = [el for el in root.iter() if isinstance(el.tag, str)]
    context = root if pick % 3 == 0 else elements[pick % len(elements)]
    assert css._plan(selector) is not css._FALLBACK, selector
    _assert_same(index, context, selector, f"{_VOCAB_NAME} <{context.tag}>")
