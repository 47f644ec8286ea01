"""A throwaway PostgreSQL server for the tests that stop and start one: `initdb` into a temporary directory,
`pg_ctl` on a free port of 127.0.0.1, everything removed afterwards. The machine's own cluster is never touched.

initdb and postgres refuse to run as root: as root the server runs as the `postgres` system user (runuser)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def bindir() -> Path | None:
    """$HIWATCH_PG_BIN, else the newest /usr/lib/postgresql/*/bin, else the directory of `pg_ctl` on PATH."""
    if os.environ.get("HIWATCH_PG_BIN"):
        return Path(os.environ["HIWATCH_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def unavailable() -> str | None:
    """Why no scratch server can run here (None: it can)."""
    folder = bindir()
    if folder is None or not (folder / "initdb").exists():
        return "needs PostgreSQL's initdb and pg_ctl (apt-get install postgresql, or set HIWATCH_PG_BIN)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root needs a `postgres` system user to run the scratch server as"
        if shutil.which("runuser") is None:
            return "running as root needs runuser (util-linux) to start the scratch server as postgres"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ScratchPostgres:
    """One private PostgreSQL server: start(), stop(), close(); `url` is its superuser database URL."""

    def __init__(self) -> None:
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="hiwatch-pg-"))  # not pytest's tmp: postgres must reach it
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.running = False
        self.port = _free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8",
                      "--locale=C.UTF-8")
            with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = "
                           f"'{self.root}'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                           "shared_buffers = 16MB\nmax_connections = 60\n")
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        done = subprocess.run([*self._as, str(self.bin / tool), *args], capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {done.stderr or done.stdout}\n{log}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def is_up(self) -> bool:
        return subprocess.run([str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
                              timeout=15).returncode == 0

    def close(self) -> None:
        """Stop the server (immediately) if it runs and remove every file it wrote."""
        try:
            if self.running or self.is_up():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "ScratchPostgres":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
