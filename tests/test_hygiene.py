"""The suite leaves the machine as it found it: no log in the checkout, no hand on the system PostgreSQL."""
from __future__ import annotations

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
    control = re.compile(r"pg_ctlcluster|systemctl\s+\w+\s+postgresql|service\s+postgresql|/etc/postgresql")
    offenders = [f"{path.name}:{n}" for path in sorted((REPO / "tests").glob("*.py")) if path.name != Path(__file__).name
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if control.search(line)]
    assert offenders == []
