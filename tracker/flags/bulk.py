"""A large opening of flags builds the flag table's secondary indexes once, after the rows.

Measured at a million parcels (bench/rules.py, 114,660 flags opened on an empty table). PostgreSQL: the
INSERT keeping the unique key and the seven other secondary indexes row by row took 0.79-0.82 s; the same
rows into the bare table took 0.06 s and building the indexes afterwards 0.21 s. SQLite (2026-12-07, AMD
EPYC): keeping its eight secondary indexes cost 0.42-0.48 s of the INSERT, building them afterwards 0.24 s,
and the commit copied 0.2 s less into the database file (the indexes' pages written once, in order, not
touched at random): the whole first evaluation 1.60-1.76 s before, 1.42-1.51 s after. An earlier measure
on another machine had found no gain on SQLite (0.30 s against 0.26 s, the commit not counted).

SQLite: the evaluation's transaction holds the database's write lock from its start (BEGIN IMMEDIATE), so
no other writer waits on anything here, and readers read the last commit (write-ahead log) with the indexes
it had. The unique key's own index (sqlite_autoindex) stays; the others are built again from their
definitions in sqlite_master. Taken when the evaluation opens at least BULK_MIN_FLAGS flags and more than
the table holds.

PostgreSQL: taken only when all of these hold, else the rows go into the table as it is:
- the evaluation opens at least BULK_MIN_FLAGS flags, and more than the table holds (the first evaluation
  of an imported history; a change of the rules that flags most parcels): the rebuild reads the whole table;
- the indexes are plain: valid, in the default tablespace, without comments, storage options on the unique
  key, clustering or replica identity, and no foreign key refers to one of them (what the catalog's
  definitions would not build again), and this role owns the table (may drop them);
- the table's ACCESS EXCLUSIVE lock is free at once (LOCK ... NOWAIT): no transaction is reading or writing
  flags at that moment. The evaluation never waits for it: waiting would stop every reader of flags
  behind it, and a person's flag change holding a row this evaluation wants would deadlock with it.

From the lock to the commit (the insert, the updates, the audit lines: about a second at a million parcels)
the board's reads of flags and a person's change of one wait for the evaluation; nothing the evaluation does
after the lock waits for another of the tracker's transactions (the scorecards' hours are marked before it,
the audit log's lock is taken before it; a database administrator's lock on the audit log, or on one of the
flag indexes alone, could still make it wait). The indexes are built again from their own catalog
definitions: the schema after is the schema before. A duplicate (parcel, kind) fails the unique key's rebuild
and the evaluation rolls back, as the kept key would have refused the row. An index built in a transaction
that still sees a dead row version of a changed flag is not used by that transaction's later statements
(PostgreSQL's indcheckxmin): the evaluation's last updates may then scan the flag table, which holds at most
twice the flags just opened.

On both, a partial index the new rows never enter (the caller names them: a flag as the rules open it is
neither assigned nor resolved, tracker/storage/rows.py) is kept as it is: its rebuild would read the whole
table for no entry, and kept it costs each new row one test of its predicate. Building the three such flag
indexes again over 114,660 opened flags took 22 ms on SQLite (7-8 ms each, 2026-12-07), under 2% of that
first evaluation: within its run-to-run swing, so the bench shows no difference."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from tracker.storage.db import sqlstate
from tracker.storage.repo import AUDIT

BULK_MIN_FLAGS = 20_000  # below this many opened flags, keeping the indexes costs less than rebuilding them
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE of a NOWAIT lock refused

# the table's secondary indexes (not the primary key, which alert.flag_id references) and its unique
# constraints, each with the statement that builds it again (and an index's own name, to keep it)
_INDEXES = text(
    """SELECT CAST(CAST(i.indexrelid AS regclass) AS text), pg_get_indexdef(i.indexrelid), c.relname
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = CAST(:table AS regclass)
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"""
)
_UNIQUE = text(
    """SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid = CAST(:table AS regclass) AND contype = 'u'"""
)
# the secondary indexes whose definitions would not build them again as they are, or that this role may not
# drop (it does not own the table)
_NOT_PLAIN = text(
    """SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = CAST(:table AS regclass) AND NOT i.indisprimary
      AND (NOT i.indisvalid OR NOT i.indisready OR i.indisclustered OR i.indisreplident
           OR c.reltablespace <> 0
           OR NOT pg_has_role(c.relowner, 'USAGE')
           OR EXISTS (SELECT 1 FROM pg_description d
                      WHERE d.classoid = CAST('pg_class' AS regclass) AND d.objoid = i.indexrelid)
           OR EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype <> 'f'
                      AND (c.reloptions IS NOT NULL OR k.condeferrable
                           OR EXISTS (SELECT 1 FROM pg_description d
                                      WHERE d.classoid = CAST('pg_constraint' AS regclass) AND d.objoid = k.oid)))
           OR EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid))"""
)


@contextmanager
def indexes_built_after(
    conn: Connection, table: str, rows: int, *, kept: frozenset[str] = frozenset()
) -> Iterator[bool]:
    """For a block writing `rows` new rows into `table`: when worth it and possible (the module's docstring),
    the table's secondary indexes and unique constraints dropped for the block and built again after it, in
    the caller's transaction; yields whether they were. The indexes named in `kept` (partial ones the new rows
    never enter) stay as they are: building one again would read the whole table for nothing."""
    if rows < BULK_MIN_FLAGS:
        yield False
        return
    if conn.dialect.name == "sqlite":
        with _sqlite_built_after(conn, table, rows, kept) as built:
            yield built
        return
    quoted = conn.execute(text("SELECT quote_ident(:table)"), {"table": table}).scalar_one()
    if not _more_than_held(conn, quoted, rows) or not _locked_at_once(conn, table, quoted):
        yield False
        return
    indexes = [
        (name, definition) for name, definition, own in conn.execute(_INDEXES, {"table": table}) if own not in kept
    ]
    uniques = conn.execute(_UNIQUE, {"table": table}).all()
    for name, _ in uniques:
        _ddl(conn, f"ALTER TABLE {quoted} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        _ddl(conn, f"DROP INDEX {name}")
    yield True
    for name, definition in uniques:
        _ddl(conn, f"ALTER TABLE {quoted} ADD CONSTRAINT {name} {definition}")
    for _, definition in indexes:
        _ddl(conn, definition)


def _more_than_held(conn: Connection, quoted: str, rows: int) -> bool:
    """Whether the table holds fewer than `rows` rows: counted, up to `rows` (the planner's reltuples can be
    stale, or -1 for a table never analyzed)."""
    bounded = text(f"SELECT count(*) FROM (SELECT 1 FROM {quoted} LIMIT :rows) AS held")
    return bool(rows > conn.execute(bounded, {"rows": rows}).scalar_one())


class _NotPlain(Exception):
    """Raised inside the lock's savepoint to give the lock back."""


