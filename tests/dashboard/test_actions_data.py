"""The reads behind search, the ledger's filters and the money per courier, on SQLite and PostgreSQL (the
prefix search is an index range plus LIKE: the same answer whatever the database's collation)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from dashboard import data
from dashboard.data import LedgerFilter
from tests.dashboard.seed import CLAIM, seed, seed_ageing


@pytest.fixture
def seeded(engine, now):
    ids = seed(engine, now)
    seed_ageing(engine, now)
    return engine, ids


def waybills(rows):
    return sorted(r["waybill"] for r in rows)


def test_find_parcels_by_part_of_a_number(seeded):
    engine, _ = seeded
    assert waybills(data.find_parcels(engine, "运单号: sf1001")) == ["SF1001"]
    assert waybills(data.find_parcels(engine, "sf10")) == ["SF1001", "SF1004"]
    assert waybills(data.find_parcels(engine, "EMS0")) == [f"EMS0{i}" for i in range(1, 9)]
    assert waybills(data.find_parcels(engine, "ZTO1")) == ["ZTO11", "ZTO12", "ZTO13"]  # not ZTO2002
    assert waybills(data.find_parcels(engine, "O-EMS05")) == ["EMS05"]  # an order number
    assert waybills(data.find_parcels(engine, "2002")) == ["ZTO2002"]  # the end, 4+ characters
    assert data.find_parcels(engine, "MS0") == []  # 3 characters: the start only
    assert len(data.find_parcels(engine, "EMS", limit=3)) == 3


def test_ledger_filter_and_money_per_courier(seeded, now):
    engine, ids = seeded
    with engine.begin() as conn:
        conn.execute(
            CLAIM.insert(),
            [
                dict(
                    parcel_id=ids["parcels"]["ZTO2002"],
                    courier="zto",
                    claim_type="freight",
                    state="paid",
                    amount=Decimal("20.00"),
                    paid_amount=Decimal("15.50"),
                    formula="",
                    table_version="t",
                    reference_no="ZT-9001",
                    created_at=now,
                    updated_at=now,
                    filing_closes_at=None,
                ),
                dict(
                    parcel_id=ids["parcels"]["SF1004"],
                    courier="sf",
                    claim_type="goods_lost",
                    state="draft",
                    amount=Decimal("35.00"),
                    paid_amount=None,
                    formula="",
                    table_version="t",
                    reference_no=None,
                    created_at=now,
                    updated_at=now,
                    filing_closes_at=now + timedelta(days=30),
                ),
            ],
        )
    money = {r["courier"]: r for r in data.money_by_courier(engine, now=now)}
    assert money["sf"]["claimable"] == Decimal("234.00") and money["sf"]["claimable_n"] == 2
    assert money["zto"]["paid"] == Decimal("15.50") and money["yto"]["filed"] == Decimal("88.00")
    assert "ems" not in money  # its only claim is a draft whose window closed yesterday: no money to show
    f = LedgerFilter(text="zt-90")
    assert [r["waybill"] for r in data.claims_page(engine, f=f, now=now)] == ["ZTO2002"]
    assert data.claims_total(engine, f=LedgerFilter(courier="sf", state="claimable"), now=now) == {
        "amount": Decimal("234.00"),
        "paid_amount": Decimal("0.00"),
        "unknown": 0,
    }
    soon = LedgerFilter(closes_within_days=3)
    assert [r["waybill"] for r in data.claims_page(engine, f=soon, now=now)] == ["SF1001"]
    assert data.claims_count(engine, f=LedgerFilter(claim_type="goods_lost", courier="sf"), now=now) == 1
    assert [(r["waybill"], r["days_left"]) for r in data.deadlines(engine, now=now, tz="Asia/Shanghai", limit=5)] == [
        ("SF1001", 2),
        ("SF1004", 30),
    ]
