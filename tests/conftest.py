"""Shared fixtures: settings on the project's config, a migrated SQLite file, a real PostgreSQL server.

PostgreSQL: TRACKER_TEST_PG_URL if set, else a throwaway cluster started here with initdb/pg_ctl on a
free port (root runs it as the postgres user). Without PostgreSQL binaries the PG tests skip, except
under CI=true, where that is a failure.

TRACKER_TEST_DB=postgresql runs the whole suite on PostgreSQL: the default test database (`db_url`,
`sqlite_url`, `sqlite_engine`, `settings`) is then a fresh PostgreSQL database per test, and tests marked
`sqlite_only` (SQLite pragmas, query plans) are skipped.
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
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tracker.settings import PROJECT_ROOT, Settings, load_settings
from tracker.storage.db import make_engine, migrate

CONFIG_DIR = PROJECT_ROOT / "config"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 2026-11-23 12:00 Asia/Shanghai


@pytest.fixture
def now() -> datetime:
    return NOW


BACKEND = os.environ.get("TRACKER_TEST_DB", "sqlite")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND != "sqlite":
        skip = pytest.mark.skip(reason=f"SQLite-specific; suite running on {BACKEND}")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def db_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The default test database: a SQLite file, or a fresh PostgreSQL database under TRACKER_TEST_DB."""
    if BACKEND == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'tracker.db'}"


@pytest.fixture
def sqlite_url(db_url: str) -> str:
    return db_url


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Settings:
    monkeypatch.setenv("TRACKER_DATABASE_URL", sqlite_url)
    return load_settings(CONFIG_DIR)


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(db_engine: Engine) -> Engine:
    return db_engine


# --- PostgreSQL --------------------------------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A URL to a database on a real PostgreSQL server for the whole session."""
    url = os.environ.get("TRACKER_TEST_PG_URL")
    if url:
        yield url
        return
    pg_bin = _pg_bin()
    if pg_bin is None:
        _unavailable("no PostgreSQL server binaries (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    data = root / "data"

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True)

    try:
        run(str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-locale", "--no-sync")  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        run(str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "-o", options,
            "start")  # fmt: skip
        run(str(pg_bin / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "tracker_test")
    except subprocess.CalledProcessError as exc:
        _unavailable(f"could not start PostgreSQL: {exc.stderr.strip()}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/tracker_test"
    finally:
        subprocess.run([*prefix, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's server for one test."""
    admin = make_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = pg_server_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The storage layer on both databases: every test using it runs twice."""
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_engine")
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'both.db'}")
    migrate(engine)
    yield engine
    engine.dispose()
