"""The status rules' text scan, kept between evaluations instead of read again each time (issue 18).

Whether a parcel's courier text raises a status rule depends only on the parcel's status, text and open
state and on the configured patterns. So an evaluation keeps the parcels whose text matched
(rule_text_hit) and the fingerprint of the patterns it matched (rollup_state 'rule_text_patterns'), and
the next one reads again only the parcels marked since (rule_text_dirty). PostgreSQL: triggers on parcel
mark them, whoever writes (migration 0017). SQLite: the ingest, the one writer of those columns, marks
the parcels it changed (tracker.storage.rollups.mark_text_changed); after rows written around the tracker,
`tracker db rebuild-rollups` drops the fingerprint.

- Same patterns: the marked parcels' hits are dropped and matched again, one match per parcel.
- Other patterns, none stored yet, or more than FULL_SCAN_MARKS marked: every open parcel's text is read
  again (tracker.flags.candidates.text_hits_all, once per distinct text), and the marks are cleared.

In the evaluation's transaction, which holds the write lock (SQLite) or the evaluation lock (PostgreSQL):
a failed evaluation leaves marks and hits as they were. On PostgreSQL a writer that commits while an
evaluation runs keeps its mark for the next one (a new mark is not seen by the DELETE; an existing one is
locked by the writer's trigger until its commit, and the DELETE waits for it, then reads the new text)."""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tracker.flags.candidates import text_hits_all, text_hits_of, text_regex
from tracker.flags.rulesql import Context
from tracker.flags.temp import MARKED
from tracker.storage.tables import ROLLUP_STATE, TEXT_DIRTY, TEXT_HIT

PATTERNS_KEY = "rule_text_patterns"
# Above this many marked parcels one distinct-text scan of all is cheaper than a match per marked parcel
# (a poll cycle marks the parcels whose tracking moved; a first ingest of a big import marks them all).
# A tuning size, not a threshold.
FULL_SCAN_MARKS = 100_000


def fingerprint(pattern: str) -> str:
    return hashlib.sha1(pattern.encode("utf-8")).hexdigest()


def refresh_text_hits(conn: Connection, ctx: Context, *, indexed_text_bytes: int | None = None) -> str:
    """Bring rule_text_hit up to date with the parcels and the patterns; "full" or "marked" (what was read)."""
    pattern = text_regex(ctx)
    wanted = fingerprint(pattern)
    stored = conn.execute(select(ROLLUP_STATE.c.value).where(ROLLUP_STATE.c.name == PATTERNS_KEY)).scalar()
    pg = conn.dialect.name == "postgresql"
    marked = conn.execute(select(func.count()).select_from(TEXT_DIRTY)).scalar_one()
    if stored == wanted and marked <= FULL_SCAN_MARKS:
        if marked:
            if pg:  # taken and cleared in one statement: a mark written meanwhile stays (module docstring)
                conn.execute(
                    text(
                        f"WITH taken AS (DELETE FROM {TEXT_DIRTY.name} RETURNING parcel_id) "  # noqa: S608
                        f"INSERT INTO {MARKED.name} (parcel_id) SELECT parcel_id FROM taken"
                    )
                )
            else:  # the write lock is held: nothing is marked between these two statements
                conn.execute(insert(MARKED).from_select(["parcel_id"], select(TEXT_DIRTY.c.parcel_id)))
                conn.execute(delete(TEXT_DIRTY))
            conn.execute(delete(TEXT_HIT).where(TEXT_HIT.c.parcel_id.in_(select(MARKED.c.parcel_id))))
            if pattern:
                conn.execute(insert(TEXT_HIT).from_select(["parcel_id"], text_hits_of(ctx, MARKED)))
        return "marked"
    # everything again: the marks say nothing more (SQLite: a DELETE without WHERE empties the table at once)
    for table in (TEXT_HIT, TEXT_DIRTY):
        conn.execute(text(f"TRUNCATE {table.name}") if pg else delete(table))
    if pattern:
        for stmt in text_hits_all(ctx, indexed_text_bytes=indexed_text_bytes):
            conn.execute(insert(TEXT_HIT).from_select(["parcel_id"], stmt))
    if pg:  # its size, for the plan that reads it: a parcel by key per hit, not a scan of every parcel
        conn.execute(text(f"ANALYZE {TEXT_HIT.name}"))
    upsert = (postgresql.insert if pg else sqlite.insert)(ROLLUP_STATE).values(name=PATTERNS_KEY, value=wanted)
    conn.execute(upsert.on_conflict_do_update(index_elements=["name"], set_={"value": wanted}))
    return "full"
