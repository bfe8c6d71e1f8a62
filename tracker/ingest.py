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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect

from tracker.domain import TrackingEvent
from tracker.phrases import DELIVERED, PhraseBook, default_phrasebook
from tracker.providers.base import ParsedWaybill
from tracker.runtime import collector_paused
from tracker.status import FINAL_STATUS_TEXTS, PRE_SCAN_STATUSES, Direction, TrackingStatus
from tracker.storage import rollups, scorecard_days
from tracker.storage.db import again_if_rolled_back, write_transaction
from tracker.storage.repo import from_sqlite_time, sqlite_time
from tracker.storage.tables import EVENT, PARCEL

log = logging.getLogger(__name__)


# Waybills per transaction: a poll's flush (poller.FLUSH_PARCELS) is one. Each commit writes every page the batch
# touched in the parcel's indexes, and a snapshot's keys (status, last event, its text) land all over them: 2,000
# waybills a transaction stored a first poll in about 15% less time than 500 (bench/ingest.py), and the write
# lock is held for about 0.15 s at a time (a first poll of 2,000 parcels of ten events each).
BATCH = 2000
NOT_A_SCAN = frozenset(str(s) for s in PRE_SCAN_STATUSES)  # as stored: before any carrier scan
# Events at the same second: the one that ends tracking sets the snapshot, then a reported loss (not final, but
# it must not hide behind a scan of that second), then the text hash decides
TIE_RANK = {**dict.fromkeys(FINAL_STATUS_TEXTS, 2), str(TrackingStatus.lost): 1}
_tie = TIE_RANK.get
UNKNOWN = str(TrackingStatus.unknown)
SNAPSHOT = (
    "status",
    "status_text",
    "first_scan_at",
    "last_event_at",
    "delivered_at",
    "is_open",
    "provider_error",
)
_DELIVERED_AT, _IS_OPEN = SNAPSHOT.index("delivered_at"), SNAPSHOT.index("is_open")


@dataclass
class IngestResult:
    matched: int = 0
    new_events: int = 0
    unknown: list[str] = field(default_factory=list)
    changed_parcel_ids: list[int] = field(default_factory=list)
    _named: set[str] = field(default_factory=set, repr=False, compare=False)  # unknown, to look in

    def add(self, other: IngestResult) -> None:
        """Another batch's result counted in (an unknown waybill listed once, in the order first seen)."""
        self.matched += other.matched
        self.new_events += other.new_events
        for waybill in other.unknown:
            if waybill not in self._named:
                self._named.add(waybill)
                self.unknown.append(waybill)
        self.changed_parcel_ids += other.changed_parcel_ids


class _Digests(dict[str, str]):
    """The text hashes of the texts read lately: a hub's scan reads the same for every parcel through it, batch
    after batch, so each is hashed once (cleared when full; a text is a key of a few hundred bytes at most)."""

    def __missing__(self, text: str) -> str:
        if len(self) >= DIGESTS_KEPT:
            self.clear()
        digest = self[text] = text_hash(text)
        return digest


_DIGESTS = _Digests()
DIGESTS_KEPT = 50_000


