"""Store parsed provider replies: events idempotently, then the parcel's tracking snapshot (set-based).

The snapshot is recomputed from every stored event of the parcel, so events arriving out of order (a late
push, an older poll) give the same snapshot as in-order arrival. Unknown waybills are reported, never created.
Hot path: SQLAlchemy Core executemany and ON CONFLICT DO NOTHING (docs/architecture.md, "Storage"), never per-row ORM.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect

from tracker.domain import TrackingEvent
from tracker.providers.base import ParsedWaybill
from tracker.status import FINAL_STATUSES, PRE_SCAN_STATUSES, TrackingStatus
from tracker.storage import rollups, scorecard_days
from tracker.storage.repo import from_sqlite_time, sqlite_time
from tracker.storage.tables import EVENT, PARCEL

log = logging.getLogger(__name__)


BATCH = 500  # waybills per transaction
NOT_A_SCAN = frozenset(str(s) for s in PRE_SCAN_STATUSES)  # as stored: before any carrier scan
FINAL = frozenset(str(s) for s in FINAL_STATUSES)
UNKNOWN = str(TrackingStatus.unknown)
TEXT_SCAN = ("status", "status_text", "is_open")  # the snapshot columns the rules' text scan reads
SNAPSHOT = (
    "status",
    "status_text",
    "first_scan_at",
    "last_event_at",
    "delivered_at",
    "is_open",
    "provider_error",
)


@dataclass
class IngestResult:
    matched: int = 0
    new_events: int = 0
    unknown: list[str] = field(default_factory=list)
    changed_parcel_ids: list[int] = field(default_factory=list)


# The text hashes of the texts read lately: a hub's scan reads the same for every parcel through it, batch after
# batch, so each is hashed once (cleared when full; a text is a key of a few hundred bytes at most).
_DIGESTS: dict[str, str] = {}
DIGESTS_KEPT = 50_000


def text_hash(text: str) -> str:
    """The event's text key in the unique (parcel_id, event_time, text_hash) index."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def ingest(
    engine: Engine, waybills: Sequence[ParsedWaybill], *, now: datetime, source: str, batch_size: int = BATCH
) -> IngestResult:
    """Store events and update snapshots of the parcels these waybills name. Re-ingesting adds nothing.

    Waybills with an empty number (a reply-level error the caller has not attached to a waybill) are skipped.
    """
    result = IngestResult()
    wanted = [w for w in waybills if w.waybill]
    for start in range(0, len(wanted), batch_size):
        with engine.begin() as conn:
            _ingest_batch(conn, wanted[start : start + batch_size], now=now, source=source, result=result)
    log.info(
        "ingest %s: %d waybills, %d matched, %d new events, %d unknown, %d parcels changed",
        source,
        len(wanted),
        result.matched,
        result.new_events,
        len(result.unknown),
        len(result.changed_parcel_ids),
    )
    return result


