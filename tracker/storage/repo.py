"""Keyword-only functions between the domain and the rows: set-based Core statements on hot paths
(docs/architecture.md, "Storage": the ORM's per-row add/merge is far slower; bench/ingest.py)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    DateTime,
    Engine,
    Numeric,
    Select,
    String,
    Table,
    and_,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from tracker.domain import AWAITING_COURIER, AWAITING_PREFIX, ParcelFacts, awaiting_waybill
from tracker.status import Direction
from tracker.storage import rollups, scorecard_days
from tracker.storage.db import lock_for_writing, sqlite_settings, write_transaction
from tracker.storage.rows import AWAITING_INDEX, AWAITING_OPEN
from tracker.storage.tables import AUDIT, CLAIM, FLAG, PARCEL, RETURN_BUYER
from tracker.storage.types import UTCDateTime


class Stored(NamedTuple):
    """What storing parcels did: new parcels, known ones it changed, and known ones it left as they were; and
    the waybills now stored under more than one courier (`same_waybill`: each with its couriers' slugs)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    same_waybill: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def plus(self, other: Stored) -> Stored:
        return Stored(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.same_waybill + other.same_waybill,
        )


# Columns an import may set; tracking-snapshot columns are never touched by an import.
FACT_FIELDS = ParcelFacts._fields
IMPORT_COLUMNS = tuple(f for f in FACT_FIELDS if f not in ("courier", "waybill"))


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def asked_phone() -> Any:
    """The phone's last 4 digits a provider is asked with (the couriers that need one: config/couriers.toml
    needs_phone): the parcel's own, or for a buyer's return without one, its order's outbound parcel's. The
    buyer sent the return, and Kuaidi100 and Kdniao take the sender's phone as well as the recipient's
    (docs/providers.md); the returns export has no phone column, the order export has. Read when asked, so an
    order export imported after the returns gives them their phone."""
    outbound = PARCEL.alias("outbound")
    of_order = (
        select(outbound.c.phone_last4)
        .where(
            outbound.c.order_id == PARCEL.c.order_id,
            outbound.c.shop.is_not_distinct_from(PARCEL.c.shop),  # order numbers repeat across platforms
            outbound.c.direction != str(Direction.ret),
            outbound.c.phone_last4.is_not(None),
        )
        .order_by(outbound.c.id)
        .limit(1)
        .scalar_subquery()
    )
    borrowed = and_(
        PARCEL.c.phone_last4.is_(None),
        PARCEL.c.direction == str(Direction.ret),
        func.coalesce(PARCEL.c.order_id, "") != "",
    )
    return case((borrowed, of_order), else_=PARCEL.c.phone_last4).label("phone_last4")


def upsert_parcels(
    engine: Engine,
    parcels: Sequence[ParcelFacts],
    *,
    now: datetime,
    return_buyers: Mapping[tuple[str, str], Mapping[str, str | None]] | None = None,
) -> Stored:
    """Insert new parcels and update known ones (by courier + waybill) in one transaction; each parcel once.

    A value the file leaves empty keeps what is stored. Each return parcel's buyer is recorded in
    return_buyer, with `return_buyers` (courier, waybill) -> {buyer id: order id}: the other buyers that
    rows merged into the parcel named."""
    rows = parcel_rows(engine.dialect.name, parcels, now)
    return store_parcel_rows(engine, rows, now=now, return_buyers=return_buyers)


def parcel_rows(dialect: str, parcels: Iterable[ParcelFacts], now: datetime) -> list[list[Any]]:
    """The parcels as `dialect` ("sqlite", "postgresql") stores them, each a list of plain values in
    _UPSERT_KEYS order: what store_parcel_rows writes, and what an import's writer process is sent (a list of
    strings, numbers and times pickles at a fraction of the cost of the parcels themselves)."""
    return _sqlite_rows(parcels, now) if dialect == "sqlite" else _plain_rows(parcels, now)


def store_parcel_rows(
    engine: Engine,
    rows: Sequence[Sequence[Any]],
    *,
    now: datetime,
    return_buyers: Mapping[tuple[str, str], Mapping[str, str | None]] | None = None,
    resent: Collection[tuple[str, str]] = (),
    shipped_by: Collection[tuple[str, str]] = (),
) -> Stored:
    """upsert_parcels of rows parcel_rows made for this engine's database, in a transaction of their own."""
    if not rows:
        return Stored()
    with engine.connect() as conn, sqlite_settings(conn, IMPORT_TUNING), conn.begin():
        return store_rows_in(conn, rows, now=now, return_buyers=return_buyers, resent=resent, shipped_by=shipped_by)


def store_rows_in(
    conn: Connection,
    rows: Sequence[Sequence[Any]],
    *,
    now: datetime,
    return_buyers: Mapping[tuple[str, str], Mapping[str, str | None]] | None = None,
    resent: Collection[tuple[str, str]] = (),
    shipped_by: Collection[tuple[str, str]] = (),
) -> Stored:
    """store_parcel_rows in the caller's transaction (an import's writer process groups several batches in
    one, with IMPORT_TUNING set on the connection). A known parcel counts as updated when the upsert wrote it,
    which it does only when a value changes (_upsert_statement).

    `resent`: the keys of parcels this import stored in an earlier batch and sends again, merged with a later
    row (a shipment merged from rows in different batches). The earlier batch counted each of them once, so
    here one counts only when the earlier row left it unchanged and this one changes it: updated, no longer
    unchanged.

    `shipped_by`: the keys of rows whose shipping time is the import's own (their export says the order shipped,
    not when: importer.RowParser's `shipped`): a parcel stored with a shipping time keeps it."""
    if not rows:
        return Stored()
    lock_for_writing(conn)  # SQLite: what the batch reads (shipped and waiting orders, stored keys) stays so
    rows = _without_shipped_orders(conn, rows)
    _adopt_awaiting(conn, rows, now)  # an order awaiting its parcel becomes the parcel a row brings
    if shipped_by:
        _keep_stored_shipping(conn, rows, set(shipped_by))
    keys = {(row[_COURIER], row[_WAYBILL]) for row in rows}
    if len(keys) < len(rows):  # one statement may not write a parcel twice (PostgreSQL refuses it)
        raise ValueError("rows name a parcel (courier, waybill) twice: merge them first (importer.merge_same_parcel)")
    existing = set(_stored_keys(conn, {waybill for _, waybill in keys}))
    known = select(PARCEL.c.id).where(PARCEL.c.waybill.in_({w for _, w in existing}))
    if existing:  # the scorecards' days the known parcels are in now (a new shipping time moves them)
        scorecard_days.mark_parcels(conn, known)
    moved = _moved_orders(conn, rows, existing)
    again = [row for row in rows if (row[_COURIER], row[_WAYBILL]) in resent] if resent else []
    first = [row for row in rows if (row[_COURIER], row[_WAYBILL]) not in resent] if again else rows
    written = _upsert(conn, first)
    resent_counts = _upsert_again(conn, again, existing, now=now)  # every row written before the marks below
    _mark_for_rules(conn, known, rows, moved)
    _record_return_buyers(conn, rows, return_buyers or {}, now=now)
    # the board's filter choices (shops, provinces, couriers)
    # (each column's values first: a batch's rows repeat their shops and provinces)
    rollups.note_choice_values(conn, {(name, v) for name, i in _CHOICES for v in {row[i] for row in rows} if v})
    if existing:  # a shipping time read now may be a flagged parcel's last update
        rollups.refresh_last_update(conn, known)
    # on SQLite the rows hold the shipping times as stored (on PostgreSQL its triggers mark the hours)
    scorecard_days.mark_hours(conn, (row[_SHIPPED] for row in rows if row[_SHIPPED]))
    # the rows inserted and the rows updated, each parcel once: the known parcels it did not write are unchanged
    known_rows = len(existing.intersection(keys.difference(resent) if again else keys))
    inserted = len(first) - known_rows
    updated = written - inserted
    return Stored(inserted, updated, known_rows - updated, _same_waybill(keys, existing)).plus(resent_counts)


def _orders(row: Sequence[Any]) -> list[str]:
    """The order numbers a row names (merged shipping: "A,B")."""
    return [order.strip() for order in (row[_ORDER] or "").split(",") if order.strip()]


def _without_shipped_orders(conn: Connection, rows: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
    """The rows less those of an order awaiting its parcel (domain.AWAITING_COURIER) whose parcel is stored or
    among the rows already: an older order export imported after the shipment's file would otherwise keep the
    order awaiting again, and 延迟发货 would fire for an order shipped."""

    def first(row: Sequence[Any]) -> str:  # the order a waiting row waits under: its waybill says it
        return str(row[_WAYBILL])[len(AWAITING_PREFIX) :]

    waiting = {first(row) for row in rows if row[_COURIER] == AWAITING_COURIER}
    if not waiting:
        return rows
    shipped = {order for row in rows if row[_COURIER] != AWAITING_COURIER for order in _orders(row)}
    # stored under the order alone, or first of merged orders ("A,B": a range of ix_parcel_order from "A,")
    merged_first = [and_(PARCEL.c.order_id >= f"{o},", PARCEL.c.order_id < f"{o}-") for o in sorted(waiting)]
    stored = select(PARCEL.c.order_id).where(
        or_(PARCEL.c.order_id.in_(sorted(waiting)), *merged_first), PARCEL.c.courier != AWAITING_COURIER
    )
    shipped.update(order for orders in conn.execute(stored).scalars() for order in orders.split(","))
    return [row for row in rows if row[_COURIER] != AWAITING_COURIER or first(row) not in shipped]


def _adopt_awaiting(conn: Connection, rows: Sequence[Sequence[Any]], now: datetime) -> None:
    """Each open order awaiting its parcel (domain.AWAITING_COURIER) that a row with a waybill names becomes that
    parcel: its courier and waybill set on the same row, polled from now, its flags' courier with it (its
    延迟发货 flag then resolves by itself, its history kept); the upsert that follows writes the row's values on
    it. When the parcel is stored already, or another of its orders (merged shipping: "A,B") became it, the
    order's waiting is closed instead. The rules' marks of them all (SQLite; PostgreSQL: triggers)."""
    # most databases hold no order waiting: probed first (any_awaiting), before the batch's orders are read (a
    # tenth of storing an order export's batch) and looked up
    if not any_awaiting(conn):
        return
    named: dict[str, tuple[str, str]] = {}  # an order's waiting key -> the first row's parcel naming the order
    for row in rows:  # an outbound parcel's (a buyer's return parcel names the order too, and is not its shipment)
        if row[_COURIER] != AWAITING_COURIER and row[_DIRECTION] != _RETURN:
            for order in _orders(row):
                named.setdefault(awaiting_waybill(order), (row[_COURIER], row[_WAYBILL]))
    if not named:
        return
    waiting = select(PARCEL.c.id, PARCEL.c.waybill).where(*_WAITING, PARCEL.c.waybill.in_(sorted(named)))
    found = sorted(tuple(row) for row in conn.execute(waiting))
    if not found:
        return
    taken = set(_stored_keys(conn, {named[waybill][1] for _, waybill in found}))
    closed: list[int] = []
    adopted: list[int] = []
    for pid, waybill in found:  # the oldest first: the first order's waiting becomes the parcel
        courier, number = key = named[waybill]
        if key in taken:
            closed.append(pid)
            continue
        taken.add(key)
        values = {"courier": courier, "waybill": number, "next_poll_at": now, "updated_at": now}
        conn.execute(update(PARCEL).where(PARCEL.c.id == pid).values(values))
        for table in (FLAG, CLAIM):  # its flags' and claims' copy (a 发货延迟 claim opened while it waited)
            conn.execute(update(table).where(table.c.parcel_id == pid).values(courier=courier))
        adopted.append(pid)
    if closed:
        _close(conn, PARCEL.c.id.in_(closed), now)
    rollups.mark_parcels(conn, [pid for pid, _ in found])
    scorecard_days.mark_parcels(conn, adopted)  # a shipping day of theirs now (SQLite; PostgreSQL: triggers)


# an order still awaiting its parcel (domain.AWAITING_COURIER), not closed
_WAITING = (PARCEL.c.courier == AWAITING_COURIER, PARCEL.c.is_open.is_(True))


def any_awaiting(conn: Connection) -> bool:
    """Whether an order is awaiting its parcel (not closed): ix_parcel_awaiting probed, which holds those alone
    (the orders closed before they shipped are not read): rows.AWAITING_OPEN, the index's predicate as text."""
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    return conn.execute(_AWAITING_PROBE[dialect]).first() is not None


# SQLite is told the index (SQLAlchemy writes no INDEXED BY): with statistics (ANALYZE) its planner took
# ix_parcel_due, whose statistics it had, over the empty ix_parcel_awaiting, which an empty index never gets, and
# read every open parcel (0.12 s at a million)
_AWAITING_PROBE = {
    "sqlite": text(f"SELECT id FROM parcel INDEXED BY {AWAITING_INDEX} WHERE {AWAITING_OPEN['sqlite']} LIMIT 1"),  # noqa: S608
    "postgresql": text(f"SELECT id FROM parcel WHERE {AWAITING_OPEN['postgresql']} LIMIT 1"),  # noqa: S608
}


def starts_with(column: Any, text: str) -> ColumnElement[bool]:
    """column starts with `text`: a range the column's B-tree index serves (both databases), with the LIKE
    making it exact whatever the collation."""
    upper = text[:-1] + chr(ord(text[-1]) + 1)
    return and_(column >= text, column < upper, column.startswith(text, autoescape=True))


def _keep_stored_shipping(conn: Connection, rows: Sequence[Sequence[Any]], keys: set[tuple[str, str]]) -> None:
    """The rows of `keys` (their shipping time a bound, not a time: the export says shipped, not when) leave a
    stored shipping time as soon or sooner as it is: the first import that saw the order shipped bounds the
    time, a later one would only move it later (and its 发货无揽收 clock, and its scorecard day, with it)."""
    wanted = {(row[_COURIER], row[_WAYBILL]) for row in rows} & keys
    if not wanted:
        return
    stored = select(PARCEL.c.courier, PARCEL.c.waybill, PARCEL.c.shipped_at).where(
        PARCEL.c.waybill.in_(sorted({waybill for _, waybill in wanted})), PARCEL.c.shipped_at.is_not(None)
    )
    times = {(courier, waybill): at for courier, waybill, at in conn.execute(stored) if (courier, waybill) in wanted}
    for row in rows:
        at = times.get((row[_COURIER], row[_WAYBILL]))
        new = row[_SHIPPED]
        if at is not None and new is not None and (from_sqlite_time(new) if isinstance(new, str) else new) >= at:
            row[_SHIPPED] = None  # type: ignore[index]  # the rows are lists (parcel_rows); None keeps the stored


def _close(conn: Connection, which: ColumnElement[bool], now: datetime) -> list[int]:
    """Close the parcels `which` selects (never polled again); their ids."""
    stmt = update(PARCEL).where(which).values(is_open=False, next_poll_at=None, updated_at=now)
    return list(conn.execute(stmt.returning(PARCEL.c.id)).scalars())


IN_CHUNK = 5_000  # values in one IN list of a statement reading by key


def _chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """`values` a slice of `size` at a time (the IN list of one statement)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def close_awaiting(engine: Engine, orders: Iterable[str], *, now: datetime, chunk: int = IN_CHUNK) -> int:
    """Close the open orders awaiting their parcel among `orders` (closed before they shipped: 交易关闭): their
    延迟发货 resolves by itself at the next evaluation. How many were closed."""
    keys = sorted({awaiting_waybill(order) for order in orders})
    closed = 0
    with engine.begin() as conn:
        for part in _chunks(keys, chunk):
            # closed where still waiting, in the statement that finds them: an order another import gave its
            # parcel meanwhile is that parcel now, and stays open
            ids = _close(conn, and_(*_WAITING, PARCEL.c.waybill.in_(part)), now)
            if ids:
                rollups.mark_parcels(conn, ids)
                closed += len(ids)
    return closed


def _same_waybill(
    keys: set[tuple[str, str]], existing: set[tuple[str, str]]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The waybills these rows (`keys`) leave stored under two couriers or more, each with its couriers: one
    stored before under a courier no row gives (`existing`: the stored keys of the rows' waybills), or one two
    rows give under different couriers. Mostly a courier mistyped in one export; the parcel under the wrong
    courier is never scanned (发货无揽收), so the import names them."""
    odd = {key[1] for key in existing if key not in keys}
    waybills = {waybill for _, waybill in keys}
    if len(waybills) < len(keys):  # a waybill under two couriers in these rows
        seen: set[str] = set()
        for _, waybill in keys:
            if waybill in seen:
                odd.add(waybill)
            seen.add(waybill)
    if not odd:
        return ()
    couriers: dict[str, set[str]] = {}
    for courier, waybill in (*existing, *keys):
        if waybill in odd:
            couriers.setdefault(waybill, set()).add(courier)
    return tuple((waybill, tuple(sorted(names))) for waybill, names in sorted(couriers.items()))


def _upsert(conn: Connection, rows: Sequence[Sequence[Any]]) -> int:
    """The rows upserted (_upsert_statement): how many it inserted or changed."""
    if not rows:
        return 0
    written = 0
    for keep, group in _said(rows):
        if conn.dialect.name == "sqlite":
            # the compiled statement once, the rows as plain tuples in its order: SQLAlchemy's per-value bind
            # processing cost more than SQLite's own work (bench/import.py profile)
            sql, in_order = _sqlite_upsert(conn, keep)
            written += int(conn.exec_driver_sql(sql, list(map(in_order, group))).rowcount)
            continue
        stmt = _upsert_statement(conn, keep)
        # PostgreSQL's driver counts no rows for a statement run over many: the rows written are returned instead
        # (an upsert returns the rows it inserted or updated, not those its WHERE left)
        keyed = [dict(zip(_UPSERT_KEYS, row, strict=True)) for row in group]
        for params in keyed if keep else ():  # the statement writes their default itself
            for name in keep:
                del params[name]
        written += len(conn.execute(stmt.returning(PARCEL.c.id), keyed).all())
    return written


def _upsert_again(
    conn: Connection, rows: Sequence[Sequence[Any]], existing: set[tuple[str, str]], *, now: datetime
) -> Stored:
    """The resent rows (store_rows_in) upserted one at a time (they are few), counted as what they change: a
    parcel this import's earlier row left unchanged (its updated_at is not this import's) and this one changes
    moves from unchanged to updated. A key that is not stored at all (SeenKeys' rare shared hash) is new.
    Two approximations, both rare: with the clock held (`--now`), a parcel an earlier import at the same time
    wrote reads as written by this one, and a shared hash with a stored parcel counts it unchanged once more."""
    if not rows:
        return Stored()
    keys = {(row[_COURIER], row[_WAYBILL]) for row in rows}
    written_before = {
        (courier, waybill)
        for courier, waybill in conn.execute(
            select(PARCEL.c.courier, PARCEL.c.waybill).where(
                PARCEL.c.waybill.in_(sorted({w for _, w in keys})), PARCEL.c.updated_at == now
            )
        )
    }
    counts = Stored()
    for row in rows:
        key, wrote = (row[_COURIER], row[_WAYBILL]), _upsert(conn, [row])
        if key not in existing:
            counts = counts.plus(Stored(inserted=1))
        elif wrote and key not in written_before:
            counts = counts.plus(Stored(updated=1, unchanged=-1))
    return counts


def _moved_orders(conn: Connection, rows: Sequence[Sequence[Any]], existing: set[tuple[str, str]]) -> set[str]:
    """SQLite, before the upsert: the order numbers, stored and new, of the known parcels whose order number or
    direction these rows change (their orders' other parcels raise otherwise: a return case's logistics)."""
    if conn.dialect.name != "sqlite" or not existing:
        return set()
    incoming = {(row[_COURIER], row[_WAYBILL]): row for row in rows if (row[_COURIER], row[_WAYBILL]) in existing}
    stored = select(PARCEL.c.courier, PARCEL.c.waybill, PARCEL.c.order_id, PARCEL.c.direction).where(
        PARCEL.c.waybill.in_(sorted({waybill for _, waybill in incoming}))
    )
    moved: set[str] = set()
    for courier, waybill, order, direction in conn.execute(stored):
        row = incoming.get((courier, waybill))
        new_order = row and (row[_ORDER] or order)  # the upsert keeps what the file leaves empty
        # a direction the rows do not say (None) is kept (UNSAID_DEFAULTS): no move
        turned = row is not None and row[_DIRECTION] is not None and row[_DIRECTION] != direction
        if row is not None and (new_order != order or turned):
            moved |= {o for o in (order, new_order) if o}
    return moved


def _mark_for_rules(conn: Connection, known: Select, rows: Sequence[Sequence[Any]], moved: set[str]) -> None:
    """SQLite, after the upsert: the rules' marks of what an import changed (rollups.mark_parcels; PostgreSQL:
    triggers): the known parcels it rewrote (the upsert leaves a parcel whose values it would not change, and
    its updated_at, as they were), the parcels of the orders a new return names or whose parcels moved
    (`moved`). New parcels need none: the evaluation reads the ids added since it last ran
    (tracker/flags/marks.py)."""
    if conn.dialect.name != "sqlite":
        return
    # the rows' own stamps, as stored (text on SQLite)
    stamps = sorted({row[_UPDATED] for row in rows})
    rewritten = type_coerce(PARCEL.c.updated_at, String).in_(stamps)
    rollups.mark_parcels(conn, select(PARCEL.c.id).where(PARCEL.c.id.in_(known), rewritten))
    orders = moved | {row[_ORDER] for row in rows if row[_ORDER] and row[_DIRECTION] == _RETURN}
    if orders:
        rollups.mark_parcels(conn, select(PARCEL.c.id).where(PARCEL.c.order_id.in_(sorted(orders))))


# SQLite's page cache of the connection writing an import: 64 MiB, not the default 2 MiB. A batch of parcels
# goes into the parcel table's thirteen indexes at scattered places, and with the default cache most of those
# pages were read again for every batch: the 100,000-row import is about 15% faster (bench/import.py). Pages
# are cached as they are read, so a small database never fills it; set back once the import's batch is
# written, so the pool's other connections (the board's reads) keep the default.
IMPORT_TUNING = {"cache_size": str(-64 * 1024)}
# one JSON array parameter instead of an IN list of 10,000 parameters compiled for each batch
_STORED_SQLITE = text("SELECT courier, waybill FROM parcel WHERE waybill IN (SELECT value FROM json_each(:waybills))")


def _stored_keys(conn: Connection, waybills: set[str]) -> list[tuple[str, str]]:
    """(courier, waybill) of the stored parcels with one of these waybills."""
    if conn.dialect.name == "sqlite":
        return [tuple(row) for row in conn.execute(_STORED_SQLITE, {"waybills": json.dumps(list(waybills))})]
    query = select(PARCEL.c.courier, PARCEL.c.waybill).where(PARCEL.c.waybill.in_(waybills))
    return [tuple(row) for row in conn.execute(query)]


# the parcel columns an import writes: the facts, then the bookkeeping of a new parcel
_UPSERT_KEYS = (*FACT_FIELDS, "created_at", "updated_at", "next_poll_at", "is_open", "status")
_TIMES = tuple(i for i, name in enumerate(FACT_FIELDS) if isinstance(PARCEL.c[name].type, DateTime | UTCDateTime))
_MONEY = tuple(i for i, name in enumerate(FACT_FIELDS) if isinstance(PARCEL.c[name].type, Numeric))
_DIRECTION = FACT_FIELDS.index("direction")
_UPDATED = _UPSERT_KEYS.index("updated_at")
_NEXT_POLL = _UPSERT_KEYS.index("next_poll_at")
_COURIER, _WAYBILL, _SHIPPED = (FACT_FIELDS.index(name) for name in ("courier", "waybill", "shipped_at"))
_BUYER, _ORDER = FACT_FIELDS.index("buyer_id"), FACT_FIELDS.index("order_id")
_CHOICES = tuple((name, FACT_FIELDS.index(name)) for name in rollups.CHOICE_FIELDS)
_RETURN = str(Direction.ret)
_DIRECTION_TEXT: dict[Direction | None, str | None] = {direction: str(direction) for direction in Direction}
_DIRECTION_TEXT[None] = None  # the file does not say (UNSAID_DEFAULTS)


# the parcel's amounts, all in its `currency`
MONEY_FIELDS = ("goods_value", "supplier_value", "forward_freight", "return_freight")

# the columns a file may not say (no 方向 column in an order export or a courier bill, no 大运险 column): the row
# holds None, a new parcel takes the default, a stored one keeps its value (a courier bill listing a buyer's return
# made it outbound; a plain order export cleared the 大运险 of the 聚划算 export). The default is written into the
# statement (no bind parameter: a batch stays one statement on PostgreSQL) and the column left out of its update.
UNSAID_DEFAULTS = {"direction": literal_column(f"'{Direction.outbound}'"), "freight_insured": false()}
_UNSAID = tuple((name, itemgetter(FACT_FIELDS.index(name))) for name in UNSAID_DEFAULTS)


def _upsert_statement(conn: Connection, keep: frozenset[str] = frozenset()) -> Any:
    """INSERT ... ON CONFLICT (courier, waybill) DO UPDATE: a value the file leaves empty keeps what is stored,
    and a parcel the file would not change is not written (nor its indexes, nor its updated_at: the rules'
    marks on SQLite read it, _mark_for_rules; the import counts it unchanged). `keep`: the columns of
    UNSAID_DEFAULTS the rows do not say: a new parcel takes their default, a stored one keeps them."""
    stmt = _insert(conn, PARCEL).values({name: UNSAID_DEFAULTS[name] for name in keep})
    excluded = stmt.excluded
    update: dict[str, Any] = {name: func.coalesce(excluded[name], PARCEL.c[name]) for name in IMPORT_COLUMNS}
    for name in ("direction", "freight_insured"):
        update[name] = excluded[name]
    # the currency is the goods value's (a parcel has one): a row that gives no amount (a file without money
    # columns, and without 币种), or no goods value where one is stored (a courier bill of 运费), keeps it (500.00 HKD
    # was rewritten to the file's default CNY and read as 500.00 CNY)
    no_amounts = and_(*(excluded[name].is_(None) for name in MONEY_FIELDS))
    other_amounts = and_(excluded.goods_value.is_(None), PARCEL.c.goods_value.is_not(None))
    update["currency"] = case((or_(no_amounts, other_amounts), PARCEL.c.currency), else_=excluded.currency)
    for name in keep:
        del update[name]
    changes = or_(*(PARCEL.c[name].is_distinct_from(value) for name, value in update.items()))
    update["updated_at"] = excluded.updated_at
    return stmt.on_conflict_do_update(index_elements=["courier", "waybill"], set_=update, where=changes)


def _said(rows: Sequence[Sequence[Any]]) -> list[tuple[frozenset[str], Sequence[Sequence[Any]]]]:
    """The rows grouped by the columns of UNSAID_DEFAULTS they do not say (None): a file's rows say a column or not
    alike, so the usual batch is one group, found column by column; a batch mixing them is split row by row."""
    keep, mixed = set(), False
    for name, value in _UNSAID:
        unsaid = list(map(value, rows)).count(None)
        if unsaid == len(rows):
            keep.add(name)
        mixed = mixed or 0 < unsaid < len(rows)
    if not mixed:
        return [(frozenset(keep), rows)]
    groups: dict[frozenset[str], list[Sequence[Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(name for name, value in _UNSAID if value(row) is None), []).append(row)
    return list(groups.items())


_SQLITE_UPSERT: dict[frozenset[str], tuple[str, Any]] = {}  # compiled once per process and `keep`


def _sqlite_upsert(conn: Connection, keep: frozenset[str] = frozenset()) -> tuple[str, Any]:
    """The upsert's SQL for SQLite and the getter putting a row of _UPSERT_KEYS in its parameters' order (each
    variant built and compiled on its first call only; the columns in `keep` are the statement's own)."""
    if keep not in _SQLITE_UPSERT:
        keys = [name for name in _UPSERT_KEYS if name not in keep]
        compiled = _upsert_statement(conn, keep).compile(dialect=conn.dialect, column_keys=keys)
        in_order = itemgetter(*(_UPSERT_KEYS.index(name) for name in compiled.positiontup or ()))
        _SQLITE_UPSERT[keep] = (str(compiled), in_order)
    return _SQLITE_UPSERT[keep]


def _plain_rows(parcels: Iterable[ParcelFacts], now: datetime) -> list[list[Any]]:
    """Each parcel's values in _UPSERT_KEYS order (shallow: dataclasses.asdict deep-copies every value)."""
    tail = (now, now, now, True, "pending")
    rows = []
    for parcel in parcels:
        row: list[Any] = [*parcel, *tail]
        if row[_DIRECTION] is not None:  # None: the file does not say (UNSAID_DEFAULTS)
            row[_DIRECTION] = str(row[_DIRECTION])
        if row[_COURIER] == AWAITING_COURIER:  # an order awaiting its parcel: nothing to poll
            row[_NEXT_POLL] = None
        rows.append(row)
    return rows


def sqlite_time(value: datetime) -> str:
    """A UTC time as SQLAlchemy stores it in SQLite (always six digits of microseconds, so text order is time
    order). A whole second (couriers' scans, exports' times) is its minute's text, kept, and the second's:
    datetime.isoformat cost more than the rest of storing an event."""
    if value.tzinfo is UTC:
        if not value.microsecond:
            # the minute's number from the fields (timestamp() cost half of this function)
            minute = value.toordinal() * 1440 + value.hour * 60 + value.minute
            prefix = _MINUTES.get(minute)
            if prefix is None:
                prefix = _minute_text(minute, value)
            return prefix + _SECONDS[value.second]
        return value.isoformat(" ", "microseconds")[:26]  # its offset, always "+00:00", cut off
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _minute_text(minute: int, value: datetime) -> str:
    """'YYYY-MM-DD HH:MM:' of a UTC time, kept in _MINUTES under its minute's number (cleared when full)."""
    if len(_MINUTES) >= _MINUTES_KEPT:
        _MINUTES.clear()
    text = _MINUTES[minute] = value.isoformat(" ")[:17]
    return text


_MINUTES: dict[int, str] = {}
_MINUTES_KEPT = 100_000  # about 70 days of minutes, some 15 MB at most
_SECONDS = [f"{second:02d}.000000" for second in range(60)]


def from_sqlite_time(text: str | None) -> datetime | None:
    """sqlite_time read back: the stored UTC text -> an aware UTC datetime (None stays None). What SQLAlchemy's
    SQLite DateTime does per value with a regex, at a fraction of the cost (poller.schedule reads thousands)."""
    if text is None:
        return None
    try:  # read as UTC in one step: replace(tzinfo=...) cost six times the parse
        return datetime.fromisoformat(text + "+00:00")
    except ValueError:  # a text with an offset of its own
        return datetime.fromisoformat(text).astimezone(UTC)


def _sqlite_rows(parcels: Iterable[ParcelFacts], now: datetime) -> list[list[Any]]:
    """_plain_rows as SQLite stores the values: times as UTC text, money as float (what SQLAlchemy's
    Numeric does on SQLite)."""
    stamp = sqlite_time(now)
    tail = (stamp, stamp, stamp, 1, "pending")
    rows = []
    for parcel in parcels:
        row: list[Any] = [*parcel, *tail]
        row[_DIRECTION] = _DIRECTION_TEXT[row[_DIRECTION]]
        for i in _TIMES:
            if (value := row[i]) is not None:  # (sqlite_time keeps each minute's text: no cache of ours)
                row[i] = sqlite_time(value)
        for i in _MONEY:
            if (value := row[i]) is not None:
                row[i] = float(value)
        if row[_COURIER] == AWAITING_COURIER:  # an order awaiting its parcel: nothing to poll
            row[_NEXT_POLL] = None
        rows.append(row)
    return rows


# what a row of an import merges with when its parcel was stored by an earlier batch of the same file
MERGED_FIELDS = ("order_id", "goods_value", "supplier_value", "buyer_id")


def parcel_order(engine: Engine, courier: str, waybill: str) -> dict[str, Any]:
    """What a parcel holds of MERGED_FIELDS (its order ids, goods and supplier values, buyer), each None when the
    parcel is not stored."""
    with engine.connect() as conn:
        row = conn.execute(
            select(*(PARCEL.c[name] for name in MERGED_FIELDS)).where(
                PARCEL.c.courier == courier, PARCEL.c.waybill == waybill
            )
        ).first()
    return dict(row._mapping) if row else dict.fromkeys(MERGED_FIELDS)


def _record_return_buyers(
    conn: Connection,
    rows: Sequence[Sequence[Any]],
    others: Mapping[tuple[str, str], Mapping[str, str | None]],
    *,
    now: datetime,
) -> None:
    buyers: dict[tuple[str, str], dict[str, str | None]] = {}
    for row in rows:
        if row[_DIRECTION] != _RETURN:
            continue
        key = (row[_COURIER], row[_WAYBILL])
        named = buyers.setdefault(key, dict(others.get(key, {})))
        if row[_BUYER]:
            named.setdefault(row[_BUYER], row[_ORDER])
    wanted = {key: named for key, named in buyers.items() if named}
    if not wanted:
        return
    ids = conn.execute(
        select(PARCEL.c.id, PARCEL.c.courier, PARCEL.c.waybill).where(
            PARCEL.c.waybill.in_({w for _, w in wanted}), PARCEL.c.direction == _RETURN
        )
    ).all()
    named_rows = [
        {"parcel_id": pid, "buyer_id": buyer, "waybill": waybill, "order_id": order_id, "first_seen_at": now}
        for pid, courier, waybill in ids
        for buyer, order_id in wanted.get((courier, waybill), {}).items()
    ]
    if named_rows:
        conn.execute(_insert(conn, RETURN_BUYER).on_conflict_do_nothing(), named_rows)


def record_audit(
    engine_or_conn: Engine | Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one line to the audit log (who did what, when)."""
    values = dict(at=at, actor=actor, action=action, entity=entity, entity_id=entity_id, detail=detail)
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.begin() as conn:
            conn.execute(AUDIT.insert(), values)
    else:
        engine_or_conn.execute(AUDIT.insert(), values)


def list_parcels(
    engine: Engine,
    *,
    courier: str | None = None,
    status: str | None = None,
    direction: str | None = None,
    waybill: str | None = None,
    order_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Parcels, newest shipped first, filtered server-side."""
    query = select(PARCEL)
    if courier is not None:  # "": an order awaiting its parcel
        query = query.where(PARCEL.c.courier == courier)
    if status:
        query = query.where(PARCEL.c.status == status)
    if direction:
        query = query.where(PARCEL.c.direction == direction)
    if waybill:
        query = query.where(PARCEL.c.waybill == waybill.upper())
    if order_id:
        query = query.where(PARCEL.c.order_id.contains(order_id))
    query = query.order_by(PARCEL.c.shipped_at.desc(), PARCEL.c.id.desc()).limit(limit).offset(offset)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def parcel_summary(engine: Engine) -> dict[str, Any]:
    """Counts for the summary line: total, open, by courier, by direction, by status."""
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(PARCEL)).scalar_one()
        open_count = conn.execute(
            select(func.count()).select_from(PARCEL).where(PARCEL.c.is_open.is_(True))
        ).scalar_one()
        by_courier: dict[str, int] = dict(
            conn.execute(select(PARCEL.c.courier, func.count()).group_by(PARCEL.c.courier)).all()
        )
        by_direction: dict[str, int] = dict(
            conn.execute(select(PARCEL.c.direction, func.count()).group_by(PARCEL.c.direction)).all()
        )
        by_status: dict[str, int] = dict(
            conn.execute(select(PARCEL.c.status, func.count()).group_by(PARCEL.c.status)).all()
        )
    return {
        "total": total,
        "open": open_count,
        "by_courier": by_courier,
        "by_direction": by_direction,
        "by_status": by_status,
    }


def record_return_case(
    engine: Engine,
    order_id: str,
    *,
    agreed_at: datetime,
    refund_deadline: datetime | None,
    now: datetime,
    actor: str,
) -> bool:
    """A return agreed on an order whose buyer has not given a return waybill yet (a returns-export row with
    none): the order's outbound parcels get return_agreed_at (an earlier agreement is kept) and the refund
    deadline when known, with a `return_agreed` fact and an audit line for each parcel that changes. False
    when the order has no outbound parcel."""
    from tracker.storage.tables import FACT as fact

    with write_transaction(engine) as conn:  # a person's agreed time or deadline recorded meanwhile is kept
        parcels = conn.execute(
            select(PARCEL.c.id, PARCEL.c.waybill, PARCEL.c.return_agreed_at, PARCEL.c.refund_deadline)
            .where(
                PARCEL.c.order_id == order_id,
                PARCEL.c.direction != str(Direction.ret),
                PARCEL.c.courier != AWAITING_COURIER,  # an order awaiting its parcel: nothing was sent to return
            )
            .order_by(PARCEL.c.id)  # locked in id order, as the ingest locks them (PostgreSQL)
            .with_for_update()
        ).all()
        for parcel in parcels:
            if parcel.return_agreed_at is not None and (refund_deadline is None or parcel.refund_deadline):
                continue  # already recorded (a re-import, or a person's fact): kept
            agreed = parcel.return_agreed_at or agreed_at
            deadline = parcel.refund_deadline or refund_deadline
            conn.execute(
                PARCEL.update()
                .where(PARCEL.c.id == parcel.id)
                .values(return_agreed_at=agreed, refund_deadline=deadline, updated_at=now)
            )
            data = {
                "agreed_at": agreed.isoformat(),
                "express": False,
                "source": "returns export",
                "refund_deadline": deadline.isoformat() if deadline else None,
            }
            fact_id = conn.execute(
                fact.insert().returning(fact.c.id),
                {
                    "parcel_id": parcel.id,
                    "kind": "return_agreed",
                    "recorded_at": now,
                    "recorded_by": actor,
                    "data": data,
                },
            ).scalar_one()
            detail = {"fact_id": fact_id, "waybill": parcel.waybill, **data}
            record_audit(
                conn,
                at=now,
                actor=actor,
                action="fact.return_agreed",
                entity="parcel",
                entity_id=parcel.id,
                detail=detail,
            )
    return bool(parcels)


def record_trade_succeeded(
    engine: Engine, items: Sequence[tuple[str, str, datetime]], *, now: datetime, actor: str
) -> int:
    """交易成功 times from an order export, as `trade_succeeded` facts (the 未收到货 complaint window counts from
    it; docs/domain.md). A parcel that already has a fact with the same time gets none; returns how many."""

    if not items:
        return 0
    from tracker.storage.tables import FACT as fact

    recorded = 0
    with write_transaction(engine) as conn:  # two imports at once record one fact
        # the parcels and their known times read a chunk at a time, not two lookups per row under the lock
        waybills = sorted({waybill for _, waybill, _ in items})
        parcel_of: dict[tuple[str, str], int] = {}
        for part in _chunks(waybills):
            named = PARCEL.c.waybill.in_(part)
            for pid, courier, waybill in conn.execute(
                select(PARCEL.c.id, PARCEL.c.courier, PARCEL.c.waybill).where(named)
            ):
                parcel_of[(courier, waybill)] = pid
        ids = sorted(set(parcel_of.values()))
        known: set[tuple[int, Any]] = set()
        for part in _chunks(ids):
            theirs = fact.c.parcel_id.in_(part), fact.c.kind == "trade_succeeded"
            known.update(
                (pid, (d or {}).get("at"))
                for pid, d in conn.execute(select(fact.c.parcel_id, fact.c.data).where(*theirs))
            )
        for courier, waybill, at in items:
            parcel_id = parcel_of.get((courier, waybill))
            data = {"at": at.isoformat(), "source": "order export"}
            if parcel_id is None or (parcel_id, data["at"]) in known:
                continue
            known.add((parcel_id, data["at"]))
            fact_id = conn.execute(
                fact.insert().returning(fact.c.id),
                {
                    "parcel_id": parcel_id,
                    "kind": "trade_succeeded",
                    "recorded_at": now,
                    "recorded_by": actor,
                    "data": data,
                },
            ).scalar_one()
            record_audit(
                conn,
                at=now,
                actor=actor,
                action="fact.trade_succeeded",
                entity="parcel",
                entity_id=parcel_id,
                detail={"fact_id": fact_id, "waybill": waybill, **data},
            )
            recorded += 1
    return recorded
