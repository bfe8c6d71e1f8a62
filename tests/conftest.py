"""Shared fixtures: settings on the project's config, a migrated SQLite file, a real PostgreSQL server.

PostgreSQL: TRACKER_TEST_PG_URL if set, else a throwaway cluster started here with initdb/pg_ctl on a
free port (root runs it as the postgres user). Without PostgreSQL binaries the PG tests skip, except
under CI=true, where that is a failure.

TRACKER_TEST_DB=postgresql runs the whole suite on PostgreSQL: the default test database (`db_url`,
`sqlite_url`, `sqlite_engine`, `settings`) is then a fresh PostgreSQL database per test, and tests marked
`sqlite_only` (SQLite pragmas, query plans) are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tracker.settings import PROJECT_ROOT, Settings, load_settings
from tracker.storage.db import make_engine, migrate
from tracker.storage.pgcluster import ClusterUnavailable, PgCluster, scratch_database

CONFIG_DIR = PROJECT_ROOT / "config"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 2026-11-23 12:00 Asia/Shanghai


@pytest.fixture
def now() -> datetime:
    return NOW


BACKEND = os.environ.get("TRACKER_TEST_DB", "sqlite")


PG_FIXTURES = {"pg_server_url", "pg_cluster", "pg_url", "pg_engine"}


def _needs_postgresql(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("engine") == "postgresql":
        return True
    return item.get_closest_marker("postgres") is not None or bool(PG_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each pass runs its own database's tests: the SQLite pass starts no PostgreSQL at all, and the
    PostgreSQL pass skips what the SQLite pass already ran (`engine[sqlite]`, `sqlite_only`)."""
    if BACKEND == "sqlite":
        skip = pytest.mark.skip(reason="needs PostgreSQL: runs in the PostgreSQL pass (TRACKER_TEST_DB=postgresql)")
        for item in items:
            if _needs_postgresql(item):
                item.add_marker(skip)
        return
    specific = pytest.mark.skip(reason=f"SQLite-specific; suite running on {BACKEND}")
    done = pytest.mark.skip(reason="the SQLite side of `engine` runs in the SQLite pass")
    for item in items:
        callspec = getattr(item, "callspec", None)
        if "sqlite_only" in item.keywords:
            item.add_marker(specific)
        elif callspec is not None and callspec.params.get("engine") == "sqlite":
            item.add_marker(done)


@pytest.fixture
def db_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The default test database: a SQLite file, or a fresh PostgreSQL database under TRACKER_TEST_DB."""
    if BACKEND == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'tracker.db'}"


@pytest.fixture(scope="module")
def module_db_url(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[str]:
    """One database for a module's tests, which tell their own rows apart: a SQLite file, or a fresh
    PostgreSQL database under TRACKER_TEST_DB."""
    if BACKEND == "postgresql":
        with scratch_database(request.getfixturevalue("pg_server_url")) as url:
            yield url
        return
    yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'tracker.db'}"


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


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(reason)


def start_cluster() -> PgCluster:
    """A throwaway PostgreSQL cluster; skips the test without PostgreSQL (fails under CI=true)."""
    try:
        return PgCluster().start()
    except ClusterUnavailable as exc:
        _unavailable(str(exc))
        raise


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A URL to a database on a real PostgreSQL server for the whole session."""
    url = os.environ.get("TRACKER_TEST_PG_URL")
    if url:
        yield url
        return
    cluster = start_cluster()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL server of the test's own (it may restart it)."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's server for one test."""
    with scratch_database(pg_server_url) as url:
        yield url


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