def _ingest_batch(
    conn: Connection, batch: Sequence[ParsedWaybill], *, now: datetime, source: str, result: IngestResult
) -> None:
    """One transaction: the batch's parcels (locked on PostgreSQL, so two workers ingesting one parcel take
    turns), their stored events, the new events inserted with ON CONFLICT DO NOTHING (the unique key is the
    dedupe; a concurrent duplicate is skipped there), then each parcel's snapshot from old + new events.

    Times are compared as aware UTC datetimes on both databases. On SQLite they are read from and written in
    their stored text form (repo.from_sqlite_time, repo.sqlite_time: only the new events' times and the changed
    snapshots are written out) and the statements run as compiled SQL over tuples: SQLAlchemy's per-value
    processing cost more than SQLite's own work (bench/ingest.py)."""
    lite = conn.dialect.name == "sqlite"
    stamp: Callable[[datetime], Any] = sqlite_time if lite else _same
    candidates: dict[str, list[dict[str, Any]]] = {}
    for row in _parcels(conn, {w.waybill for w in batch}, lite):
        candidates.setdefault(row["waybill"], []).append(row)

    # parcel id -> (events by (time, text hash), error of the last waybill naming it)
    matched: dict[int, tuple[dict[tuple[Any, str], TrackingEvent], str | None]] = {}
    before: dict[int, dict[str, Any]] = {}
    digests = _DIGESTS
    if len(digests) >= DIGESTS_KEPT:
        digests.clear()
    for parsed in batch:
        parcel = _match(parsed, candidates.get(parsed.waybill, []))
        if parcel is None:
            if parsed.waybill not in result.unknown:
                result.unknown.append(parsed.waybill)
            continue
        events, _ = matched.get(parcel["id"], ({}, None))
        for event in parsed.events:
            digest = digests.get(event.text)
            if digest is None:
                digest = digests[event.text] = text_hash(event.text)
            events.setdefault((event.time, digest), event)
        matched[parcel["id"]] = (events, parsed.error)
        before[parcel["id"]] = parcel
    if not matched:
        return
    result.matched += len(matched)
    ids = list(matched)

    # every event of each parcel: (time, status, text, text hash). A stored event's text is not read: it is
    # the same event's in this reply (a poll repeats the history), else read below if the snapshot needs it
    # Each stored event is taken out of its parcel's reply events: what is left of them is new.
    stored: dict[int, list[tuple[datetime, str, str | None, str]]] = {pid: [] for pid in ids}
    unread = set()  # the parcels with a stored event this reply left out
    for pid, at, status, digest in _event_rows(conn, ids, lite, _HISTORY):
        again = matched[pid][0].pop((at, digest), None)
        if again is None:
            unread.add(pid)
            stored[pid].append((at, status, None, digest))
        else:
            stored[pid].append((at, status, again.text, digest))
    src, ingested = source[:16], stamp(now)
    rows: list[tuple[Any, ...]] = []
    added: dict[int, int] = {}
    for pid, (fresh, _) in matched.items():
        added[pid] = len(fresh)
        for (at, digest), event in fresh.items():
            status = str(event.status)
            new = (pid, stamp(at), status, event.raw_code[:64], event.text, digest, event.location, src, ingested)
            rows.append(new)
            stored[pid].append((at, status, event.text, digest))
    if rows:
        result.new_events += _insert_events(conn, rows, lite)

    updates = []  # the parcels whose snapshot changed: every snapshot column
    heard = []  # the others: only when they were last polled
    retext = []  # what the rules' kept text scan reads changed (tracker/flags/text_hits.py)
    closed = []
    delivered = []  # a new delivery time: the scorecards' transit of that parcel's shipping day
    if unread:  # the events only stored before: their texts, for the snapshot's newest text
        texts = {(pid, at, d): text for pid, at, d, text in _event_rows(conn, sorted(unread), lite, _TEXTS)}
        for pid in unread:
            stored[pid] = [
                (at, st, texts.get((pid, at, d), "") if text is None else text, d) for at, st, text, d in stored[pid]
            ]
    for pid in ids:
        snapshot = snapshot_of(stored[pid], before[pid])
        if snapshot["delivered_at"] != before[pid]["delivered_at"]:
            delivered.append(pid)
        snapshot["provider_error"] = matched[pid][1]
        differs = any(snapshot[name] != before[pid][name] for name in SNAPSHOT)
        if added[pid] or differs:
            result.changed_parcel_ids.append(pid)
            if any(snapshot[name] != before[pid][name] for name in TEXT_SCAN):
                retext.append(pid)
        if not snapshot["is_open"]:
            closed.append(pid)
        if differs:
            updates.append((*(snapshot[name] for name in SNAPSHOT), pid))
        else:  # a poll that brought nothing new (the usual one): no indexed column is rewritten
            heard.append(pid)
    _update_snapshots(conn, updates, heard, now, lite)
    rollups.mark_text_changed(conn, retext)
    rollups.refresh_last_update(conn, ids)  # the flags' copy of each parcel's last update (the board's ageing)
    scorecard_days.mark_parcels(conn, delivered)
    # a closed parcel is never polled again: a lease on it means nothing, and one left by a worker killed
    # between this write and its schedule() would never be cleared
    if closed:
        free = update(PARCEL).where(PARCEL.c.id.in_(closed), PARCEL.c.lease_until.is_not(None))
        conn.execute(free.values(lease_until=None, lease_owner=None))


