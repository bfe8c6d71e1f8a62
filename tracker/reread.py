"""Stored events read again with the current phrase book (`tracker db reread`, docs/courier-phrases.md).

A courier's wording added to config/phrases.toml reads the events that arrive from then on; the parcels it
concerned keep the status their events were stored with until something new comes, which for a refused or
stranded parcel may be days. This reads again the stored events of the parcels still watched (open, or
whose last event is within `days`):

- an event no code and no words explained (`unknown`, raw_code empty) is read from its words, as the parsers
  read an event without a code (tracker/providers/evidence.py). An event read as anything else keeps it: the
  stored text is not always all that was read (Kdniao reads a trace's remark with its station text and stores
  the station text), so a reading cannot be redone from it;
- a buyer's return parcel's events, whatever decided them, are read for its direction, as the ingest reads
  new ones (PhraseBook.on_return_parcel: the shop's signature is the return's delivery); a word-only event
  that this made delivered is read again both ways, so a negation added since (商家拒绝签收) makes it
  `returned` again;
- each parcel whose events changed gets its snapshot recomputed from all its events, as the ingest does
  (tracker.ingest.refresh_snapshots), and `after_batch` (the CLI: the rules) runs over those parcels.

One transaction per batch of parcels, which holds them as the ingest does (PostgreSQL: FOR UPDATE, by id), so
a worker storing a poll meanwhile waits or is waited for, and no snapshot is written from stale events. A stop
leaves every batch before it done, its rules run, and the rest as it was; running it again reads the same
events to the same statuses (nothing changes twice).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, bindparam, or_, select, true, update

from tracker.ingest import RETURN, UNKNOWN, refresh_snapshots
from tracker.phrases import DELIVERED, RETURNED, PhraseBook
from tracker.storage.tables import EVENT, PARCEL

BATCH = 1000  # parcels per transaction


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


def reread(
    engine: Engine,
    phrases: PhraseBook,
    *,
    now: datetime,
    days: int,
    dry_run: bool = False,
    after_batch: Callable[[list[int]], None] | None = None,
    batch: int = BATCH,
) -> RereadResult:
    """Read the watched parcels' events again and store what changed (nothing with `dry_run`); `after_batch`
    gets the ids of each batch's parcels whose snapshot changed, after that batch's commit."""
    result = RereadResult()
    for ids in _watched(engine, now - timedelta(days=days), batch):
        changed: list[int] = []
        with engine.begin() as conn:
            held = select(PARCEL.c.id, PARCEL.c.direction).where(PARCEL.c.id.in_(ids)).order_by(PARCEL.c.id)
            if conn.dialect.name == "postgresql":
                held = held.with_for_update()
            directions = dict(conn.execute(held).all())
            events = conn.execute(
                select(EVENT.c.id, EVENT.c.parcel_id, EVENT.c.status, EVENT.c.raw_code, EVENT.c.text).where(
                    EVENT.c.parcel_id.in_(ids)
                )
            ).all()
            result.parcels_read += len(ids)
            result.events_read += len(events)
            changes, touched = [], set()
            for event_id, parcel_id, stored, raw_code, text in events:
                direction = directions[parcel_id]
                now_read = _read(phrases, stored, raw_code, text, direction)
                if now_read != stored:
                    result.moves[(direction, stored, now_read)] += 1
                    changes.append({"eid": event_id, "status": now_read})
                    touched.add(parcel_id)
            if changes and not dry_run:
                stmt = update(EVENT).where(EVENT.c.id == bindparam("eid")).values(status=bindparam("status"))
                conn.execute(stmt, changes)
                changed = refresh_snapshots(conn, sorted(touched), now=now)
        result.changed_parcel_ids += changed
        if changed and after_batch is not None:
            after_batch(changed)
    return result


def _read(phrases: PhraseBook, stored: str, raw_code: str | None, text: str | None, direction: str) -> str:
    """An event's status read again (the module's docstring says which ones change)."""
    status, words_only = stored, not raw_code
    if words_only and stored == UNKNOWN:
        said = phrases.classify(text)
        status = UNKNOWN if said is None else str(said)
    if direction != RETURN:
        return status
    if words_only and status == DELIVERED and phrases.classify(text) == RETURNED:
        status = RETURNED  # the words read `returned` and the direction made them delivered: that step again
    return phrases.on_return_parcel(status, text)


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
