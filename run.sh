#!/usr/bin/env bash
# hiwatch set-up and entry points: `./run.sh demo` (the main job, offline, into SQLite) and `./run.sh test`.
set -euo pipefail
cd "$(dirname "$0")"

setup() {
  # A project-local virtualenv with hiwatch and its test tools; rebuilt when pyproject.toml changes.
  if [ ! -x .venv/bin/hiwatch ] || [ pyproject.toml -nt .venv/.installed ]; then
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "hiwatch needs Python >= 3.11" >&2; exit 1; }
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -e '.[dev]'
    touch .venv/.installed
  fi
}

case "${1:-}" in
  setup)
    setup ;;
  demo)
    setup
    # The real crawl, against the project's own replay set served on 127.0.0.1 (no network needed),
    # for the digest week ending Friday 2025-09-05, into the default SQLite file var/hiwatch.sqlite3.
    .venv/bin/hiwatch crawl --replay fixtures/replay --week 2025-09-05 "${@:2}"
    # Then the Friday issue from the database: ranked candidates, and the 周报 as DOCX, Markdown and HTML.
    .venv/bin/hiwatch digest candidates --week 2025-09-05
    .venv/bin/hiwatch digest build --week 2025-09-05 --number 640 --format all -o out/demo
    ;;
  test)
    setup
    # One pytest worker per core (pytest-xdist); a module's tests stay on one worker, so its module-scoped fixtures
    # (a throwaway PostgreSQL, a browser, an evaluation run) start once. `./run.sh test -n 0` runs in one process.
    exec .venv/bin/python -m pytest -q -n auto --dist loadscope "${@:2}" ;;
  *)
    echo "usage: ./run.sh demo|test|setup [args…]" >&2; exit 2 ;;
esac
