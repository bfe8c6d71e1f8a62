"""The temporary tables one evaluation works in (tracker/flags/evaluate.py): the parcels in scope, the
status-rule candidates, the desired flags, the changes, and the audit lines' details.
Created empty at the start of an evaluation and dropped at its end, on its own connection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable, SchemaItem

from tracker.storage.tables import FLAG, PARCEL

_tmp = MetaData()


def _temp(name: str, *columns: SchemaItem, **kw: Any) -> Table:
    return Table(name, _tmp, *columns, prefixes=["TEMPORARY"], **kw)


SCOPE = _temp("_rule_scope", Column("parcel_id", BigInteger, primary_key=True))

# the parcels marked since the last evaluation read their text (tracker/flags/text_hits.py)
MARKED = _temp("_rule_marked", Column("parcel_id", BigInteger, primary_key=True))

CAND = _temp(
    "_rule_cand",
    Column("id", BigInteger, primary_key=True),
    Column("courier", String(32)),
    Column("status", String(32)),
    Column("status_text", String),
    Column("is_open", Boolean),
    Column("last_event_at", PARCEL.c.last_event_at.type),
    Column("shipped_at", PARCEL.c.shipped_at.type),
    Column("created_at", PARCEL.c.created_at.type),
    Column("direction", String(10)),  # a buyer's return names its own next action (tracker.rules.status_rule)
)

# one row per parcel and kind: SQLite keeps it as one B-tree in (parcel_id, kind) order; PostgreSQL fills
# a heap (an index insert per row cost 0.05 s per 100,000 rows) and indexes it (DESIRED_KEY) only when
# flags reopen or escalate: their next actions are looked up in it. A rule that raised the same flag
# twice is refused either way: by the key, or by flag's unique (parcel_id, kind) when the flag opens,
# or by the update of a flag from two CHANGE rows (a scalar subquery returning two rows).
DESIRED = _temp(
    "_rule_desired",
    Column("parcel_id", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("severity", String(10)),
    Column("level", Integer),
    Column("anchor", BigInteger),
    Column("value", Integer),
    Column("since", BigInteger),
    Column("action", String(64)),
    Column("courier", String(32)),
    Column("last_update", FLAG.c.last_update.type),
    Column("shipped_at", PARCEL.c.shipped_at.type),
    PrimaryKeyConstraint("parcel_id", "kind").ddl_if(dialect="sqlite"),
    sqlite_with_rowid=False,
)

DESIRED_KEY = Index("ix__rule_desired_key", DESIRED.c.parcel_id, DESIRED.c.kind, unique=True)

# no key: filled in bulk by diff, indexed afterwards when flags reopen, escalate or resolve (CHANGE_INDEXES)
CHANGE = _temp(
    "_rule_change",
    Column("flag_id", BigInteger),
    Column("parcel_id", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("action", String(16)),
    Column("severity", String(10)),
    Column("level", Integer),
    Column("anchor", BigInteger),
    Column("courier", String(32)),
    # the next action's template and number (the flags it opens or changes are written from here)
    Column("action_key", String(64)),
    Column("value", Integer),
    Column("since", BigInteger),
    # what an opened flag copies from its parcel, as the rule read it (rulesql.COLUMNS)
    Column("last_update", FLAG.c.last_update.type),
    Column("shipped_at", PARCEL.c.shipped_at.type),
)

# the reopen, escalate and resolve updates look their row up by flag id (SQLite: opened flags have none)
CHANGE_INDEXES = (
    Index(
        "ix__rule_change_flag_id",
        CHANGE.c.flag_id,
        sqlite_where=CHANGE.c.flag_id.is_not(None),
        postgresql_where=CHANGE.c.flag_id.is_not(None),
    ),
)

# PostgreSQL: the statements that match CHANGE rows to flags by (parcel_id, kind) (the fact details
# update) get an index on either side whatever the planner thinks of the sizes (a flag table it believed
# empty once made CHANGE the inner side, seq-scanned per flag, for minutes in the bench). SQLite does not
# guess sizes that way: no index to build there.
CHANGE_KEY = Index("ix__rule_change_key", CHANGE.c.parcel_id, CHANGE.c.kind, unique=True)

# PostgreSQL: an audit line's detail per (kind, severity, level), built once, copied to each line (building
# and parsing the JSON per line cost 0.1 s per 100,000 lines)
DETAIL = _temp(
    "_rule_detail",
    Column("kind", String(32), primary_key=True),
    Column("severity", String(10), primary_key=True),
    Column("level", Integer, primary_key=True),
    Column("detail", JSON),
)

TEMP_TABLES = (SCOPE, MARKED, CAND, DESIRED, CHANGE, DETAIL)


def create_temp(conn: Connection) -> None:
    drop_temp(conn)
    for table in TEMP_TABLES:
        conn.execute(CreateTable(table))  # without the indexes: CHANGE's come after its bulk fill


def drop_temp(conn: Connection) -> None:
    for table in TEMP_TABLES:
        conn.execute(text(f"DROP TABLE IF EXISTS {table.name}"))


def index_changes(conn: Connection) -> None:
    """The indexes the reopen, escalate and resolve updates look flags up by (after CHANGE's bulk fill)."""
    pg_only = [CHANGE_KEY, DESIRED_KEY] if conn.dialect.name == "postgresql" else []
    for index in (*CHANGE_INDEXES, *pg_only):
        index.create(conn)
