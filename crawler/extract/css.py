"""A small CSS selector engine over a per-page index, giving the same results as lxml's CSSSelector (xml translator)."""
from __future__ import annotations

import re

from lxml import etree

# cssselect's identifier grammar without escapes (a backslash, a comment or a NUL is left to the fallback)
_NONASCII = "\u0080-\ud7ff\ue000-\U0010ffff"
_IDENT = re.compile(rf"-?[_a-zA-Z{_NONASCII}][_a-zA-Z0-9\-{_NONASCII}]*").match
_NAME = re.compile(rf"[_a-zA-Z0-9\-{_NONASCII}]+").match  # the name of a #hash
_SAFE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_-]*\Z").match  # cssselect's is_safe_name: a plain XPath name test
_STRING = {
    '"': re.compile(r'"([^\x00-\x1f\x7f\\"\ud800-\udfff]*)"').match,
    "'": re.compile(r"'([^\x00-\x1f\x7f\\'\ud800-\udfff]*)'").match,
}
_CSS_WS = " \t\r\n\f"  # whitespace for the CSS tokenizer and for cssselect's ~= value check
_SPLIT = re.compile(r"[ \t\r\n]+").split  # XPath normalize-space(): only these four are blanks
_OPS = ("*=", "^=", "$=", "~=")

_PLANS: dict[str, object] = {}  # selector → parsed groups, or _FALLBACK
_FALLBACK = object()
_COMPILED: dict[str, object] = {}  # selector → CSSSelector, or False when it does not compile
_NEEDS: dict[str, object] = {}  # fallback selector → (ids, classes) it requires, or None


class _Unsupported(Exception):
    """Outside the grammar this engine handles; CSSSelector decides."""


def _skip_ws(sel: str, i: int) -> int:
    n = len(sel)
    while i < n and sel[i] in _CSS_WS:
        i += 1
    return i


def _compound(sel: str, i: int, need: tuple[list, list] | None = None) -> tuple[tuple, int]:
    """One compound at i: ((tag, ids, classes, attrs, never), end); ids/classes also land in `need` as read."""
    n = len(sel)
    start = i
    tag = None
    ids: list[str] = need[0] if need is not None else []
    classes: list[str] = need[1] if need is not None else []
    attrs: list[tuple[str, str, str | None]] = []
    never = False
    if i < n and sel[i] == "*":
        i += 1
    else:
        m = _IDENT(sel, i)
        if m:
            tag = m.group()
            if not _SAFE(tag):
                raise _Unsupported
            i = m.end()
    while i < n:
        c = sel[i]
        if c == "#":
            m = _NAME(sel, i + 1)
            if not m:
                raise _Unsupported
            ids.append(m.group())
            i = m.end()
        elif c == ".":
            m = _IDENT(sel, i + 1)
            if not m:
                raise _Unsupported
            classes.append(m.group())
            i = m.end()
        elif c == "[":
            i = _skip_ws(sel, i + 1)
            m = _IDENT(sel, i)
            if not m or not _SAFE(m.group()):
                raise _Unsupported
            name = m.group()
            i = _skip_ws(sel, m.end())
            if i < n and sel[i] == "]":
                attrs.append((name, "exists", None))
                i += 1
                continue
            if sel.startswith("=", i):
                op = "="
                i += 1
            elif sel[i:i + 2] in _OPS:
                op = sel[i:i + 2]
                i += 2
            else:
                raise _Unsupported
            i = _skip_ws(sel, i)
            if i < n and sel[i] in _STRING:
                m = _STRING[sel[i]](sel, i)
                if not m:
                    raise _Unsupported
                value = m.group(1)
            else:
                m = _IDENT(sel, i)
                if not m:
                    raise _Unsupported
                value = m.group()
            i = _skip_ws(sel, m.end())
            if i >= n or sel[i] != "]":
                raise _Unsupported
            i += 1
            if op != "=" and not value:
                never = True  # cssselect translates an empty *= ^= $= ~= value to [0]
            if op == "~=" and any(ch in _CSS_WS for ch in value):
                never = True
            attrs.append((name, op, value))
        else:
            break
    if i == start:
        raise _Unsupported
    return (tag, tuple(ids), tuple(classes), tuple(attrs), never), i


