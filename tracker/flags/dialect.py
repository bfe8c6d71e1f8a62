"""What an evaluation does differently on SQLite and on PostgreSQL: the transaction it takes, the session
settings and the connection tuning. Tuning sizes, not thresholds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection

from tracker.flags.candidates import text_regex
from tracker.flags.rulesql import Context
from tracker.flags.sqlfuncs import register_text_match
from tracker.storage.db import driver_connection, lock_for_writing, sqlite_settings

# PostgreSQL session setting under which the flag.parcel_id trigger does not look the parcel up
PARCELS_CHECKED = "tracker.flag_parcels_checked"

EVALUATION_LOCK = 7_410_002  # pg_advisory_xact_lock key: one evaluation at a time (see db.MIGRATION_LOCK)

# SQLite settings of the evaluating connection, restored afterwards: temporary tables in memory, the
# database file memory-mapped (the rules look parcels up by rowid: a read() per page costs more than
# the lookup), a larger page cache. Tuning sizes, not thresholds.
SQLITE_TUNING = {"temp_store": "2", "mmap_size": str(1 << 31), "cache_size": str(-64 * 1024)}


@contextmanager
def sqlite_tuned(conn: Connection) -> Iterator[None]:
    """SQLITE_TUNING on the connection, and no foreign-key checks, for one evaluation (nothing on
    PostgreSQL). The checks are redundant here: every parcel_id written comes from a parcel read in
    the same transaction, which holds the write lock from its start (BEGIN IMMEDIATE), so the parcel
    still exists. They cost a parcel lookup per opened flag. PRAGMA foreign_keys only takes effect
    outside a transaction: called before BEGIN."""
    pragmas = dict(SQLITE_TUNING)
    if conn.dialect.name == "sqlite" and not driver_connection(conn).in_transaction:
        pragmas["foreign_keys"] = "0"
    with sqlite_settings(conn, pragmas):
        yield


def begin(conn: Connection) -> None:
    """The start of an evaluation's transaction: one evaluation writes at a time on either database."""
    # SQLite: the write lock first (waiting up to the busy timeout for a poller's commit): a deferred
    # transaction that read before another connection's commit is refused its first write
    lock_for_writing(conn)
    if conn.dialect.name == "postgresql":
        # the temp tables have no statistics: cost estimates run high enough to JIT-compile
        # statements that touch no row (0.2-0.3 s each, measured); plain execution is faster here
        conn.execute(text("SET LOCAL jit = off"))
        # evaluations take turns (the poll cycle's, a worker's, the CLI's): each one's diff sees the
        # flags the one before opened, so its INSERT needs no conflict check (ON CONFLICT DO NOTHING
        # cost 0.25 s per 100,000 flags). SQLite: the evaluation holds the one write lock (above).
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVALUATION_LOCK})
        # no parcel lookup per opened flag (migration 0008's trigger; 0.14 s per 100,000 flags): every
        # parcel_id written comes from a parcel read in this transaction, and the tracker deletes no
        # parcel (a trigger refuses deleting one that has flags). SQLite: sqlite_tuned.
        conn.execute(text(f"SET LOCAL {PARCELS_CHECKED} = on"))


def register_patterns(conn: Connection, ctx: Context) -> None:
    """SQLite: the status rules' text patterns, and each one's negations, as text_match functions (PostgreSQL
    matches natively)."""
    if conn.dialect.name != "sqlite":
        return
    for pattern in (text_regex(ctx), *ctx.config.text_negations.values()):
        if pattern:
            register_text_match(driver_connection(conn), pattern)
