"""Manual facts as services (keyword-only, engine and actor passed in), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tracker.errors import TrackerError
from tracker.flags import evaluate_all, facts, lifecycle
from tracker.storage.repo import AUDIT, PARCEL
from tracker.storage.rows import ParcelFactRow
from tracker.storage.tables import FLAG

NOW = datetime.fromisoformat("2026-11-14T00:00:00+00:00")


def test_return_agreed_sets_the_case_and_starts_the_express_ladder(db, settings) -> None:  # type: ignore[no-untyped-def]
    p = db.parcel(
        created=NOW - timedelta(days=9), waybill="ZT7512345678901", courier="zto", status="delivered", is_open=False
    )
    deadline = NOW + timedelta(days=3, hours=12)
    facts.return_agreed(
        db.engine,
        waybill="zt7512345678901",
        refund_deadline=deadline,
        express=True,
        agreed_at=NOW - timedelta(days=3),
        actor="agent.li",
        now=NOW,
    )
    with db.engine.connect() as conn:
        row = conn.execute(select(PARCEL).where(PARCEL.c.id == p)).one()
        audit = conn.execute(select(AUDIT).where(AUDIT.c.action == "fact.return_agreed")).one()
    assert (row.refund_deadline, row.refund_express, row.return_agreed_at) == (
        deadline,
        True,
        NOW - timedelta(days=3),
    )
    assert (audit.actor, audit.entity_id, audit.detail["express"]) == ("agent.li", p, True)
    evaluate_all(db.engine, now=NOW, settings=settings)
    (flag,) = lifecycle.list_flags(
        db.engine, settings=settings, now=NOW, kind="refund_deadline", waybill="ZT7512345678901"
    )
    assert (flag["level"], flag["next_action_zh"]) == (2, "极速退款截止还剩3天,仍无退货物流:再次电话联系买家")


def test_return_short_keeps_counts_and_weights(db, settings) -> None:  # type: ignore[no-untyped-def]
    p = db.parcel(created=NOW, waybill="YT9000000000001", direction="return", status="delivered", is_open=False)
    facts.return_short(
        db.engine,
        waybill="YT9000000000001",
        items_claimed=3,
        items_received=2,
        warehouse_weight_kg=Decimal("0.95"),
        courier_weight_kg=Decimal("1.40"),
        actor="wh.zhao",
        now=NOW,
    )
    with db.engine.connect() as conn:
        data = conn.execute(select(ParcelFactRow.data).where(ParcelFactRow.parcel_id == p)).scalar_one()
    assert data == {"items_claimed": 3, "items_received": 2, "warehouse_weight_kg": "0.95", "courier_weight_kg": "1.40"}
    assert dict(evaluate_all(db.engine, now=NOW, settings=settings).opened) == {"return_partial": 1}
    with db.engine.connect() as conn:
        details = conn.execute(select(FLAG.c.details).where(FLAG.c.parcel_id == p)).scalar_one()
    assert details == data  # the evidence travels with the flag


def test_a_waybill_two_couriers_share_needs_the_courier(db) -> None:  # type: ignore[no-untyped-def]
    db.parcel(created=NOW, waybill="1234567890123", courier="yunda")
    db.parcel(created=NOW, waybill="1234567890123", courier="sto")
    with pytest.raises(TrackerError, match="several couriers .sto, yunda.; name the courier"):
        facts.buyer_unreachable(db.engine, waybill="1234567890123", actor="agent.li", now=NOW)
    facts.buyer_unreachable(db.engine, waybill="1234567890123", courier="sto", actor="agent.li", now=NOW)
    with pytest.raises(TrackerError, match="the name of the person recording the fact is required") as no_one:
        facts.confirm_loss(db.engine, waybill="1234567890123", courier="sto", actor=" ", now=NOW)
    assert no_one.value.field == "actor"
