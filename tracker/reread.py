"""Stored events read again with the current phrase book (`tracker db reread`, docs/courier-phrases.md).

A courier's wording added to config/phrases.toml reads the events that arrive from then on; the parcels it
concerned keep the status their events were stored with until something new comes, which for a refused or
stranded parcel may be days. This reads the stored events of the parcels still watched again:

- only events read from the courier's words alone (no provider code: `raw_code` empty), as the parsers read
  them (tracker/providers/evidence.py: no code, then the words' status or unknown), and a buyer's return
  parcel's for its direction (PhraseBook.on_return_parcel). An event a provider's code decided stays as it is;
- the parcels still open, and the closed ones whose last event is within `days`;
- each parcel whose events changed gets its snapshot recomputed from all its events, as the ingest does
  (tracker.ingest.refresh_snapshots); the caller runs the rules over those parcels.

One transaction per batch of parcels: a stop leaves every batch before it done and the rest as it was, and
running it again reads the same events to the same statuses (nothing changes twice)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, bindparam, or_, select, true, update

from tracker.ingest import refresh_snapshots
from tracker.phrases import PhraseBook
from tracker.status import Direction, TrackingStatus
from tracker.storage.tables import EVENT, PARCEL

BATCH = 1000  # parcels per transaction
RETURN = str(Direction.ret)
UNKNOWN = str(TrackingStatus.unknown)


@dataclass
class RereadResult:
    parcels_read: int = 0
    events_read: int = 0
    # (the parcel's direction, the stored status, the status read now) -> events
    moves: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    changed_parcel_ids: list[int] = field(default_factory=list)  # whose snapshot changed

    @property
    def events_changed(self) -> int:
        return sum(self.moves.values())


def read_again(phrases: PhraseBook, text: str | None, direction: str) -> str:
    """An event's status from its words alone, for a parcel travelling in `direction`."""
    said = phrases.classify(text)
    status = UNKNOWN if said is None else str(said)
    return phrases.on_return_parcel(status, text) if direction == RETURN else status


def reread(
    engine: Engine, phrases: PhraseBook, *, now: datetime, days: int, dry_run: bool = False, batch: int = BATCH
) -> RereadResult:
    """Read the watched parcels' word-only events again and store what changed (nothing with `dry_run`)."""
    result = RereadResult()
    for ids in _watched(engine, now - timedelta(days=days), batch):
        with engine.begin() as conn:
            directions = dict(conn.execute(select(PARCEL.c.id, PARCEL.c.direction).where(PARCEL.c.id.in_(ids))).all())
            events = conn.execute(
                select(EVENT.c.id, EVENT.c.parcel_id, EVENT.c.status, EVENT.c.text).where(
                    EVENT.c.parcel_id.in_(ids), EVENT.c.raw_code == ""
                )
            ).all()
            result.parcels_read += len(ids)
            result.events_read += len(events)
            changes, touched = [], set()
            for event_id, parcel_id, stored, text in events:
                direction = directions[parcel_id]
                now_read = read_again(phrases, text, direction)
                if now_read != stored:
                    result.moves[(direction, stored, now_read)] += 1
                    changes.append({"eid": event_id, "status": now_read})
                    touched.add(parcel_id)
            if changes and not dry_run:
                stmt = update(EVENT).where(EVENT.c.id == bindparam("eid")).values(status=bindparam("status"))
                conn.execute(stmt, changes)
                result.changed_parcel_ids += refresh_snapshots(conn, sorted(touched), now=now)
    return result


def _watched(engine: Engine, since: datetime, batch: int) -> Iterator[list[int]]:
    """The ids of the open parcels and of the closed ones heard from since `since`, in batches (by id)."""
    watched = or_(PARCEL.c.is_open == true(), PARCEL.c.last_event_at >= since)
    last = 0
    while True:
        with engine.connect() as conn:
            ids = list(
                conn.execute(
                    select(PARCEL.c.id).where(watched, PARCEL.c.id > last).order_by(PARCEL.c.id).limit(batch)
                ).scalars()
            )
        if not ids:
            return
        yield ids
        last = ids[-1]
