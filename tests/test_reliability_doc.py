"""docs/reliability.md cannot drift from the suite: its fault-server table is generated from tests/test_faults.py's
CASES (HIWATCH_WRITE_DOCS=1 rewrites it), and every row of its hand-written abuse table names test functions
that exist. A row may say `pending: tests/FILE.py` only while that file does not exist yet (another branch is
bringing it); once the file exists, the row must name its tests."""
from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

from test_faults import CASES, TIMEOUT

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "reliability.md"
BEGIN = "<!-- fault cases: generated from tests/test_faults.py CASES by tests/test_reliability_doc.py -->"
END = "<!-- end of generated fault cases -->"
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]`]*\])?`")
PENDING = re.compile(r"pending: `?(tests/[\w/]+\.py)`?")

# What the fault server does, per case (a new case needs its sentence here, or the table cannot be generated).
SERVER_DOES = {
    "500-then-ok": "answers 500, then the page",
    "503-twice-then-ok": "answers 503 twice, then the page",
    "500-always": "answers 500 every time",
    "429-retry-after-too-long": "answers 429 with `Retry-After: 3600`",
    "timeout": f"answers after {TIMEOUT * 4:g} s (DOWNLOAD_TIMEOUT {TIMEOUT:g} s in the test)",
    "timeout-once": "times out once, then answers",
    "reset": "resets the connection (TCP RST) every time",
    "reset-once": "resets the connection once, then answers",
    "truncated": "closes the connection 5,000 bytes short of its Content-Length",
    "redirect-loop": "redirects a → b → a",
    "redirect-endless": "redirects to a new URL on every hop",
    "429-retry-after-2s": "answers 429 with `Retry-After: 2`, then the page",
    "404": "answers 404",
    "403-waf": "answers a WAF block page with 403",
    "200-challenge": "answers 200 with a JavaScript challenge page",
    "gb2312-declared-utf8": "declares gb2312 and sends UTF-8",
    "20mb-length": "sends a 20 MB body with Content-Length",
    "20mb-chunked": "sends a 20 MB body chunked (no length)",
    "binary-as-html": "sends a PNG as `text/html`",
    "broken-html": "sends broken HTML (unclosed tags, a NUL byte, a cut-off script)",
    "broken-html-unclosed-h1": "sends broken HTML whose h1 is never closed",
}


def _answer(name: str) -> tuple[str, str]:
    """(what hiwatch answers, what is stored) for one case, from its expectations in CASES."""
    case = CASES[name]
    times = f"; {case.requests} request{'s' * (case.requests != 1)}" if case.requests else ""
    if case.stored:
        title = f", title {case.title}" if case.title else ""
        return f"retries or repairs, stores the article{times}", f"the article{title}"
    reason = " or ".join(f"“{r}”" for r in case.reason)
    status = f", HTTP {case.http_status}" if case.http_status else ""
    kind = f"`{case.kind}`" if case.kind else "a"
    return (f"{kind} failure with a reason naming {reason}{status}{times}; the crawl goes on, exit 0",
            "no article; one `fetch_failures` row, counted in `run_sources`")


def generated_table() -> str:
    rows = ["| fault (`tests/test_faults.py::test_fault[…]`) | the server | hiwatch answers | stored |",
            "|---|---|---|---|"]
    for name in CASES:
        if name.startswith("_"):
            continue
        answer, stored = _answer(name)
        rows.append(f"| `{name}` | {SERVER_DOES[name]} | {answer} | {stored} |")
    return "\n".join(rows)


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_fault_case_has_a_description():
    assert sorted(n for n in CASES if not n.startswith("_")) == sorted(SERVER_DOES)


def test_the_fault_table_is_generated_from_the_cases():
    text = _doc()
    assert BEGIN in text and END in text
    head, rest = text.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    wanted = generated_table()
    if os.environ.get("HIWATCH_WRITE_DOCS") == "1" and current.strip() != wanted:
        DOC.write_text(f"{head}{BEGIN}\n{wanted}\n{END}{tail}", encoding="utf-8")
        pytest.skip("docs/reliability.md rewritten: review and commit it")
    assert current.strip() == wanted, "docs/reliability.md is out of date: run with HIWATCH_WRITE_DOCS=1 to regenerate"


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def abuse_rows(text: str) -> list[list[str]]:
    """The hand-written table's rows (the one after the heading '## Bad inputs and faults'), as cells."""
    section = text.split("## Bad inputs and faults", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def check_rows(rows: list[list[str]], repo: Path) -> list[str]:
    """What is wrong with the rows: a row without a test, a test that does not exist, a stale 'pending'."""
    problems = []
    for cells in rows:
        if len(cells) != 5:
            problems.append(f"{cells[0]}: needs 5 cells (input, answer, exit/status, stored, tests)")
            continue
        label, tests = cells[0], cells[4]
        refs = TEST_REF.findall(tests)
        pending = PENDING.findall(tests)
        if not refs and not pending:
            problems.append(f"{label}: names no test")
        for file, function in refs:
            path = repo / file
            if not path.exists():
                problems.append(f"{label}: {file} does not exist")
            elif function not in _functions(path):
                problems.append(f"{label}: {file} has no {function}")
        for file in pending:
            if (repo / file).exists():
                problems.append(f"{label}: {file} exists now: name its test instead of 'pending'")
    return problems


def test_every_row_of_the_abuse_table_names_existing_tests():
    rows = abuse_rows(_doc())
    assert len(rows) >= 20
    assert check_rows(rows, REPO) == []


def test_the_row_check_catches_drift(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_real():\n    pass\n", encoding="utf-8")
    rows = [["ok", "a", "0", "-", "`tests/test_a.py::test_real`"],
            ["renamed", "a", "0", "-", "`tests/test_a.py::test_gone`"],
            ["no file", "a", "0", "-", "`tests/test_b.py::test_x`"],
            ["nothing", "a", "0", "-", "see the code"],
            ["pending ok", "a", "0", "-", "pending: `tests/test_later.py`"],
            ["pending stale", "a", "0", "-", "pending: `tests/test_a.py`"]]
    assert check_rows(rows, tmp_path) == [
        "renamed: tests/test_a.py has no test_gone", "no file: tests/test_b.py does not exist",
        "nothing: names no test", "pending stale: tests/test_a.py exists now: name its test instead of 'pending'"]
