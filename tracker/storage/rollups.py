"""Small tables the board reads instead of scanning every parcel (docs/architecture.md, "Storage"), kept
up to date by the statements that change what they summarise, set-based, one statement per batch.

- filter_choice: every courier, shop and province a parcel was imported with, written by
  repo.upsert_parcels (INSERT ... ON CONFLICT DO NOTHING of the batch's distinct values). A value stays
  when the parcels that had it change (rebuild() drops it).

- flag.last_update: the flag's parcel's last update (its last event, else its shipping or creation time),
  so that the ageing histogram and the queue's age filters read the flags' own index, never a parcel per
  flag. Set as the rules open a flag (flags.evaluate), refreshed for the batch's parcels after an ingest
  batch changes their snapshots (last_event_at) and after an import updates known parcels (shipped_at).
  The flag's state (open, acknowledged, resolved: flags.lifecycle) does not change it.

- scorecard_day: the courier scorecards per shipping day, recomputed from the rows for the days whose
  hours the triggers marked (tracker/storage/scorecard_days.py).

- rule_mark: the parcels whose rule inputs changed since the rules last read them (tracker/flags/marks.py).
  PostgreSQL: triggers (migration 0022). SQLite: triggers on facts and return buyers; the parcel table's
  writers, the ingest and the import, mark the parcels they change (mark_parcels): a trigger there cost them
  about 7 us a row. `rebuild` drops the rules' state (their last
  evaluation, the text hits' fingerprint), so that the next evaluation reads every parcel again.

`rebuild` recomputes them from the rows they summarise: migration 0015 does it for an existing database,
`tracker db rebuild-rollups` after rows were written around the tracker (a restore, a bench's raw import);
the scorecards' days are dropped with their zone, so that the next read builds them all again."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, literal, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from tracker.storage.tables import CHOICE, FLAG, PARCEL, ROLLUP_STATE, RULE_MARK, SCORECARD_DAY, SCORECARD_DIRTY

CHOICE_FIELDS = ("courier", "shop", "province")


def note_choice_values(conn: Connection, values: Iterable[tuple[str, str]]) -> None:
    """Record these (CHOICE_FIELDS name, value) pairs as filter choices."""
    if values := sorted(values):
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(CHOICE).on_conflict_do_nothing()
        conn.execute(stmt, [{"field": name, "value": value} for name, value in values])


def choices(engine: Engine, name: str, *, limit: int = 500) -> list[str]:
    """The values the filter `name` (a CHOICE_FIELDS name) offers, in order, at most `limit`."""
    query = select(CHOICE.c.value).where(CHOICE.c.field == name).order_by(CHOICE.c.value).limit(limit)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def parcel_last_update(parcel: Any = PARCEL) -> ColumnElement:
    """The time a parcel last changed: its last carrier event, else its shipping or creation time (never NULL)."""
    return func.coalesce(parcel.c.last_event_at, parcel.c.shipped_at, parcel.c.created_at)


def last_update_of(parcel_id: Any) -> Any:
    """parcel_last_update of the parcel `parcel_id` (a column) names, as a scalar subquery."""
    return select(parcel_last_update()).where(PARCEL.c.id == parcel_id).scalar_subquery()


def _refresh(ids: Any) -> Any:
    new = last_update_of(FLAG.c.parcel_id)
    changed = FLAG.c.last_update.is_distinct_from(new)
    return update(FLAG).where(FLAG.c.parcel_id.in_(ids), changed).values(last_update=new)


_REFRESH_IDS = _refresh(bindparam("ids", expanding=True))  # built once: every ingest batch runs it


def json_ids(name: str) -> Select:
    """SQLite: the ids a JSON array parameter `name` holds, as a SELECT to test IN against (one bound value, where
    an expanding IN of 500 ids was compiled again for every ingest batch)."""
    return select(literal_column("value")).select_from(func.json_each(bindparam(name)))


_REFRESH_SQLITE = _refresh(json_ids("ids_json"))  # built once: its compiled form is cached


def refresh_last_update(conn: Connection, parcel_ids: Iterable[int] | Select) -> None:
    """Copy the parcels' last update to their flags (the ids, or a SELECT of them); only flags whose copy
    differs are written."""
    if isinstance(parcel_ids, Select):
        conn.execute(_refresh(parcel_ids))
        return
    ids = list(parcel_ids)
    if ids and conn.dialect.name == "sqlite":  # the ids as one JSON array: every ingest batch runs it
        conn.execute(_REFRESH_SQLITE, {"ids_json": json.dumps(ids)})
    elif ids:
        conn.execute(_REFRESH_IDS, {"ids": ids})


def rebuild(conn: Connection) -> None:
    """Recompute every rollup from the rows it summarises (in the caller's transaction)."""
    new = last_update_of(FLAG.c.parcel_id)
    conn.execute(update(FLAG).where(FLAG.c.last_update.is_distinct_from(new)).values(last_update=new))
    conn.execute(delete(CHOICE))
    for name in CHOICE_FIELDS:
        column = PARCEL.c[name]
        found = select(literal(name), column).where(column.is_not(None), column != "").distinct()
        conn.execute(CHOICE.insert().from_select(["field", "value"], found))
    for table in (SCORECARD_DAY, SCORECARD_DIRTY, ROLLUP_STATE):  # no zone: the next read rebuilds every day
        conn.execute(delete(table))


_MARK_SQLITE = "INSERT OR IGNORE INTO rule_mark (parcel_id) SELECT value FROM json_each(?)"


def mark_parcels(conn: Connection, parcel_ids: Sequence[int] | Select) -> None:
    """SQLite: mark these parcels (ids, or a SELECT of them), whose rule inputs the caller changed, for the next
    evaluation. PostgreSQL: its triggers do."""
    if conn.dialect.name != "sqlite":
        return
    if isinstance(parcel_ids, Select):
        # OR IGNORE, not ON CONFLICT: SQLite cannot parse an upsert after a SELECT without a WHERE
        conn.execute(RULE_MARK.insert().prefix_with("OR IGNORE").from_select(["parcel_id"], parcel_ids))
    elif parcel_ids:  # one statement per batch: the ids as one JSON array
        conn.exec_driver_sql(_MARK_SQLITE, (json.dumps(list(parcel_ids)),))


def mark_flag_changed(conn: Connection, parcel_id: int) -> None:
    """Both databases: mark the parcel whose flag a person changed (resolved: the rules compare a person's
    resolution with what they raise now), a write no trigger sees."""
    if conn.dialect.name == "sqlite":
        mark_parcels(conn, [parcel_id])
    else:  # as the triggers mark (migration 0022): the mark's row locked until this commit
        stmt = postgresql.insert(RULE_MARK).values(parcel_id=parcel_id)
        conn.execute(stmt.on_conflict_do_update(index_elements=["parcel_id"], set_={"parcel_id": parcel_id}))


def read_state(conn: Connection, *names: str) -> dict[str, str]:
    """The values rollup_state holds under these names (the names it has no value for left out)."""
    rows = select(ROLLUP_STATE.c.name, ROLLUP_STATE.c.value).where(ROLLUP_STATE.c.name.in_(names))
    return {row.name: row.value for row in conn.execute(rows)}


def keep_state(conn: Connection, values: dict[str, str]) -> None:
    """Keep these values in rollup_state (each name's value replaced)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for name, value in values.items():
        stmt = insert(ROLLUP_STATE).values(name=name, value=value)
        conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"value": value}))


def rebuild_all(engine: Engine) -> None:
    """rebuild() in a transaction of its own."""
    with engine.begin() as conn:
        rebuild(conn)