def _same(value: datetime) -> datetime:
    return value


_PARCEL_COLUMNS = ("id", "waybill", "courier", *SNAPSHOT)
_TIMES = ("first_scan_at", "last_event_at", "delivered_at")  # the snapshot's times
_PARCELS_SQLITE = f"SELECT {', '.join(_PARCEL_COLUMNS)} FROM parcel WHERE waybill IN (SELECT value FROM json_each(?))"  # noqa: S608
_OF_PARCELS = "FROM tracking_event WHERE parcel_id IN (SELECT value FROM json_each(?))"
_EVENT_KEYS = (
    "parcel_id",
    "event_time",
    "status",
    "raw_code",
    "text",
    "text_hash",
    "location",
    "source",
    "ingested_at",
)
_HEARD_SQLITE = "UPDATE parcel SET last_polled_at = ?, updated_at = ? WHERE id IN (SELECT value FROM json_each(?))"
_UPDATE_SQLITE = (
    f"UPDATE parcel SET {', '.join(f'{name} = ?' for name in SNAPSHOT)}, last_polled_at = ?, updated_at = ? "  # noqa: S608
    "WHERE id = ?"
)


def _parcels(conn: Connection, numbers: set[str], lite: bool) -> list[dict[str, Any]]:
    """The parcels with these waybills, with their snapshot."""
    if lite:
        found = []
        for row in _driver_rows(conn, _PARCELS_SQLITE, (json.dumps(list(numbers)),)):
            parcel = dict(zip(_PARCEL_COLUMNS, row, strict=True))
            for name in _TIMES:
                parcel[name] = from_sqlite_time(parcel[name])
            found.append(parcel)
        return found
    query = select(*(PARCEL.c[name] for name in _PARCEL_COLUMNS)).where(PARCEL.c.waybill.in_(numbers))
    return [dict(row) for row in conn.execute(query.order_by(PARCEL.c.id).with_for_update()).mappings()]


_utc_text = datetime.fromisoformat
_HISTORY = ("parcel_id", "event_time", "status", "text_hash")  # what dedupe and the snapshot need
_TEXTS = ("parcel_id", "event_time", "text_hash", "text")  # an event's text, by its key


