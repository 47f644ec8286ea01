"""The candidates table for a terminal: one line per story, fixed columns, titles cut to the width with an ellipsis.

Widths are display cells (a Chinese character takes two), measured with rich.cells.cell_len.
"""
from __future__ import annotations

from rich.cells import cell_len

ELLIPSIS = "…"
MIN_WIDTH = 60
# mark, id, score, date (MM-DD), source, copies: fixed; the title takes the rest
COLUMNS = (("", 1, "<"), ("id", 6, ">"), ("score", 5, ">"), ("date", 5, "<"), ("source", 10, "<"), ("+", 2, ">"))
MARKS = {"chosen": "*", "printed": "p", "below": "·", "other": " "}
LEGEND = "* in the default issue  p printed before  · below the threshold  +N other copies"


def fit(text: str, width: int) -> str:
    """`text` cut to at most `width` display cells, ending in … when cut."""
    if cell_len(text) <= width:
        return text
    out, used = [], 0
    for char in text:
        size = cell_len(char)
        if used + size > width - 1:
            break
        out.append(char)
        used += size
    return "".join(out) + ELLIPSIS


def pad(text: str, width: int, align: str = "<") -> str:
    """`text` fitted and padded with spaces to exactly `width` display cells."""
    text = fit(text, width)
    gap = " " * (width - cell_len(text))
    return gap + text if align == ">" else text + gap


def mark(candidate, chosen_ids: set[int]) -> str:
    if candidate.id in chosen_ids:
        return MARKS["chosen"]
    if candidate.printed_in:
        return MARKS["printed"]
    return MARKS["other"] if candidate.relevant else MARKS["below"]


def table_lines(shown, chosen_ids: set[int], width: int) -> list[str]:
    """Header and one line per candidate, each at most `width` (at least MIN_WIDTH) display cells."""
    width = max(width, MIN_WIDTH)
    fixed = sum(w for _, w, _ in COLUMNS) + len(COLUMNS)  # one space after each fixed column
    title_width = width - fixed
    header = " ".join(pad(name, w, align) for name, w, align in COLUMNS) + " " + pad("title", title_width)
    lines = [header.rstrip()]
    for c in shown:
        cells = (mark(c, chosen_ids), str(c.id), f"{c.score:g}", c.published_on.strftime("%m-%d") if c.published_on
                 else "?", c.article.source_name or "", f"+{len(c.also)}" if c.also else "")
        row = " ".join(pad(value, w, align) for value, (_, w, align) in zip(cells, COLUMNS))
        lines.append((row + " " + fit(c.article.title or "", title_width)).rstrip())
    return lines


def wide_lines(shown, chosen_ids: set[int]) -> list[str]:
    """Everything, untruncated: mark, id, score, date, source, title, terms, other copies, earlier issues."""
    lines = []
    for c in shown:
        extra = [f"terms: {'、'.join(c.terms)}"] if c.terms else []
        if c.also:
            extra.append("also: " + "、".join(f"{a.source_name} #{a.id}" for a in c.also))
        extra += [f"printed in issue {n}" for n in c.printed_in]
        day = c.published_on.isoformat() if c.published_on else "?"
        lines.append(f"{mark(c, chosen_ids)} {c.id:>6} {c.score:>5g} {day} {c.article.source_name}  "
                     f"{c.article.title}  [{'; '.join(extra)}]")
    return lines
