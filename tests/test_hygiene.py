"""The suite leaves the machine as it found it: no log in the checkout, no hand on the system PostgreSQL."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECKOUT_LOG = REPO / "var" / "log" / "hiwatch.log"


def test_hiwatch_processes_started_by_the_suite_log_outside_the_checkout():
    """Once the suite wrote 200+ fake warnings into the checkout's real var/log/hiwatch.log."""
    target = Path(os.environ.get("HIWATCH_LOG_FILE", CHECKOUT_LOG)).resolve()
    assert REPO not in target.parents, target
    probe = f"hygiene-probe-{uuid.uuid4().hex}"
    code = ("import logging; from crawler.logs import attach_file_log; attach_file_log(); "
            f"logging.getLogger('hiwatch.test').warning({probe!r})")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert probe in target.read_text(encoding="utf-8")
    assert not CHECKOUT_LOG.exists() or probe not in CHECKOUT_LOG.read_text(encoding="utf-8", errors="replace")


def test_no_test_stops_or_starts_the_machines_postgresql():
    """The restart tests start their own server (tests/pgserver.py); the system cluster is never controlled."""
    # the commands spelt in pieces, so that a grep of the suite for service control finds only real uses
    words = ["pg_ctl" + "cluster", r"systemctl\s+\w+\s+" + "postgresql", r"service\s+" + "postgresql", "/etc/" + "postgresql"]
    control = re.compile("|".join(words))
    offenders = [f"{path.name}:{n}" for path in sorted((REPO / "tests").glob("*.py")) if path.name != Path(__file__).name
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if control.search(line)]
    assert offenders == []


def _cannot_fail(test: ast.expr) -> bool:
    """An assert condition that holds whatever the code does: a truthy constant, `… or <truthy constant>`,
    `x == x`, `len(…) >= 0`."""
    if isinstance(test, ast.Constant):
        return bool(test.value)
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        return any(_cannot_fail(value) for value in test.values)
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if ast.dump(left) == ast.dump(right) and isinstance(op, (ast.Eq, ast.GtE, ast.LtE, ast.Is)):
            return True
        if (isinstance(op, ast.GtE) and isinstance(right, ast.Constant) and right.value == 0
                and isinstance(left, ast.Call) and getattr(left.func, "id", "") == "len"):
            return True
    return False


def _swallows_failures(handler: ast.ExceptHandler, body: list[ast.stmt]) -> bool:
    """`except (AssertionError | Exception | bare): pass` around code that asserts."""
    caught = ast.unparse(handler.type) if handler.type else ""
    broad = caught in ("", "Exception", "BaseException", "AssertionError") or "AssertionError" in caught
    quiet = all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
                for s in handler.body)
    asserts = any(isinstance(n, ast.Assert) for statement in body for n in ast.walk(statement))
    return broad and quiet and asserts


def test_no_assertion_in_the_suite_cannot_fail():
    """Once tests/test_faults.py or-ed an assertion with a true constant: it passed whatever was stored."""
    found = []
    for path in sorted((REPO / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assert) and _cannot_fail(node.test):
                found.append(f"{path.name}:{node.lineno}: assert {ast.unparse(node.test)}")
            if isinstance(node, ast.Try):
                found += [f"{path.name}:{h.lineno}: except swallows a failed assert" for h in node.handlers
                          if _swallows_failures(h, node.body)]
    assert found == []


def test_the_tautology_check_finds_tautologies():
    tautologies = ["x or True", "True", "len(xs) >= 0", "a.b == a.b", "'text'"]  # conditions that always hold
    assert all(_cannot_fail(ast.parse(f"assert {condition}").body[0].test) for condition in tautologies)
    assert not any(_cannot_fail(ast.parse(s).body[0].test) for s in ["assert x", "assert x or y", "assert a == b",
                                                                       "assert False or x", "assert len(x) >= 1"])
    tree = ast.parse("try:\n    assert f()\nexcept AssertionError:\n    pass\n").body[0]
    assert _swallows_failures(tree.handlers[0], tree.body)


def test_strict_warnings_fail_our_deprecations_not_a_librarys():
    """HIWATCH_STRICT_WARNINGS (set by the tests' crawls) turns a DeprecationWarning raised at a line of ours into an
    error, never one a library raises about another library's call (w3lib 2.6 about Scrapy's, once: every request
    of a test crawl failed)."""
    import subprocess
    import sys

    code = """
import os, sys, warnings
os.environ["HIWATCH_STRICT_WARNINGS"] = "1"
from crawler.cli import main
main.callback()
warnings.warn_explicit("a library's", DeprecationWarning, "encoding.py", 1, module="scrapy.http.response.text")
try:
    warnings.warn_explicit("ours", DeprecationWarning, "core.py", 1, module="crawler.extract.core")
except DeprecationWarning:
    sys.exit(0)
sys.exit(3)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
