"""Store parsed provider replies: events idempotently, then the parcel's tracking snapshot (set-based).

The snapshot is recomputed from every stored event of the parcel, so events arriving out of order (a late
push, an older poll) give the same snapshot as in-order arrival. Unknown waybills are reported, never created.
Hot path: SQLAlchemy Core executemany and ON CONFLICT DO NOTHING (docs/architecture.md, "Storage"), never per-row ORM.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tracker.domain import TrackingEvent
from tracker.providers.base import ParsedWaybill
from tracker.status import FINAL_STATUSES, TrackingStatus
from tracker.storage.tables import EVENT, PARCEL

log = logging.getLogger(__name__)


BATCH = 500  # waybills per transaction
# Statuses that are not yet a carrier scan (the shop printed a label; docs/domain.md, no_first_scan).
NOT_A_SCAN = frozenset({str(TrackingStatus.pending), str(TrackingStatus.info_received)})
FINAL = frozenset(str(s) for s in FINAL_STATUSES)
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


@dataclass
class IngestResult:
    matched: int = 0
    new_events: int = 0
    unknown: list[str] = field(default_factory=list)
    changed_parcel_ids: list[int] = field(default_factory=list)


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
    numbers = {w.waybill for w in batch}
    cols = [PARCEL.c.id, PARCEL.c.waybill, PARCEL.c.courier, *(PARCEL.c[name] for name in SNAPSHOT)]
    candidates: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(select(*cols).where(PARCEL.c.waybill.in_(numbers))).mappings():
        candidates.setdefault(row["waybill"], []).append(dict(row))

    # parcel id -> (events, error of the last waybill naming it)
    matched: dict[int, tuple[dict[tuple[datetime, str], TrackingEvent], str | None]] = {}
    before: dict[int, dict[str, Any]] = {}
    for parsed in batch:
        parcel = _match(parsed, candidates.get(parsed.waybill, []))
        if parcel is None:
            if parsed.waybill not in result.unknown:
                result.unknown.append(parsed.waybill)
            continue
        events, _ = matched.get(parcel["id"], ({}, None))
        for event in parsed.events:
            events.setdefault((event.time, text_hash(event.text)), event)
        matched[parcel["id"]] = (events, parsed.error)
        before[parcel["id"]] = parcel
    if not matched:
        return
    result.matched += len(matched)
    ids = list(matched)

    count = select(EVENT.c.parcel_id, func.count()).where(EVENT.c.parcel_id.in_(ids)).group_by(EVENT.c.parcel_id)
    old_counts = dict(conn.execute(count).all())
    rows = [
        {
            "parcel_id": pid,
            "event_time": event.time,
            "status": str(event.status),
            "raw_code": event.raw_code[:64],
            "text": event.text,
            "text_hash": key[1],
            "location": event.location,
            "source": source[:16],
            "ingested_at": now,
        }
        for pid, (events, _) in matched.items()
        for key, event in events.items()
    ]
    if rows:
        stmt = _insert(conn, EVENT).on_conflict_do_nothing(index_elements=["parcel_id", "event_time", "text_hash"])
        conn.execute(stmt, rows)
    new_counts = dict(conn.execute(count).all())

    stored: dict[int, list[tuple[datetime, str, str, str]]] = {pid: [] for pid in ids}
    history = select(EVENT.c.parcel_id, EVENT.c.event_time, EVENT.c.status, EVENT.c.text, EVENT.c.text_hash)
    for pid, at, status, text, digest in conn.execute(history.where(EVENT.c.parcel_id.in_(ids))):
        stored[pid].append((at, status, text, digest))

    updates = []
    for pid in ids:
        snapshot = snapshot_of(stored[pid], before[pid])
        snapshot["provider_error"] = matched[pid][1]
        added = new_counts.get(pid, 0) - old_counts.get(pid, 0)
        result.new_events += added
        if added or any(snapshot[name] != before[pid][name] for name in SNAPSHOT):
            result.changed_parcel_ids.append(pid)
        updates.append({"pid": pid, **{f"s_{name}": snapshot[name] for name in SNAPSHOT}})
    stmt = (
        update(PARCEL)
        .where(PARCEL.c.id == bindparam("pid"))
        .values(
            **{name: bindparam(f"s_{name}", type_=PARCEL.c[name].type) for name in SNAPSHOT},
            last_polled_at=now,
            updated_at=now,
        )
    )
    conn.execute(stmt, updates)
    # a closed parcel is never polled again: a lease on it means nothing, and one left by a worker killed
    # between this write and its schedule() would never be cleared
    closed = [u["pid"] for u in updates if not u["s_is_open"]]
    if closed:
        free = update(PARCEL).where(PARCEL.c.id.in_(closed), PARCEL.c.lease_until.is_not(None))
        conn.execute(free.values(lease_until=None, lease_owner=None))


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


def snapshot_of(events: Iterable[tuple[datetime, str, str, str]], current: dict[str, Any]) -> dict[str, Any]:
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
