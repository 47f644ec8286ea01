"""Storage: engine and sessions for SQLite (default) or PostgreSQL, migrated with Alembic on first use."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crawler.db.models import Base  # noqa: F401  (re-exported for callers)

DEFAULT_DB_URL = "sqlite:///var/hiwatch.sqlite3"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD_REVISION = "0009"  # the newest migration; tests/test_db.py checks it is Alembic's head


class DatabaseError(Exception):
    """The database cannot be reached or migrated; the message says which URL and why."""


class DatabaseURLError(DatabaseError):
    """The URL itself is wrong (not a URL, an unknown kind of database, its driver not installed): a bad argument."""


class DatabaseMissing(DatabaseError):
    """A command that only reads was pointed at an SQLite file that does not exist (a mistyped path)."""


def database_url(url: str | None = None) -> str:
    """The URL in force: the argument, else HIWATCH_DATABASE_URL, else the SQLite file var/hiwatch.sqlite3."""
    url = url or os.environ.get("HIWATCH_DATABASE_URL") or DEFAULT_DB_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def redact(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: a committed article survives a crash or kill of the process; only a power loss or OS crash
    # can lose the last commits (never corrupt the file). FULL would fsync every article on the crawl's path.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for in-memory databases and other kinds)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        return Path(url[len("sqlite:///"):].split("?", 1)[0])  # as SQLite opens it: no ~ expansion
    return None


def make_engine(url: str | None = None, create: bool = True) -> Engine:
    """An engine for `url`; with create=False an SQLite file that does not exist is DatabaseMissing, not made.

    A URL that is not one, names an unknown kind of database or one whose driver is missing is DatabaseURLError."""
    url = database_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseURLError(f"{url!r} is not a database URL (e.g. sqlite:///var/hiwatch.sqlite3 or "
                               "postgresql://user@host/hiwatch)") from None
    file = sqlite_file(url) if parsed.get_backend_name() == "sqlite" else None
    if file is not None:
        if create:
            file.parent.mkdir(parents=True, exist_ok=True)
        elif not file.is_file():
            raise DatabaseMissing(f"{file}: no such database (a mistyped --db? `hiwatch crawl`, "
                                  "`hiwatch articles import` or `hiwatch db upgrade` create one)")
    kwargs: dict = {"future": True}
    if url.startswith("postgresql"):
        kwargs.update(pool_pre_ping=True, connect_args={"connect_timeout": 10})
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise DatabaseURLError(f"{redact(url)}: unknown kind of database {parsed.drivername!r} "
                               "(hiwatch stores into sqlite:/// or postgresql://)") from None
    except ImportError as exc:
        raise DatabaseURLError(f"{redact(url)}: the {parsed.drivername} driver is not installed ({exc}); "
                               "hiwatch stores into sqlite:/// or postgresql://") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision` (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        raise DatabaseError(f"cannot reach or migrate {redact(str(engine.url))}: {exc.orig}") from None


class Database:
    """An engine plus a session factory; `connect()` makes one and migrates it."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        return redact(str(self.engine.url))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def at_head(engine: Engine) -> bool:
    """True when the schema is already at HEAD_REVISION: one query instead of loading Alembic and its scripts
    (160 ms at the start of every command, measured on a migrated SQLite file). Any error — no table yet, no server — says no, and
    upgrade() then migrates or reports it."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD_REVISION]
    except DBAPIError:
        return False


def connect(url: str | None = None, migrate: bool = True, create: bool = True) -> Database:
    """Open the database at `url` (see database_url) and bring its schema up to date.

    Commands that only read pass create=False: a mistyped SQLite path is then DatabaseMissing, not a new file."""
    engine = make_engine(url, create)
    if migrate and not at_head(engine):
        upgrade(engine)
    return Database(engine)


def current_tables(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())
