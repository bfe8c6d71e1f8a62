"""Tmall timers for a few parcels at once (the queue page, the alert digest): the signing time and the facts
the timers count from, read for the given ids, then the pure tracker.rules.tmall_timers (docs/domain.md
"Tmall's timers"). Two indexed reads, whatever the size of the tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from tracker.alerts.model import DeadlineFacts
from tracker.rules.model import Fact, ParcelView
from tracker.rules.tmall_timers import Deadline, next_open, parcel_timers
from tracker.status import Direction, FactKind
from tracker.storage.tables import FACT, PARCEL
from tracker.tmall import TmallRules

TIMER_FACTS = [str(k) for k in (FactKind.trade_succeeded, FactKind.complaint_opened, FactKind.complaint_amount_changed)]


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _load(engine: Engine, parcel_ids: Iterable[int], rules: TmallRules) -> list[tuple[Any, list[Deadline]]]:
    """(parcel row, its timers) for each parcel that has a timer."""
    ids = sorted({int(i) for i in parcel_ids})
    if not ids:
        return []
    with engine.connect() as conn:
        parcels = conn.execute(
            select(
                PARCEL.c.id,
                PARCEL.c.courier,
                PARCEL.c.waybill,
                PARCEL.c.direction,
                PARCEL.c.delivered_at,
                PARCEL.c.shop,
                PARCEL.c.province,
            ).where(PARCEL.c.id.in_(ids))
        ).all()
        facts: dict[int, list[Fact]] = defaultdict(list)
        for r in conn.execute(
            select(FACT.c.id, FACT.c.parcel_id, FACT.c.kind, FACT.c.recorded_at, FACT.c.data)
            .where(FACT.c.parcel_id.in_(ids), FACT.c.kind.in_(TIMER_FACTS))
            .order_by(FACT.c.id)
        ):
            facts[r.parcel_id].append(Fact(r.id, FactKind(r.kind), r.recorded_at, r.data or {}))
    out = []
    for p in parcels:
        view = ParcelView(
            id=p.id,
            courier=p.courier,
            waybill=p.waybill,
            direction=Direction(p.direction),
            delivered_at=_utc(p.delivered_at),
            facts=tuple(facts.get(p.id, ())),
        )
        timers = parcel_timers(view, rules)
        if timers:
            out.append((p, timers))
    return out


def parcel_deadlines(engine: Engine, parcel_ids: Iterable[int], rules: TmallRules) -> dict[int, list[Deadline]]:
    """Every timer of each parcel (parcels with none are left out)."""
    return {p.id: timers for p, timers in _load(engine, parcel_ids, rules)}


def complaint_parcels(engine: Engine) -> set[int]:
    """Parcels with a 未收到货 complaint recorded (few; the fact index carries it)."""
    with engine.connect() as conn:
        return set(
            conn.execute(select(FACT.c.parcel_id).where(FACT.c.kind == str(FactKind.complaint_opened)).distinct())
            .scalars()
            .all()
        )


def deadline_facts(
    engine: Engine, parcel_ids: Iterable[int], rules: TmallRules, *, with_complaints: bool = False
) -> list[DeadlineFacts]:
    """Every timer of these parcels (and of the parcels with a complaint) as the digest reads them."""
    ids = set(parcel_ids) | (complaint_parcels(engine) if with_complaints else set())
    return [
        DeadlineFacts(
            parcel_id=p.id,
            waybill=p.waybill,
            courier=p.courier,
            kind=str(d.kind),
            due_at=d.due_at,
            shop=p.shop,
            province=p.province,
        )
        for p, timers in _load(engine, ids, rules)
        for d in timers
    ]


def next_deadlines(engine: Engine, parcel_ids: Iterable[int], rules: TmallRules, now: datetime) -> dict[int, Deadline]:
    """The soonest timer still open at `now`, per parcel that has one."""
    out = {}
    for parcel_id, timers in parcel_deadlines(engine, parcel_ids, rules).items():
        soonest = next_open(timers, now)
        if soonest is not None:
            out[parcel_id] = soonest
    return out
