"""Engine creation and schema migrations for SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from tracker.errors import TrackerError

T = TypeVar("T")

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# seconds a PostgreSQL connection attempt may take (an unreachable host fails instead of hanging);
# a `?connect_timeout=N` in the URL wins
PG_CONNECT_TIMEOUT = 10
URL_EXAMPLES = "sqlite:///var/tracker.db or postgresql://user@host:5432/tracker"


class DatabaseUnavailable(TrackerError):
    """The configured database cannot be used: a bad URL, no database file, an unreachable server."""


def redact_url(url: str) -> str:
    """The URL text with any password replaced by ***, even when it does not parse."""
    import re

    return re.sub(r"(://[^/@:]*:)[^@/]*@", r"\1***@", url)


def describe_database(url: str | URL) -> str:
    """Where a database is, for a person: the SQLite file, or PostgreSQL's host, port and database
    (never the user's password)."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}" if parsed.database not in (None, "", ":memory:") else "SQLite in memory"
    host = parsed.host or "localhost (socket)"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.get_backend_name()} at {host}{port}, database {parsed.database or '(default)'}"


def parse_database_url(url: str, *, source: str = "database_url") -> URL:
    """The parsed URL, or one DatabaseUnavailable line naming the setting (its password hidden)."""
    try:
        return make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise DatabaseUnavailable(
            f"{source}: {redact_url(url)!r} is not a database URL (expected {URL_EXAMPLES})"
        ) from None


def open_database(
    url: str, *, source: str = "database_url", create: bool = False, migrate_schema: bool = True, **kw: Any
) -> Engine:
    """The engine of the configured database, checked and migrated, or one DatabaseUnavailable line
    naming what is wrong and where (`source`: the setting the URL came from).

    A SQLite file that does not exist is created only with `create` (`tracker init`, the demo): a mistyped
    path must not silently become a new empty database."""
    parsed = parse_database_url(url, source=source)
    if parsed.get_backend_name() == "sqlite" and not create:
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:") and not Path(database).exists():
            raise DatabaseUnavailable(
                f"no database at {database} ({source}): run `tracker init` to create it, or correct the path"
            )
    try:
        engine = make_engine(url, **kw)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseUnavailable(
            f"{source}: cannot use a {parsed.drivername} URL ({reason}); expected {URL_EXAMPLES}"
        ) from None
    try:
        if not migrate_schema:
            with engine.connect():  # reachable: the error below names the database
                pass
        elif current_revision(engine) != head_revision():  # Alembic only when the schema is behind
            migrate(engine)
    except DBAPIError as exc:
        engine.dispose()
        lines = str(exc.orig or exc).strip().splitlines()
        raise DatabaseUnavailable(
            f"cannot open the database ({describe_database(parsed)}; {source}): {lines[0] if lines else exc}"
        ) from None
    return engine


