"""The status rules' text scan, kept between evaluations instead of read again each time (issue 18).

Whether a parcel's courier text raises a status rule depends only on the parcel's status, text and open
state and on the configured patterns. So an evaluation keeps the parcels whose text matched
(rule_text_hit) and the fingerprint of the patterns it matched (rollup_state 'rule_text_patterns'), and
the next one reads again only the parcels marked since (rule_mark, taken by the evaluation:
tracker/flags/marks.py).

- Same patterns: the marked parcels' hits are dropped and matched again, one match per parcel.
- Other patterns, none stored yet, or more than marks.FULL_MARKS marked: every open parcel's text is read
  again, once per distinct text (PostgreSQL: tracker.flags.candidates.text_hits_all; SQLite: the distinct
  texts matched here, in Python, candidates.open_text_pairs).

In the evaluation's transaction: a failed evaluation leaves marks and hits as they were."""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, insert, select, text
from sqlalchemy.engine import Connection

from tracker.flags.candidates import (
    not_raised_by_text,
    open_parcels_with_text,
    open_text_pairs,
    text_hits_all,
    text_hits_of,
    text_regex,
)
from tracker.flags.rulesql import Context
from tracker.flags.sqlfuncs import text_matcher
from tracker.flags.temp import MARKED
from tracker.storage import rollups
from tracker.storage.db import driver_connection
from tracker.storage.rows import OPEN_TEXT_INDEX_BYTES
from tracker.storage.tables import TEXT_HIT

PATTERNS_KEY = "rule_text_patterns"


def fingerprint(pattern: str) -> str:
    return hashlib.sha1(pattern.encode("utf-8")).hexdigest()


def refresh_text_hits(conn: Connection, ctx: Context, *, marked: int | None) -> str:
    """Bring rule_text_hit up to date with the parcels and the patterns, the marks taken (MARKED, `marked`
    of them; None: too many to read one by one, marks.take_marks); "full" or "marked" (what was read)."""
    pattern = text_regex(ctx)
    wanted = fingerprint(pattern)
    stored = rollups.read_state(conn, PATTERNS_KEY).get(PATTERNS_KEY)
    pg = conn.dialect.name == "postgresql"
    if stored == wanted and marked is not None:
        if marked:
            conn.execute(delete(TEXT_HIT).where(TEXT_HIT.c.parcel_id.in_(select(MARKED.c.parcel_id))))
            if pattern:
                conn.execute(insert(TEXT_HIT).from_select(["parcel_id"], text_hits_of(ctx, MARKED)))
        return "marked"
    # everything again: the marks say nothing more (SQLite: a DELETE without WHERE empties the table at once)
    conn.execute(text(f"TRUNCATE {TEXT_HIT.name}") if pg else delete(TEXT_HIT))
    if pattern and pg:
        for stmt in text_hits_all(ctx, indexed_text_bytes=OPEN_TEXT_INDEX_BYTES):
            conn.execute(insert(TEXT_HIT).from_select(["parcel_id"], stmt))
    elif pattern:
        _sqlite_hits_by_text(conn, pattern)
    if pg:  # its size, for the plan that reads it: a parcel by key per hit, not a scan of every parcel
        conn.execute(text(f"ANALYZE {TEXT_HIT.name}"))
    rollups.keep_state(conn, {PATTERNS_KEY: wanted})
    return "full"


def _sqlite_hits_by_text(conn: Connection, pattern: str) -> None:
    """SQLite: every open parcel's text matched once per distinct (status, text), in Python by the SQL match
    function's own matcher (sqlfuncs.text_matcher), and the parcels of each matching pair kept. Read through
    the driver: as SQLAlchemy rows, the pairs of a large table cost more than their match."""
    matches = text_matcher(pattern)
    excluded = frozenset(not_raised_by_text())
    raw = driver_connection(conn)
    scan = str(open_text_pairs().compile(dialect=conn.dialect))  # no parameters: its terms are literals
    matching = [(status, said) for status, said in raw.execute(scan) if status not in excluded and matches(said)]
    if matching:
        keep = insert(TEXT_HIT).from_select(["parcel_id"], open_parcels_with_text())
        conn.execute(keep, [{"status": status, "text": said} for status, said in matching])
