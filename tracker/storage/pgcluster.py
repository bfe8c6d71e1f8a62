"""A throwaway PostgreSQL cluster (initdb + pg_ctl on a free port) for the tests and the benchmarks.

Not for production: fsync is off. Root runs the server as the `postgres` user (PostgreSQL refuses root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


class ClusterUnavailable(RuntimeError):
    """No PostgreSQL binaries, or the server would not start (the message says which)."""


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgCluster:
    """`start()` creates the cluster and database `dbname`; `url` is its SQLAlchemy URL."""

    dbname: str = "tracker_test"
    settings: tuple[str, ...] = ()  # extra server settings, e.g. ("shared_buffers=1GB",)
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tracker-pg-")))

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.dbname}"

    @property
    def _prefix(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self._prefix, *args], check=True, capture_output=True, text=True)

    def _ctl(self, *args: str) -> None:
        binary = pg_bin()
        assert binary is not None
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        ) + "".join(f" -c {setting}" for setting in self.settings)
        self._run(
            str(binary / "pg_ctl"),
            "-D",
            str(self.root / "data"),
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            *args,
        )

    def start(self) -> PgCluster:
        binary = pg_bin()
        if binary is None:
            raise ClusterUnavailable("no PostgreSQL server binaries (apt-get install postgresql)")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        try:
            self._run(
                str(binary / "initdb"),
                "-D",
                str(self.root / "data"),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            )
            self._ctl("start")
            self._run(str(binary / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.dbname)
        except subprocess.CalledProcessError as exc:
            raise ClusterUnavailable(f"could not start PostgreSQL: {exc.stderr.strip()}") from exc
        return self

    def restart(self) -> None:
        """Stop the server (fast: connections are cut) and start it again on the same port."""
        self._ctl("-m", "fast", "restart")

    def stop(self) -> None:
        binary = pg_bin()
        if binary is not None:
            subprocess.run(
                [*self._prefix, str(binary / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"],
                capture_output=True,
            )
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def scratch_database(server_url: str, prefix: str = "t") -> Iterator[str]:
    """A fresh, empty database on the server of `server_url` (any database URL there); dropped after."""
    from sqlalchemy import text

    from tracker.storage.db import make_engine

    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
