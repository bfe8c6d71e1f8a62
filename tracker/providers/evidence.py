"""Who wins: an event's status from the provider's code, the courier's text and the package-level state.

The one rule (docs/tracking-status.md):
1. A specific provider code wins (超区 207, 滞留 208, 拒签 14, 17TRACK Delivered ...).
2. Otherwise the courier's text decides when it names a more specific status than a generic code (在途 0 or
   干线 1002 give way to 正在派件 or 已签收; 退回 6 gives way to 拦截 but not to 已发出); an event without a
   code is read from its text alone.
3. Otherwise a generic code says what it can (在途 stays in_transit).
4. Otherwise the event is `unknown` (ingest then keeps the parcel's status: it never moves backwards).
The package-level state (Kuaidi100 `state`, Kdniao `State`/`StateEx`, 17TRACK `latest_status`) describes the
parcel, not an event: it sets the newest event's status only when that event has nothing better (it is still
`unknown`, or only a generic code spoke for it and the package state is specific).
Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import NamedTuple

from tracker.domain import TrackingEvent
from tracker.phrases import PhraseBook
from tracker.status import TrackingStatus


@dataclass(frozen=True, slots=True)
class Code:
    """A provider's code for an event (or for the parcel), read through its provider's table."""

    raw: str  # as sent: "207", "在途", "Delivered", "InTransit_Arrival"
    status: TrackingStatus  # `unknown` for a code the table does not know
    generic: bool  # names a broad class (在途, 疑难, InTransit_Other) that a text may make precise

    @property
    def specific(self) -> bool:
        return not self.generic and self.status is not TrackingStatus.unknown


def read_code(raw: str | None, table: Mapping[str, TrackingStatus], generic: frozenset[str]) -> Code | None:
    """A raw code -> Code via `table`; None when there is no code at all. The Code of a code the table knows
    is made once per table (a reply's events repeat a few codes); any other is made each time, so a reply
    full of unknown codes cannot grow the cache."""
    if raw is None or raw == "":
        return None
    key = (raw, id(table), id(generic))
    known = _KNOWN.get(key)
    if known is not None and known[0] is table and known[1] is generic:
        return known[2]
    status = table.get(raw)
    if status is None:
        return Code(raw, TrackingStatus.unknown, raw in generic)
    code = Code(raw, status, raw in generic)
    _KNOWN[key] = (table, generic, code)  # the table and set held: their ids stay theirs while cached
    return code


_KNOWN: dict[tuple[str, int, int], tuple[Mapping[str, TrackingStatus], frozenset[str], Code]] = {}


# Broad movement states: any status the words name is more precise than these.
BROAD = frozenset({TrackingStatus.picked_up, TrackingStatus.in_transit})
# The plain progress (在途, 派送中) a courier's words may name while the provider reports the parcel signed for
# (SIGNED: Kuaidi100 state 3, Kdniao State 3): a parcel whose newest words read only 派送中 is then signed for. Not
# 已揽收 (a reused number signed for before). Any other package state (拒收, 疑难) leaves the words their say: it
# may be stale, and a person reads both on the board.
PROGRESS = frozenset({TrackingStatus.in_transit, TrackingStatus.out_for_delivery})
SIGNED = frozenset({TrackingStatus.delivered, TrackingStatus.returned})


def _refines(said: TrackingStatus, generic: TrackingStatus, phrases: PhraseBook) -> bool:
    """Do the words name a more specific state than a generic code? Any named state refines a broad movement
    code (在途 -> 正在派件); otherwise the words must name a state the phrase book ranks higher (派件 ->
    驿站 refines; 退回 -> 已发出 does not, 退回 -> 拦截 does)."""
    return generic in BROAD or phrases.priority(said) > phrases.priority(generic)


class Reading(NamedTuple):
    """One event as read, with what decided its status: "code" (a specific code), "text", "generic" (a
    generic code alone) or "none". A named tuple: one is made for every event read, and a tuple is made
    for a fraction of a frozen dataclass's cost."""

    event: TrackingEvent
    source: str


UNKNOWN = TrackingStatus.unknown
_new = tuple.__new__


def read_event(
    when: datetime, codes: tuple[Code | None, ...], text: str, location: str | None, phrases: PhraseBook
) -> Reading:
    """One event from its codes (most trusted first) and its text, by the rule above."""
    if not any(codes):  # most real replies: the time and the courier's words only
        said = phrases.classify(text)
        # made with tuple.__new__: a named tuple's own constructor is Python code and cost twice as much
        if said is None:
            return _new(Reading, (_new(TrackingEvent, (when, UNKNOWN, "", text, location)), "none"))
        return _new(Reading, (_new(TrackingEvent, (when, said, "", text, location)), "text"))
    present = [c for c in codes if c is not None]
    raw = present[0].raw if present else ""
    for code in present:
        if code.specific:
            return Reading(TrackingEvent(when, code.status, code.raw, text, location), "code")
    said = phrases.classify(text)
    if said is not None:
        generic = next((c.status for c in present if c.status is not UNKNOWN), None)
        if generic is None or _refines(said, generic, phrases):
            return Reading(TrackingEvent(when, said, raw, text, location), "text")
    for code in present:
        if code.status is not UNKNOWN:
            return Reading(TrackingEvent(when, code.status, code.raw, text, location), "generic")
    return Reading(TrackingEvent(when, UNKNOWN, raw, text, location), "none")


_TIME = attrgetter("event.time")


def finish(readings: list[Reading], package: Code | None) -> tuple[TrackingEvent, ...]:
    """Events oldest first (equal times keep the order given, which must be oldest first); the newest takes
    the package-level state when it has nothing better: it is `unknown`, or only a generic code spoke for
    it and the package state is specific, or its words name only plain progress (PROGRESS: 派送中) and the
    provider says the parcel was signed for (SIGNED: the signature's own words were not read, or not sent yet)."""
    ordered = sorted(readings, key=_TIME)
    events = [r.event for r in ordered]
    if not ordered or package is None or package.status is TrackingStatus.unknown:
        return tuple(events)
    newest = ordered[-1]
    beyond_words = newest.source == "text" and newest.event.status in PROGRESS and package.status in SIGNED
    if newest.source == "none" or (package.specific and (newest.source == "generic" or beyond_words)):
        events[-1] = newest.event._replace(status=package.status, raw_code=newest.event.raw_code or package.raw)
    return tuple(events)