def _parse(sel: str, need: tuple[list, list] | None = None) -> list[list[tuple[str | None, tuple]]]:
    """Groups of (combinator, compound) chains; _Unsupported for anything beyond descendant/child combinators."""
    n = len(sel)
    i = _skip_ws(sel, 0)
    groups = []
    while True:
        chain: list[tuple[str | None, tuple]] = []
        comb = None
        while True:
            comp, i = _compound(sel, i, ([], []) if need is None else need)
            chain.append((comb, comp))
            j = _skip_ws(sel, i)
            if j == n or sel[j] == ",":
                i = j
                break
            if sel[j] == ">":
                comb = ">"
                i = _skip_ws(sel, j + 1)
            elif j > i:
                comb = " "
                i = j
            else:
                raise _Unsupported
        groups.append(chain)
        if i == n:
            return groups
        i = _skip_ws(sel, i + 1)


def _plan(selector: str):
    """The parsed groups of a selector (cached), or _FALLBACK."""
    plan = _PLANS.get(selector)
    if plan is None:
        try:
            plan = _parse(selector)
        except _Unsupported:
            plan = _FALLBACK
        _PLANS[selector] = plan
    return plan


def _required(selector: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(ids, classes) a fallback selector's leading, understood part names: each must be on the page."""
    need = _NEEDS.get(selector, _FALLBACK)
    if need is _FALLBACK:
        need = None
        # a group, an escape (`.a\:b` is class "a:b") or a namespace (an evaluation error) is never pre-judged
        if not any(ch in selector for ch in ",\\|"):
            found: tuple[list, list] = ([], [])
            try:
                _parse(selector, found)
            except _Unsupported:
                pass
            if found[0] or found[1]:
                need = (tuple(found[0]), tuple(found[1]))
        _NEEDS[selector] = need
    return need


def _fallback(context, selector: str) -> list:
    """CSSSelector's own answer (compiled once per selector); [] for a selector it cannot compile."""
    compiled = _COMPILED.get(selector)
    if compiled is None:
        from lxml.cssselect import CSSSelector

        try:
            compiled = CSSSelector(selector)
        except Exception:
            compiled = False
        _COMPILED[selector] = compiled
    return compiled(context) if compiled else []


def _match(el, comp) -> bool:
    """True when el passes every test of the compound, read from its live attributes."""
    tag, ids, classes, attrs, _never = comp
    if tag is not None and el.tag != tag:
        return False
    if ids:
        value = el.get("id")
        for want in ids:
            if value != want:
                return False
    if classes:
        value = el.get("class")
        if value is None:
            return False
        tokens = None
        for want in classes:
            if want not in value:
                return False
            if tokens is None:
                tokens = _SPLIT(value)
            if want not in tokens:
                return False
    for name, op, want in attrs:
        value = el.get(name)
        if value is None:
            return False
        if op == "exists":
            continue
        if op == "=":
            ok = value == want
        elif op == "*=":
            ok = want in value
        elif op == "^=":
            ok = value.startswith(want)
        elif op == "$=":
            ok = value.endswith(want)
        else:  # ~=
            ok = want in value and want in _SPLIT(value)
        if not ok:
            return False
    return True


def _match_left(chain, k: int, path: list, start: int) -> bool:
    """Compounds chain[:k+1] match ancestors path[start:] (nearest first), joined as the combinators say."""
    if k < 0:
        return True
    comb = chain[k + 1][0]
    comp = chain[k][1]
    if comb == ">":
        return start < len(path) and _match(path[start], comp) and _match_left(chain, k - 1, path, start + 1)
    for j in range(start, len(path)):
        if _match(path[j], comp):
            if _match_left(chain, k - 1, path, j + 1):
                return True
            if chain[k][0] != ">":
                return False  # what is left of a descendant step only gets fewer ancestors further up
    return False


class PageIndex:
    """Every element of a parsed page by class token, id and tag, built in one pass (document order kept)."""

    def __init__(self, root):
        pos: dict = {}
        by_tag: dict[str, list] = {}
        by_id: dict[str, list] = {}
        by_class: dict[str, list] = {}
        class_values: dict[str, list] = {}  # whole @class value → its elements
        # the appends below are spelt out instead of dict.setdefault(k, []).append(el): measured 0.71 vs 0.93 ms
        # per 56 KB page, and this loop runs once for every page the crawl extracts
        for n, el in enumerate(root.iter()):
            tag = el.tag
            if not isinstance(tag, str):
                continue
            pos[el] = n
            found = by_tag.get(tag)
            if found is None:
                by_tag[tag] = [el]
            else:
                found.append(el)
            value = el.get("id")
            if value is not None:
                found = by_id.get(value)
                if found is None:
                    by_id[value] = [el]
                else:
                    found.append(el)
            value = el.get("class")
            if value is not None:
                found = class_values.get(value)
                if found is None:
                    class_values[value] = [el]
                else:
                    found.append(el)
                tokens = _SPLIT(value)
                if len(tokens) > 1:
                    tokens = dict.fromkeys(tokens)
                for token in tokens:
                    if token:
                        found = by_class.get(token)
                        if found is None:
                            by_class[token] = [el]
                        else:
                            found.append(el)
        self._pos = pos
        self._by_tag = by_tag
        self._by_id = by_id
        self._by_class = by_class
        self._values = {"id": by_id, "class": class_values}
        self._lists: dict = {}  # (attribute, op, value) → candidate list, computed on first use
        self._root = root

    def tagged(self, root, *tags: str) -> list:
        """Elements with any of these tags still under `root`, in document order: root.iter(*tags) without walking
        the tree (a walk costs ~160 µs on a real page of 1,000 elements), elements dropped since indexing left out."""
        if root is not self._root:
            return list(root.iter(*tags))
        lists = [found for found in map(self._by_tag.get, tags) if found]
        if not lists:
            return []
        found = lists[0] if len(lists) == 1 else sorted((el for els in lists for el in els), key=self._pos.__getitem__)
        memo: dict = {}
        return [el for el in found if _inside(el, root, memo)]

    def tokens(self) -> set[str]:
        """Every class token and id on the page (as indexed)."""
        return set(self._by_class) | set(self._by_id)

    def select(self, context, selector: str) -> list:
        """The elements CSSSelector(selector)(context) returns, in the same (document) order."""
        plan = _plan(selector)
        if plan is _FALLBACK or context not in self._pos:
            need = _required(selector) if plan is _FALLBACK else None
            if need is not None and not self._has(need[0], need[1]):
                return []  # an id or class the page never had: CSSSelector would find nothing
            return _fallback(context, selector)
        if len(plan) == 1:
            return self._run(context, plan[0])
        found: dict = {}
        for chain in plan:
            for el in self._run(context, chain):
                found[el] = None
        if len(found) < 2:
            return list(found)
        return sorted(found, key=self._pos.__getitem__)

    def _has(self, ids, classes) -> bool:
        """True when every id and class token is on the page."""
        by_id, by_class = self._by_id, self._by_class
        for name in ids:
            if name not in by_id:
                return False
        for name in classes:
            if name not in by_class:
                return False
        return True

    def _attr_list(self, name: str, op: str, want: str):
        """Elements whose indexed @id / @class passes the test, in document order (one test per distinct value)."""
        key = (name, op, want)
        found = self._lists.get(key)
        if found is None:
            values = self._values[name]
            if op == "exists":
                hits = list(values.values())
            elif op == "=":
                hits = [values[want]] if want in values else []
            elif op == "*=":
                hits = [els for value, els in values.items() if want in value]
            elif op == "^=":
                hits = [els for value, els in values.items() if value.startswith(want)]
            elif op == "$=":
                hits = [els for value, els in values.items() if value.endswith(want)]
            else:  # ~=
                hits = [els for value, els in values.items() if want in value and want in _SPLIT(value)]
            if not hits:
                found = ()
            elif len(hits) == 1:
                found = hits[0]
            else:
                found = sorted([el for els in hits for el in els], key=self._pos.__getitem__)
            self._lists[key] = found
        return found

    def _candidates(self, comp):
        """The smallest indexed list holding every element the compound can match, or None (scan the subtree)."""
        tag, ids, classes, attrs, _never = comp
        if ids:
            return self._by_id.get(ids[0], ())
        best = None
        for name in classes:
            found = self._by_class.get(name, ())
            if best is None or len(found) < len(best):
                best = found
        if tag is not None:
            found = self._by_tag.get(tag, ())
            if best is None or len(found) < len(best):
                best = found
        for name, op, want in attrs:
            if name in self._values:
                found = self._attr_list(name, op, want)
                if best is None or len(found) < len(best):
                    best = found
        return best

    def _below(self, anchors, tag) -> list:
        """Live elements strictly under any of the anchors (with the tag, if given), in document order."""
        if len(anchors) == 1:
            anchor = anchors[0]
            return [el for el in (anchor.iter(tag) if tag else anchor.iter(etree.Element)) if el is not anchor]
        found: dict = {}
        for anchor in anchors:
            for el in anchor.iter(tag) if tag else anchor.iter(etree.Element):
                if el is not anchor:
                    found[el] = None
        return sorted(found, key=self._pos.__getitem__)

    def _run(self, context, chain) -> list:
        """Matches of one chain of compounds under context, in document order."""
        for _comb, comp in chain:
            if comp[4] or not self._has(comp[1], comp[2]):
                return []  # a test cssselect translates to [0], or an id/class not on the page
        comp = chain[-1][1]
        candidates = self._candidates(comp)
        out = []
        if len(chain) == 1:
            if candidates is None:
                # no index narrows it: every element of the live subtree (all inside the context by construction)
                return [el for el in context.iter(etree.Element) if _match(el, comp)]
            memo: dict = {}
            for el in candidates:
                if _match(el, comp) and _inside(el, context, memo):
                    out.append(el)
            return out
        # every match lies strictly under an element matching each compound to its left: when one of those
        # is much rarer than the rightmost compound's candidates, take the candidates from under it instead
        # (few anchors only: nested anchors would visit the same elements again)
        anchors = None
        for _comb, left in chain[:-1]:
            found = self._candidates(left)
            if found is not None and (anchors is None or len(found) < len(anchors)):
                anchors = found
        if anchors is not None and len(anchors) <= 8 and (candidates is None or 2 * len(anchors) < len(candidates)):
            candidates = self._below(anchors, comp[0])
        elif candidates is None:
            candidates = context.iter(etree.Element)
        last = len(chain) - 2
        for el in candidates:
            if not _match(el, comp):
                continue
            path = _ancestors(el, context)
            if path is not None and _match_left(chain, last, path, 0):
                out.append(el)
        return out


def _inside(el, context, memo: dict) -> bool:
    """True when el is context or still under it (an element dropped from the tree never reaches it)."""
    chain = []
    node = el
    while True:
        if node is context:
            result = True
            break
        known = memo.get(node)
        if known is not None:
            result = known
            break
        chain.append(node)
        node = node.getparent()
        if node is None:
            result = False
            break
    for node in chain:
        memo[node] = result
    return result


def _ancestors(el, context) -> list | None:
    """el's ancestors up to and including context, nearest first; None when context is not among them."""
    path = []
    node = el
    while node is not context:
        node = node.getparent()
        if node is None:
            return None
        path.append(node)
    return path
