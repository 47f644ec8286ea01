"""One crawl per database at a time: a PostgreSQL advisory lock, or on SQLite an OS lock on a file beside it
(beside the real file, symlinks resolved, so no spelling of the database's path gets round it).

Both are released by the operating system or the server when the holding process dies, so a killed crawl
never blocks the next night's.
"""
from __future__ import annotations

import fcntl
import os
import socket
import zlib
from pathlib import Path

from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from crawler.db import Database
from crawler.db.models import CrawlLock, Run
from crawler.window import now_utc


class LockHeld(Exception):
    """Another process holds the crawl lock of this database."""


class DatabaseLock:
    """Context manager: holds the named lock for the database or raises LockHeld at once."""

    def __init__(self, database: Database, name: str = "crawl"):
        self.database = database
        self.name = name
        self.key = zlib.crc32(f"hiwatch:{name}".encode()) & 0x7FFFFFFF
        self._connection = None
        self._file = None

    def _sqlite_path(self) -> Path | None:
        """The lock file beside the database file itself: its real path, so a symlink, a relative path or any
        other spelling of the same file meets the same lock."""
        database = self.database.engine.url.database
        if not database or database == ":memory:":
            return None
        return Path(os.path.realpath(database) + f".{self.name}.lock")

    def acquire(self) -> None:
        engine = self.database.engine
        if engine.dialect.name == "postgresql":
            self._connection = engine.connect()
            got = self._connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
            self._connection.commit()
            if not got:
                self._connection.close()
                self._connection = None
                raise LockHeld(self._holder_message())
        else:
            path = self._sqlite_path()
            if path is not None:
                self._file = open(path, "a+")
                try:
                    fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    self._file.close()
                    self._file = None
                    raise LockHeld(self._holder_message()) from None
        with self.database.session() as session:
            session.merge(CrawlLock(name=self.name, holder=socket.gethostname(), pid=os.getpid(),
                                    acquired_at=now_utc()))

    def _holder_message(self) -> str:
        with self.database.session() as session:
            row = session.get(CrawlLock, self.name)
        who = f" (held by pid {row.pid} on {row.holder} since {row.acquired_at:%Y-%m-%d %H:%M} UTC)" if row else ""
        return f"another {self.name} is running on {self.database.url}{who}"

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                self._connection.commit()
            except DBAPIError:  # the session is gone (server restarted): so is its advisory lock
                pass
            finally:
                self._connection.close()
                self._connection = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> "DatabaseLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def close_stale_runs(database: Database, kind: str = "crawl") -> int:
    """Mark runs still 'running' as interrupted; call only while holding the lock (so none is really running)."""
    with database.session() as session:
        result = session.execute(update(Run).where(Run.status == "running", Run.kind == kind)
                                 .values(status="interrupted", finished_at=now_utc(),
                                         message="the process ended without closing the run (killed or crashed)"))
        return result.rowcount or 0