def make_engine(url: str, **kw: Any) -> Engine:
    """An engine for `url`: SQLite gets WAL, synchronous=NORMAL, a busy timeout and foreign keys;
    PostgreSQL gets pre-ping so a restarted server is reconnected transparently."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        args: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if not database or database == ":memory:":
            args["poolclass"] = StaticPool
        engine = create_engine(url, **args, **kw)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        kw["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT, **kw.get("connect_args", {})}
    return create_engine(url, pool_pre_ping=True, **kw)


WAL_CHECKPOINT_PAGES = 10_000  # 40 MB of 4 KB pages
WAL_KEPT_BYTES = 64 << 20


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: many more small commits per second than the default journal (docs/architecture.md)
    cur.execute("PRAGMA synchronous=NORMAL")
    # the log copied into the database file when it holds WAL_CHECKPOINT_PAGES, not SQLite's 1,000 (4 MB): a
    # poll's batch or an import's writes a few MB, so each commit or every other one paid a checkpoint (a write
    # of every page it changed, and a sync); a checkpoint of ten batches writes a page they all changed once
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cur.execute(f"PRAGMA journal_size_limit={WAL_KEPT_BYTES}")  # a log grown past that shrinks back after
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


# PostgreSQL's SQLSTATEs of a transaction it rolled back to break a deadlock or a serialization conflict: the
# whole transaction may be run again
ROLLED_BACK_BY_THE_SERVER = frozenset({"40P01", "40001"})


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (psycopg's), else None."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) if isinstance(exc, DBAPIError) else None


def again_if_rolled_back(attempt: Callable[[], T], *, what: str, then: str, logger: logging.Logger) -> T:
    """`attempt()`, a transaction of its own, run again once when the database rolled it back to break a
    deadlock (or a serialization conflict): nothing of the first attempt is left, and the other transaction
    goes on. Logged on the caller's `logger` as "`what` rolled back by the database (SQLSTATE ...), `then`".
    Any other error, or the second one, is raised."""
    try:
        return attempt()
    except DBAPIError as exc:
        code = sqlstate(exc)
        if code not in ROLLED_BACK_BY_THE_SERVER:
            raise
        logger.warning("%s rolled back by the database (SQLSTATE %s), %s", what, code, then)
    return attempt()


def driver_connection(conn: Connection) -> Any:
    """The DBAPI connection under `conn` (sqlite3's: pragmas, the transaction state, functions)."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the connection is closed")
    return raw


@contextmanager
def sqlite_settings(conn: Connection, pragmas: Mapping[str, str]) -> Iterator[None]:
    """These SQLite pragmas (name -> integer value) on the connection for the block, each set back to its
    value before afterwards: a pooled connection goes back to the pool as it came. Nothing on PostgreSQL."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = driver_connection(conn)
    saved = {name: raw.execute(f"PRAGMA {name}").fetchone()[0] for name in pragmas}
    for name, value in pragmas.items():
        raw.execute(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        if not conn.invalidated:  # a connection the pool threw away is closed: nothing to set back
            for name, value in saved.items():
                raw.execute(f"PRAGMA {name} = {int(value)}")


def alembic_config(engine: Engine) -> Config:
    # alembic (with mako and pygments) is imported only when a schema is migrated: CLI start-up
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


MIGRATION_LOCK = 7_410_000  # pg_advisory_lock key: processes starting together migrate one at a time


@contextmanager
def advisory_lock(engine: Engine, key: int) -> Iterator[Connection | None]:
    """Hold PostgreSQL advisory lock `key` (processes starting together take turns); yields the holding
    connection. SQLite has one writer anyway: no lock, yields None."""
    if engine.dialect.name != "postgresql":
        yield None
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        try:
            yield conn
        finally:
            conn.rollback()  # an error left in the session must not block the unlock
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def head_revision() -> str:
    """The newest migration's revision, read from the file names (each revision is its file's name, numbered
    in order; tests/test_storage.py checks this against Alembic's own head), without loading Alembic."""
    return max(p.stem for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))


def current_revision(engine: Engine) -> str | None:
    """The revision the database's schema is at (None: not made yet)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(version) if version is not None else None


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest) with Alembic. On PostgreSQL an advisory lock
    makes workers that start together take turns (the later ones find the schema current)."""
    from alembic import command

    with advisory_lock(engine, MIGRATION_LOCK):
        command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def lock_for_writing(conn: Connection) -> None:
    """SQLite: the write lock taken now (BEGIN IMMEDIATE, waiting up to the busy timeout for another writer's
    commit) when the connection holds no transaction yet. Python's sqlite3 begins a transaction at the first
    write only: what a transaction read before it was read outside it, and another writer could commit in
    between (two ingests of one parcel each computing its snapshot without the other's events). Nothing on
    PostgreSQL, where a transaction locks the rows it reads for writing (SELECT ... FOR UPDATE)."""
    if conn.dialect.name == "sqlite" and not driver_connection(conn).in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


NO_KEY_CHECKS = {"foreign_keys": "0"}


@contextmanager
def write_transaction(engine: Engine, *, key_checks: bool = True) -> Iterator[Connection]:
    """A transaction that writes from what it reads, locked from its start on SQLite (lock_for_writing).

    `key_checks=False` (SQLite): no foreign-key checks, for a writer whose every key names a row it read in the
    transaction: that row cannot go before the commit, so each check is a lookup that cannot fail (a parcel's
    per event an ingest stores). PRAGMA foreign_keys takes effect outside a transaction only: set before it
    and set back after. `engine` may stand in for a caller's transaction (push_store.SharedTransaction, not an
    Engine): its connection is used as it is, locked if it is not yet, with the checks kept."""
    if not isinstance(engine, Engine):
        with engine.begin() as conn:
            lock_for_writing(conn)
            yield conn
        return
    with engine.connect() as conn, sqlite_settings(conn, {} if key_checks else NO_KEY_CHECKS), conn.begin():
        lock_for_writing(conn)
        yield conn