def text_hash(text: str) -> str:
    """The event's text key in the unique (parcel_id, event_time, text_hash) index."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def ingest(
    engine: Engine,
    waybills: Sequence[ParsedWaybill],
    *,
    now: datetime,
    source: str,
    batch_size: int = BATCH,
    phrases: PhraseBook | None = None,
) -> IngestResult:
    """Store events and update snapshots of the parcels these waybills name. Re-ingesting adds nothing.

    Waybills with an empty number (a reply-level error the caller has not attached to a waybill) are skipped.
    A buyer's return parcel's new events are read again for its direction (`phrases`, the one the replies were
    parsed with; the project's own when not given): PhraseBook.on_return_parcel.
    """
    result = IngestResult()
    wanted = [w for w in waybills if w.waybill]
    book = _Book(phrases)
    for start in range(0, len(wanted), batch_size):
        result.add(_stored_batch(engine, wanted[start : start + batch_size], now=now, source=source, book=book))
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


def _stored_batch(
    engine: Engine, batch: Sequence[ParsedWaybill], *, now: datetime, source: str, book: _Book
) -> IngestResult:
    """One batch in a transaction of its own, run again once when PostgreSQL rolled it back to break a deadlock
    (an evaluation holds the rules' marks it took until it commits, and may wait for a scorecard hour this batch
    marked: tracker/flags/evaluate.py). The batch is idempotent (the unique key is the dedupe); its result is
    counted only once it is committed. Given a caller's transaction instead of an Engine (a group of pushes,
    tracker/push_store.py), the error is the caller's: its transaction is the one rolled back, and it has its
    own way of storing again."""

    def attempt() -> IngestResult:
        part = IngestResult()
        # every parcel_id written is one the batch read under the transaction's lock: no key check needed
        with collector_paused(), write_transaction(engine, key_checks=False) as conn:
            _ingest_batch(conn, batch, now=now, source=source, result=part, book=book)
        return part

    if not isinstance(engine, Engine):
        return attempt()
    return again_if_rolled_back(attempt, what=f"ingest {source}: a batch", then="stored again", logger=log)


class _Book:
    """The phrase book, read only when a return parcel has new events (the project's own takes half a second)."""

    def __init__(self, phrases: PhraseBook | None) -> None:
        self._phrases = phrases

    def on_return_parcel(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """An event row (status at 2, text at 4) of a buyer's return parcel, its status read for that direction."""
        if self._phrases is None:
            self._phrases = default_phrasebook()
        status = self._phrases.on_return_parcel(row[2], row[4])
        return row if status == row[2] else (*row[:2], status, *row[3:])


RETURN = str(Direction.ret)
# A parcel as the batch reads it: (id, waybill, courier, direction, its snapshot in SNAPSHOT order)
Parcel = tuple[int, str, str, str, tuple[Any, ...]]
# An event of a parcel as its snapshot reads it, in the order that decides it: (time, tie rank, text hash, status,
# text). Sorted as plain tuples: a parcel's events differ in (time, text hash), so status and text never decide.
Entry = tuple[Any, int, str, str, str | None]


def _ingest_batch(
    conn: Connection, batch: Sequence[ParsedWaybill], *, now: datetime, source: str, result: IngestResult, book: _Book
) -> None:
    """One transaction: the batch's parcels (locked, so two workers ingesting one parcel take turns: the rows
    on PostgreSQL, the database from the transaction's start on SQLite), their stored events, the new events
    inserted with ON CONFLICT DO NOTHING (the unique key is the dedupe), then each parcel's snapshot from old +
    new events.

    On PostgreSQL times are aware UTC datetimes. On SQLite they stay in their stored text form throughout
    (repo.sqlite_time: fixed width, so text order is time order): the new events' times are written out once,
    the stored ones and the snapshots are compared and written as read; the statements run as compiled SQL over
    tuples (SQLAlchemy's per-value processing cost more than SQLite's own work, bench/ingest.py)."""
    lite = conn.dialect.name == "sqlite"
    stamp: Callable[[datetime], Any] = sqlite_time if lite else _same
    candidates: dict[str, list[Parcel]] = {}
    for row in _parcels(conn, {w.waybill for w in batch}, lite):
        candidates.setdefault(row[1], []).append(row)

    # parcel id -> (events by (time as stored, text hash), error of the last waybill naming it); the first
    # reading of an event (time and text) wins
    matched: dict[int, tuple[dict[tuple[Any, str], TrackingEvent], str | None]] = {}
    before: dict[int, tuple[Any, ...]] = {}
    returns: set[int] = set()  # the buyers' return parcels among them
    digests = _DIGESTS
    for parsed in batch:
        parcel = _match(parsed, candidates.get(parsed.waybill, []))
        if parcel is None:
            if parsed.waybill not in result.unknown:
                result.unknown.append(parsed.waybill)
            continue
        pid, events = parcel[0], parsed.events
        known = matched.get(pid)
        if known is None:
            keys = [(stamp(event.time), digests[event.text]) for event in events]
            by_key = dict(zip(keys, events, strict=True))
            if len(by_key) < len(keys):  # the reply repeats an event: its first reading, in the reply's order
                by_key = {}
                for key, event in zip(keys, events, strict=True):
                    by_key.setdefault(key, event)
        else:  # a second waybill naming the parcel (a reply listing it twice, a push with the poll)
            by_key = known[0]
            for event in events:
                by_key.setdefault((stamp(event.time), digests[event.text]), event)
        matched[pid] = (by_key, parsed.error)
        before[pid] = parcel[4]
        if parcel[3] == RETURN:
            returns.add(pid)
    if not matched:
        return
    result.matched += len(matched)
    ids = list(matched)

    # Each stored event is taken out of its parcel's reply events: what is left of them is new. A stored event's
    # text is not read: it is the same event's in this reply (a poll repeats the history), else read below if
    # the snapshot needs it.
    entries: dict[int, list[Entry]] = {pid: [] for pid in ids}
    unread = set()  # the parcels with a stored event this reply left out
    for pid, at, status, digest in _event_rows(conn, ids, lite, _HISTORY):
        again = matched[pid][0].pop((at, digest), None)
        if again is None:
            unread.add(pid)
            entries[pid].append((at, _tie(status, 0), digest, status, None))
        else:
            entries[pid].append((at, _tie(status, 0), digest, status, again.text))
    src, ingested = source[:16], stamp(now)
    rows: list[tuple[Any, ...]] = []
    added: dict[int, int] = {}
    for pid, (fresh, _) in matched.items():
        added[pid] = len(fresh)
        if fresh:
            new = [
                (pid, at, str(event.status), event.raw_code[:64], event.text, digest, event.location, src, ingested)
                for (at, digest), event in fresh.items()
            ]
            if pid in returns:
                new = [book.on_return_parcel(row) for row in new]
            rows += new
            entries[pid] += [(row[1], _tie(row[2], 0), row[5], row[2], row[4]) for row in new]
    if rows:
        result.new_events += _insert_events(conn, rows, lite)

    updates = []  # the parcels whose snapshot changed: every snapshot column
    heard = []  # the others: only when they were last polled
    closed = []
    delivered = []  # a new delivery time: the scorecards' transit of that parcel's shipping day
    if unread:  # the events only stored before: their texts, for the snapshot's newest text
        texts = {(pid, at, d): text for pid, at, d, text in _event_rows(conn, sorted(unread), lite, _TEXTS)}
        for pid in unread:
            entries[pid] = [
                (at, final, d, st, texts.get((pid, at, d), "") if text is None else text)
                for at, final, d, st, text in entries[pid]
            ]
    changed = result.changed_parcel_ids
    for pid in ids:
        was = before[pid]
        now_is = (*snapshot_of(entries[pid], was), matched[pid][1])
        if now_is[_DELIVERED_AT] != was[_DELIVERED_AT]:
            delivered.append(pid)
        if now_is != was:
            changed.append(pid)
            updates.append((*now_is, pid))
        else:  # a poll that brought nothing new (the usual one): no indexed column is rewritten
            if added[pid]:
                changed.append(pid)
            heard.append(pid)
        if not now_is[_IS_OPEN]:
            closed.append(pid)
    _update_snapshots(conn, updates, heard, now, lite)
    _upkeep(conn, ids, [row[-1] for row in updates], delivered, closed)


def _upkeep(conn: Connection, ids: list[int], rewritten: list[int], delivered: list[int], closed: list[int]) -> None:
    """What follows new snapshots: the rules' marks of the parcels whose snapshot was `rewritten` (SQLite;
    PostgreSQL: triggers), the flags' copy of each parcel's last update (the board's ageing), the scorecards'
    days of the parcels with a new delivery time, and the leases of the closed parcels: a closed parcel is
    never polled again, so a lease on it means nothing, and one left by a worker killed between this write and
    its schedule() would never be cleared."""
    rollups.mark_parcels(conn, rewritten)
    rollups.refresh_last_update(conn, ids)
    scorecard_days.mark_parcels(conn, delivered)
    if closed:
        free = update(PARCEL).where(PARCEL.c.id.in_(closed), PARCEL.c.lease_until.is_not(None))
        conn.execute(free.values(lease_until=None, lease_owner=None))


def refresh_snapshots(conn: Connection, ids: Sequence[int], *, now: datetime) -> list[int]:
    """Recompute these parcels' snapshots from all their stored events, as the ingest does (snapshot_of), after
    their events' statuses were read again (tracker/reread.py); write the ones that changed, with the ingest's
    upkeep (the rules' marks, the flags' update times, the scorecards' days, a closed parcel's lease), and
    return their ids. A parcel that opens again (its final event reads otherwise now) is due at once: the
    poller sets its next poll. Not the hot path: plain Core statements, times as datetimes on both databases.
    The poll time is left as it was: nothing was polled."""
    if not ids:
        return []
    columns = [PARCEL.c.id, *(PARCEL.c[name] for name in SNAPSHOT)]
    before = {row[0]: tuple(row[1:]) for row in conn.execute(select(*columns).where(PARCEL.c.id.in_(ids)))}
    entries: dict[int, list[Entry]] = {pid: [] for pid in before}
    stored = select(EVENT.c.parcel_id, EVENT.c.event_time, EVENT.c.status, EVENT.c.text_hash, EVENT.c.text)
    for pid, at, status, digest, text in conn.execute(stored.where(EVENT.c.parcel_id.in_(ids))):
        entries[pid].append((at, _tie(status, 0), digest, status, text))
    changed, delivered, closed = [], [], []
    for pid, was in before.items():
        now_is = (*snapshot_of(entries[pid], was), was[-1])  # the provider's error stays
        if now_is == was:
            continue
        changed.append(pid)
        values = dict(zip(SNAPSHOT, now_is, strict=True))
        if now_is[_IS_OPEN] and not was[_IS_OPEN]:
            values.update(next_poll_at=now, lease_until=None, lease_owner=None)
        conn.execute(update(PARCEL).where(PARCEL.c.id == pid).values(**values, updated_at=now))
        if now_is[_DELIVERED_AT] != was[_DELIVERED_AT]:
            delivered.append(pid)
        if not now_is[_IS_OPEN]:
            closed.append(pid)
    _upkeep(conn, changed, changed, delivered, closed)
    return changed


def _same(value: datetime) -> datetime:
    return value


_PARCEL_COLUMNS = ("id", "waybill", "courier", "direction", *SNAPSHOT)
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


def _parcels(conn: Connection, numbers: set[str], lite: bool) -> list[Parcel]:
    """The parcels with these waybills, with their snapshot (SQLite: times as stored)."""
    rows: Sequence[Any]
    if lite:
        rows = _driver_rows(conn, _PARCELS_SQLITE, (json.dumps(list(numbers)),))
    else:
        query = select(*(PARCEL.c[name] for name in _PARCEL_COLUMNS)).where(PARCEL.c.waybill.in_(numbers))
        rows = conn.execute(query.order_by(PARCEL.c.id).with_for_update()).all()
    return [(pid, waybill, courier, direction, tuple(snapshot)) for pid, waybill, courier, direction, *snapshot in rows]


_HISTORY = ("parcel_id", "event_time", "status", "text_hash")  # what dedupe and the snapshot need
_TEXTS = ("parcel_id", "event_time", "text_hash", "text")  # an event's text, by its key
_STORED_WIDTH = len(sqlite_time(datetime(2026, 1, 1, tzinfo=UTC)))


def _event_rows(conn: Connection, ids: list[int], lite: bool, names: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """These four columns (`names`, the second being event_time) of every stored event of these parcels, the
    times as the batch compares them: aware UTC datetimes on PostgreSQL, sqlite_time's text on SQLite (a time
    stored otherwise, e.g. with an offset by a tool writing around the tracker, is put in that form)."""
    if lite:
        sql = f"SELECT {', '.join(names)} {_OF_PARCELS}"  # noqa: S608 - our own column names
        rows = _driver_rows(conn, sql, (json.dumps(ids),))
        return [row if _in_stored_form(row[1]) else (row[0], _as_stored(row[1]), *row[2:]) for row in rows]
    query = select(*(EVENT.c[name] for name in names)).where(EVENT.c.parcel_id.in_(ids))
    return [tuple(row) for row in conn.execute(query)]


def _in_stored_form(text: str) -> bool:
    """Written by sqlite_time: 'YYYY-MM-DD HH:MM:SS.ffffff' (other texts of that width read as times too:
    '...T...', '...00.000+08')."""
    return len(text) == _STORED_WIDTH and text[10] == " " and text[19] == "." and text[20:].isdigit()


def _as_stored(text: str) -> str:
    value = from_sqlite_time(text)
    assert value is not None
    return sqlite_time(value)


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
        if updates:  # the snapshot's times are in their stored form already
            conn.exec_driver_sql(_UPDATE_SQLITE, [(*row[:-1], at, at, row[-1]) for row in updates])
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


def _match(parsed: ParsedWaybill, candidates: list[Parcel]) -> Parcel | None:
    """The parcel a reply names: same waybill and courier; a lone parcel with that waybill also matches
    (the provider may have corrected the company, e.g. Kuaidi100 comNew)."""
    if parsed.courier is not None:
        for parcel in candidates:
            if parcel[2] == parsed.courier:
                return parcel
    return candidates[0] if len(candidates) == 1 else None


def snapshot_of(events: list[Entry], current: tuple[Any, ...]) -> tuple[Any, ...]:
    """The parcel's tracking snapshot (SNAPSHOT's columns but provider_error) from all its stored events.

    Independent of arrival order: events are ordered by time, ties broken by TIE_RANK then text hash.
    The status is that of the newest event whose status is known: an event that neither its code nor its
    words explain (`unknown`) updates the last event time and text, but never moves the status backwards
    (docs/tracking-status.md). Without any events the current snapshot is kept (pending from the import)."""
    if not events:
        return current[:-1]
    ordered = sorted(events)
    newest_time, _, _, status, newest_text = ordered[-1]
    if status == UNKNOWN:
        status = next((entry[3] for entry in reversed(ordered) if entry[3] != UNKNOWN), UNKNOWN)
    first_scan = None
    for entry in ordered:
        if entry[3] not in NOT_A_SCAN:
            first_scan = entry[0]
            break
    delivered = None
    if status == DELIVERED:
        for entry in ordered:
            if entry[3] == DELIVERED:
                delivered = entry[0]
                break
    return (status, newest_text, first_scan, newest_time, delivered, status not in FINAL_STATUS_TEXTS)
