"""Shared fixtures: the database on SQLite and on the real PostgreSQL server, and the shared real pages."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crawler.db import Database, connect
from crawler.db.models import Base

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
SHARED = Path(os.environ.get("HIWATCH_SHARED", REPO.parent / "shared"))
REALPAGES = SHARED / "realpages"
SEEDS = SHARED / "seeds"
PG_ADMIN_URL = os.environ.get("HIWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

# The suite's warnings (hundreds of deliberate faults) go to a log of its own, never into the checkout's
# var/log/hiwatch.log nor the operator's HIWATCH_LOG_FILE; every hiwatch process the tests start inherits this.
LOG_DIR = Path(tempfile.mkdtemp(prefix="hiwatch-test-log-"))
os.environ["HIWATCH_LOG_FILE"] = str(LOG_DIR / "hiwatch.log")


def pytest_unconfigure(config):
    shutil.rmtree(LOG_DIR, ignore_errors=True)


def _shared_or_skip(path: Path) -> Path:
    """The shared path, or a skip with a message; under CI=true its absence fails the run."""
    if path.exists():
        return path
    message = f"{path} is absent: place the shared/ folder beside the repository to run this test"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def realpages() -> Path:
    return _shared_or_skip(REALPAGES)


@pytest.fixture(scope="session")
def seeds() -> Path:
    return _shared_or_skip(SEEDS)


@pytest.fixture(scope="session")
def manifest(realpages: Path) -> list[dict]:
    with open(realpages / "MANIFEST.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database on the local server for this test session, dropped at the end."""
    name = f"hiwatch_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)  # survives a restart
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the server is part of the test environment: its absence is a failure
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is not usable: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A migrated, empty database URL: a SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hiwatch.sqlite3'}"
    url = request.getfixturevalue("pg_url")
    database = connect(url)
    with database.engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    database.dispose()
    return url


@pytest.fixture
def db(db_url) -> Database:
    """A connected, migrated, empty Database on SQLite and on PostgreSQL (the test runs once for each)."""
    database = connect(db_url)
    yield database
    database.dispose()