def _event_rows(conn: Connection, ids: list[int], lite: bool, names: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """These four columns (`names`, the second being event_time) of every stored event of these parcels, the
    times aware UTC on both databases."""
    if lite:
        sql = f"SELECT {', '.join(names)} {_OF_PARCELS}"  # noqa: S608 - our own column names
        rows = _driver_rows(conn, sql, (json.dumps(ids),))
        try:  # as sqlite_time wrote them (read as UTC in one step, as from_sqlite_time does, at half the cost)
            return [(pid, _utc_text(at + "+00:00"), c, d) for pid, at, c, d in rows]
        except ValueError:  # a time stored with an offset of its own
            return [(pid, from_sqlite_time(at), c, d) for pid, at, c, d in rows]
    query = select(*(EVENT.c[name] for name in names)).where(EVENT.c.parcel_id.in_(ids))
    return [tuple(row) for row in conn.execute(query)]


def _insert_events(conn: Connection, rows: list[tuple[Any, ...]], lite: bool) -> int:
    """Insert the events, skipping any already stored (the unique key); how many were new."""
    if lite:
        sql, in_order = _sqlite_event_insert(conn.dialect)
        return int(conn.exec_driver_sql(sql, rows if in_order is None else list(map(in_order, rows))).rowcount)
    stmt = _insert(conn, EVENT).on_conflict_do_nothing(index_elements=["parcel_id", "event_time", "text_hash"])
    before = len(rows)
    conn.execute(stmt, [dict(zip(_EVENT_KEYS, row, strict=True)) for row in rows])
    return before  # the parcels are locked (_parcels): no one else inserted these events meanwhile


@functools.lru_cache(maxsize=8)  # one per engine's dialect
def _sqlite_event_insert(dialect: Dialect) -> tuple[str, Callable[[tuple[Any, ...]], tuple[Any, ...]] | None]:
    """SQLite's event INSERT ... ON CONFLICT DO NOTHING, compiled once per dialect (compiling it for every batch
    cost about a third of a small batch, e.g. a group of pushes), and the getter putting a row in its order
    (None when a row is in its order already)."""
    stmt = sqlite.insert(EVENT).on_conflict_do_nothing(index_elements=["parcel_id", "event_time", "text_hash"])
    compiled = stmt.compile(dialect=dialect, column_keys=list(_EVENT_KEYS))
    order = [_EVENT_KEYS.index(name) for name in compiled.positiontup or ()]
    return str(compiled), None if order == list(range(len(_EVENT_KEYS))) else itemgetter(*order)


def _update_snapshots(
    conn: Connection, updates: list[tuple[Any, ...]], heard: list[int], now: datetime, lite: bool
) -> None:
    """Write the changed snapshots (`updates`: the SNAPSHOT values, then the parcel id) and the poll time of
    every parcel; an unchanged parcel's snapshot is not written again (each of its columns is in an index)."""
    if lite:
        at = sqlite_time(now)
        if updates:
            rows = [
                (status, text, _stored(first), _stored(last), _stored(done), is_open, error, at, at, pid)
                for status, text, first, last, done, is_open, error, pid in updates
            ]
            conn.exec_driver_sql(_UPDATE_SQLITE, rows)
        if heard:
            conn.exec_driver_sql(_HEARD_SQLITE, (at, at, json.dumps(heard)))
        return
    if updates:
        stmt = (
            update(PARCEL)
            .where(PARCEL.c.id == bindparam("pid"))
            .values(
                **{name: bindparam(f"s_{name}", type_=PARCEL.c[name].type) for name in SNAPSHOT},
                last_polled_at=now,
                updated_at=now,
            )
        )
        keys = [f"s_{name}" for name in SNAPSHOT]
        conn.execute(stmt, [{"pid": row[-1], **dict(zip(keys, row, strict=False))} for row in updates])
    if heard:
        conn.execute(update(PARCEL).where(PARCEL.c.id.in_(heard)).values(last_polled_at=now, updated_at=now))


def _stored(value: datetime | None) -> str | None:
    return None if value is None else sqlite_time(value)


def _driver_rows(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """SQLite: the rows of `sql` as the driver gives them (plain tuples), in the connection's transaction;
    SQLAlchemy's Row objects cost more than the query for the thousands a batch reads."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _insert(conn: Connection, table: Table) -> Any:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def _match(parsed: ParsedWaybill, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The parcel a reply names: same waybill and courier; a lone parcel with that waybill also matches
    (the provider may have corrected the company, e.g. Kuaidi100 comNew)."""
    if parsed.courier is not None:
        for parcel in candidates:
            if parcel["courier"] == parsed.courier:
                return parcel
    return candidates[0] if len(candidates) == 1 else None


def snapshot_of(events: Iterable[tuple[datetime, str, str | None, str]], current: dict[str, Any]) -> dict[str, Any]:
    """The parcel's tracking snapshot from all its stored events (event_time, status, text, text_hash).

    Independent of arrival order: events are ordered by time, ties broken by final-ness then text hash.
    The status is that of the newest event whose status is known: an event that neither its code nor its
    words explain (`unknown`) updates the last event time and text, but never moves the status backwards
    (docs/tracking-status.md). Without any events the current status is kept (pending from the import)."""
    ordered = sorted(events, key=lambda e: (e[0], e[1] in FINAL, e[3]))
    if not ordered:
        return {name: current[name] for name in SNAPSHOT}
    newest_time, _, newest_text, _ = ordered[-1]
    known = [code for _, code, _, _ in ordered if code != UNKNOWN]
    status = known[-1] if known else UNKNOWN
    scans = [at for at, code, _, _ in ordered if code not in NOT_A_SCAN]
    delivered = [at for at, code, _, _ in ordered if code == TrackingStatus.delivered]
    return {
        "status": status,
        "status_text": newest_text,
        "first_scan_at": scans[0] if scans else None,
        "last_event_at": newest_time,
        "delivered_at": delivered[0] if status == TrackingStatus.delivered and delivered else None,
        "is_open": status not in FINAL,
        "provider_error": current.get("provider_error"),
    }
