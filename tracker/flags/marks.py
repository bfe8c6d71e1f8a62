"""What an evaluation of every parcel has to read again: the parcels marked since the last one, and the ones
whose time thresholds it crossed since (issue 18: the steady evaluation, what the poller pays per cycle).

Every rule's answer for a parcel depends on the parcel's row, its facts, its order's other parcels, its
return waybill's buyers, the configuration and `now`. The first four are marked when written (rule_mark,
migration 0022): on PostgreSQL by triggers on parcel, parcel_fact and return_buyer, whoever writes; on
SQLite by triggers on facts, return buyers and deletes, and by the parcel table's writers, the ingest and
the import (tracker.storage.rollups.mark_parcels): a trigger on its inserts or updates cost them about 7 us
a row. A person's change of a flag's state marks its parcel too (the diff compares it with what the rules
raise). New parcels are the ones above the highest id the last evaluation saw (SQLite's one writer numbers
rows in commit order, and a deleted parcel's id is marked). The configuration and the rules' code are a
fingerprint kept with the last evaluation's `now` and highest parcel id in rollup_state. `now` is covered
by each rule's crossing form (tracker/flags/queries.py, `crossing_form`): the parcels whose thresholds fell
between the last evaluation's `now` and this one's.

So an evaluation with the same fingerprint, a `now` not before the last one's and not too many marks or new
parcels (FULL_MARKS) reads only `marked + added + crossed` (a "delta"); any other reads every parcel (a
"full" evaluation: the first one, after a change of configuration or code, `tracker db rebuild-rollups`, or
with `--full`). Both leave the flag table as a full evaluation would (tests/rules/test_rules_delta.py checks
it step by step).

The marks are taken in the evaluation's transaction, which holds the write lock (SQLite) or the evaluation
lock (PostgreSQL): a failed evaluation leaves them. On PostgreSQL a writer that commits while an evaluation
runs keeps its mark for the next one (a new mark is not seen by the DELETE; an existing one is locked by the
writer's trigger until its commit, and the DELETE waits for it, then the rules read what it wrote)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import Select, delete, func, insert, select, text
from sqlalchemy.engine import Connection

from tracker.flags.temp import MARKED
from tracker.settings import RulesConfig
from tracker.storage import rollups
from tracker.storage.tables import PARCEL, RULE_MARK

EVALUATED_KEY = "rules_evaluated_at"
FINGERPRINT_KEY = "rules_fingerprint"
LAST_PARCEL_KEY = "rules_last_parcel"
# Above this many marks reading every parcel is cheaper than reading the marked ones one by one (a poll cycle
# marks the parcels whose tracking moved; a first ingest of a big import marks them all): the rules, and the
# text scan (tracker/flags/text_hits.py). A tuning size, not a threshold.
FULL_MARKS = 100_000
_PACKAGES = ("flags", "rules")  # the code the flags follow from, with _MODULES
_MODULES = ("status.py", "storage/rows.py", "storage/rollups.py")


def _bounded_count(rows: Select) -> Select:
    """The count of `rows`, counting up to FULL_MARKS + 1."""
    return select(func.count()).select_from(rows.limit(FULL_MARKS + 1).subquery())


def read_state(conn: Connection) -> dict[str, str]:
    """What the last evaluation of every parcel kept (record_evaluation)."""
    return rollups.read_state(conn, EVALUATED_KEY, FINGERPRINT_KEY, LAST_PARCEL_KEY)


def take_marks(conn: Connection, state: dict[str, str]) -> int | None:
    """Move the marks, and the parcels added since the last evaluation of every parcel (`state`), into MARKED
    (this evaluation's), clearing the marks; how many, or None when every parcel has to be read: more than
    FULL_MARKS (the marks are only cleared), or no last evaluation on record."""
    pg = conn.dialect.name == "postgresql"
    if conn.execute(_bounded_count(select(RULE_MARK.c.parcel_id))).scalar_one() > FULL_MARKS:
        # SQLite: a DELETE without WHERE empties the table at once. PostgreSQL: a DELETE, not a TRUNCATE, whose
        # lock would stop every writer's mark until this evaluation commits; a mark written meanwhile stays
        conn.execute(delete(RULE_MARK))
        return None
    if pg:  # taken and cleared in one statement: a mark written meanwhile stays
        conn.execute(
            text(
                f"WITH taken AS (DELETE FROM {RULE_MARK.name} RETURNING parcel_id) "  # noqa: S608
                f"INSERT INTO {MARKED.name} (parcel_id) SELECT parcel_id FROM taken"
            )
        )
    else:  # the write lock is held: nothing is marked between these two statements
        conn.execute(insert(MARKED).from_select(["parcel_id"], select(RULE_MARK.c.parcel_id)))
        conn.execute(delete(RULE_MARK))
    last_parcel = state.get(LAST_PARCEL_KEY)
    if last_parcel is None:
        return None
    added = select(PARCEL.c.id).where(PARCEL.c.id > int(last_parcel))
    if conn.execute(_bounded_count(added)).scalar_one() > FULL_MARKS:
        return None
    conn.execute(insert(MARKED).from_select(["parcel_id"], added.where(PARCEL.c.id.not_in(select(MARKED.c.parcel_id)))))
    marked = int(conn.execute(select(func.count()).select_from(MARKED)).scalar_one())
    return None if marked > FULL_MARKS else marked


@cache
def _code_fingerprint() -> str:
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha1()  # noqa: S324  (a fingerprint, not a secret)
    for path in sorted([*(root / m for m in _MODULES), *(p for name in _PACKAGES for p in (root / name).glob("*.py"))]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(config: RulesConfig) -> str:
    """The rules' configuration and code, as one value: a change of either makes the next evaluation full."""
    digest = hashlib.sha1(_code_fingerprint().encode())  # noqa: S324
    digest.update(config.model_dump_json().encode())
    return digest.hexdigest()


def last_evaluation(state: dict[str, str], wanted: str) -> datetime | None:
    """The `now` of the last evaluation of every parcel (`state`), if it ran under the fingerprint `wanted`."""
    if state.get(FINGERPRINT_KEY) != wanted or EVALUATED_KEY not in state:
        return None
    at = datetime.fromisoformat(state[EVALUATED_KEY])
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def record_evaluation(conn: Connection, now: datetime, wanted: str) -> None:
    """Keep this evaluation's `now`, the highest parcel id and the fingerprint for the next one."""
    at = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    last_parcel = conn.execute(select(func.coalesce(func.max(PARCEL.c.id), 0))).scalar_one()
    rollups.keep_state(conn, {EVALUATED_KEY: at, FINGERPRINT_KEY: wanted, LAST_PARCEL_KEY: str(last_parcel)})