def _locked_at_once(conn: Connection, table: str, quoted: str) -> bool:
    """The table's ACCESS EXCLUSIVE lock, taken if no other transaction holds a lock on it and its indexes
    are plain (checked under the lock: nothing changes them meanwhile); else nothing, the lock given back
    (the savepoint rolled back; a released savepoint keeps its locks). The audit log's lock first: its lines
    are written after, and nothing may be waited for once flags are locked."""
    try:
        with conn.begin_nested():
            _ddl(conn, f"LOCK TABLE {AUDIT.name} IN ROW EXCLUSIVE MODE")
            _ddl(conn, f"LOCK TABLE {quoted} IN ACCESS EXCLUSIVE MODE NOWAIT")
            if conn.execute(_NOT_PLAIN, {"table": table}).scalar_one():
                raise _NotPlain
    except _NotPlain:
        return False
    except OperationalError as exc:
        if sqlstate(exc) == LOCK_NOT_AVAILABLE:
            return False
        raise
    return True


def _ddl(conn: Connection, statement: str) -> None:
    """A statement as the catalog spells it, sent with no parameters: neither its casts (::text) nor a
    percent sign in a predicate are read as placeholders."""
    conn.exec_driver_sql(statement, execution_options={"no_parameters": True})


@contextmanager
def _sqlite_built_after(conn: Connection, table: str, rows: int, kept: frozenset[str]) -> Iterator[bool]:
    """SQLite: the table's secondary indexes (not the unique key's automatic one) dropped and built again
    from their own definitions in sqlite_master, when `rows` is more than the table holds (counted up to
    `rows`). The transaction holds the write lock from its start (tracker/flags/dialect.begin).

    An index's statistics (sqlite_stat1, written by an operator's ANALYZE) go with it when it is dropped;
    they are put back as they were. Without them the planner would weigh these indexes by its defaults
    against the other tables' measured ones, and may pick another plan for the board's reads (the same
    mix of measured and unmeasured indexes once sent a probe through the wrong index: storage/repo.py)."""
    if not _more_than_held(conn, _sqlite_quoted(table), rows):
        yield False
        return
    found = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
    )
    indexes = [(name, definition) for name, definition in found if name not in kept]
    stats: list[Any] = []
    if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'").first():
        names = {name for name, _ in indexes}
        stats = [
            row
            for row in conn.exec_driver_sql("SELECT tbl, idx, stat FROM sqlite_stat1 WHERE tbl = ?", (table,)).all()
            if row[1] in names
        ]
    for name, _ in indexes:
        _ddl(conn, f"DROP INDEX {_sqlite_quoted(name)}")
    yield True
    for _, definition in indexes:
        _ddl(conn, definition)
    if stats:
        conn.exec_driver_sql("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", [tuple(r) for r in stats])
        # read again by this connection too (the others read them with the new schema): without it, the rest of
        # the evaluation and every later use of this pooled connection planned with the defaults
        conn.exec_driver_sql("ANALYZE sqlite_master")


def _sqlite_quoted(name: str) -> str:
    """An SQLite identifier quoted (what quote_ident is on PostgreSQL)."""
    return '"{}"'.format(name.replace('"', '""'))
