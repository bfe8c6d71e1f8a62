"""PostgreSQL: a large opening of flags builds the flag table's secondary indexes once, after the rows.

Measured at a million parcels (bench/rules.py, 114,660 flags opened on an empty table): the INSERT keeping
the unique key and the seven other secondary indexes row by row took 0.79-0.82 s; the same rows into the
bare table took 0.06 s and building the indexes afterwards 0.21 s. SQLite gains nothing from this (building
its indexes afterwards cost 0.30 s against the 0.26 s of keeping them, measured): not used there.

The drop holds the flag table's ACCESS EXCLUSIVE lock until the evaluation commits: a reader of flags waits
for the evaluation (about a second at a million parcels) rather than reading a table without its indexes.
So it is taken only when an evaluation opens at least BULK_MIN_FLAGS flags and more than the table holds
(the first evaluation of an imported history; a change of the rules that flags most parcels). The indexes
and the unique constraint are built again from their own definitions, read from the catalog: the schema
after is the schema before. A duplicate (parcel, kind) fails the unique key's rebuild and the evaluation
rolls back, as the kept index would have refused the row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection

BULK_MIN_FLAGS = 20_000  # below this many opened flags, keeping the indexes costs less than the lock

# the table's secondary indexes (not the primary key, which alert.flag_id references) and its unique
# constraints, each with the statement that builds it again
_INDEXES = text(
    """SELECT quote_ident(c.relname), pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = CAST(:table AS regclass)
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"""
)
_UNIQUE = text(
    """SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid = CAST(:table AS regclass) AND contype = 'u'"""
)
_ESTIMATE = text("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = CAST(:table AS regclass)")


def worth_rebuilding(conn: Connection, table: str, opening: int) -> bool:
    """Whether opening `opening` rows of `table` is better done with its indexes built afterwards: PostgreSQL,
    at least BULK_MIN_FLAGS, and more than the table holds (the planner's estimate: no count of the table)."""
    if conn.dialect.name != "postgresql" or opening < BULK_MIN_FLAGS:
        return False
    held = conn.execute(_ESTIMATE, {"table": table}).scalar_one()
    return opening > float(held or 0)


@contextmanager
def indexes_built_after(conn: Connection, table: str) -> Iterator[None]:
    """`table`'s secondary indexes and unique constraints dropped for the block, and built again after it, in
    the caller's transaction (PostgreSQL)."""
    quoted = conn.execute(text("SELECT quote_ident(:table)"), {"table": table}).scalar_one()
    indexes = conn.execute(_INDEXES, {"table": table}).all()
    uniques = conn.execute(_UNIQUE, {"table": table}).all()
    for name, _ in uniques:
        _ddl(conn, f"ALTER TABLE {quoted} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        _ddl(conn, f"DROP INDEX {name}")
    yield
    for name, definition in uniques:
        _ddl(conn, f"ALTER TABLE {quoted} ADD CONSTRAINT {name} {definition}")
    for _, definition in indexes:
        _ddl(conn, definition)


def _ddl(conn: Connection, statement: str) -> None:
    """A statement as the catalog spells it, sent with no parameters: neither its casts (::text) nor a
    percent sign in a predicate are read as placeholders."""
    conn.exec_driver_sql(statement, execution_options={"no_parameters": True})
