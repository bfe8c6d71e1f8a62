"""Parcels as tracker.rules.ParcelView, loaded for a few ids (explanations, tests, the board's parcel
page). Not the evaluation path: that one stays in SQL (docs/architecture.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Engine, func, select

from tracker.rules.model import Fact, ParcelView
from tracker.status import Direction, FactKind, TrackingStatus
from tracker.storage.repo import PARCEL, RETURN_BUYER
from tracker.storage.tables import FACT

_FIELDS = [
    "id", "courier", "waybill", "direction", "status", "status_text", "provider_error", "is_open",
    "order_id", "buyer_id", "province", "city", "paid_at", "shipped_at", "promised_ship_by",
    "first_scan_at", "last_event_at", "return_agreed_at", "refund_deadline", "refund_express", "created_at",
    "delivered_at", "goods_value",
]  # fmt: skip


def _status(value: str) -> TrackingStatus:
    try:
        return TrackingStatus(value)
    except ValueError:
        return TrackingStatus.unknown


def load_views(engine: Engine, parcel_ids: Iterable[int]) -> dict[int, ParcelView]:
    """ParcelView per id, with facts and the cross-parcel context the return rules need."""
    ids = sorted(set(parcel_ids))
    views: dict[int, ParcelView] = {}
    if not ids:
        return views
    with engine.connect() as conn:
        rows = [r._mapping for r in conn.execute(select(*(PARCEL.c[f] for f in _FIELDS)).where(PARCEL.c.id.in_(ids)))]
        facts: dict[int, list[Fact]] = defaultdict(list)
        for fact in conn.execute(select(FACT).where(FACT.c.parcel_id.in_(ids)).order_by(FACT.c.id)):
            facts[fact.parcel_id].append(Fact(fact.id, FactKind(fact.kind), fact.recorded_at, fact.data or {}))
        orders = {r["order_id"] for r in rows if r["order_id"]}
        returned_orders = set(
            conn.execute(
                select(PARCEL.c.order_id).where(PARCEL.c.direction == "return", PARCEL.c.order_id.in_(orders))
            ).scalars()
        )
        waybills = {r["waybill"] for r in rows if r["direction"] == "return"}
        buyers: dict[str, int] = dict(
            conn.execute(
                select(RETURN_BUYER.c.waybill, func.count(RETURN_BUYER.c.buyer_id.distinct()))
                .where(RETURN_BUYER.c.waybill.in_(waybills))
                .group_by(RETURN_BUYER.c.waybill)
            ).all()
        )
    for r in rows:
        values = {f: r[f] for f in _FIELDS}
        values["direction"] = Direction(r["direction"])
        values["status"] = _status(r["status"])
        values["refund_express"] = bool(r["refund_express"])
        views[r["id"]] = ParcelView(
            **values,
            facts=tuple(facts.get(r["id"], ())),
            return_recorded=r["order_id"] in returned_orders,
            waybill_buyers=buyers.get(r["waybill"], 0) if r["direction"] == "return" else 1,
        )
    return views
