"""The board's reconciliation per courier (totals_by_courier, grouped by courier alone) gives the same sums as the
command line's lines per month added up (reconcile), on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select

from claims.reconcile import Line, reconcile, totals_by_courier
from tracker.domain import ParcelFacts
from tracker.storage import repo
from tracker.storage.tables import CLAIM, PARCEL

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
# (courier, state, amount, paid amount, days before NOW it was filed): three months of filings, each state, a
# payout short and one over, a claim without an amount, drafts (never counted)
CLAIMS = [
    ("yto", "filed", "100.00", None, 70),
    ("yto", "paid", "100.00", "80.00", 70),
    ("yto", "paid", "50.00", "60.00", 40),
    ("yto", "rejected", "30.00", None, 40),
    ("yto", "draft", "999.00", None, None),
    ("sf", "paid", "268.50", "268.50", 10),
    ("sf", "paid", None, "20.00", 10),
    ("sf", "filed", "12.34", None, 1),
    ("zto", "rejected", "45.00", None, 1),
    ("zto", "draft", "5.00", None, None),
]
SUMS = [f.name for f in fields(Line) if f.name not in ("courier", "month", "mismatches")]


def _ledger(engine: Engine) -> None:
    facts = [ParcelFacts(courier=c[0], waybill=f"W{i:012d}") for i, c in enumerate(CLAIMS)]
    repo.upsert_parcels(engine, facts, now=NOW - timedelta(days=90))
    with engine.begin() as conn:
        ids = dict(conn.execute(select(PARCEL.c.waybill, PARCEL.c.id)).all())
        conn.execute(
            insert(CLAIM),
            [
                {
                    "parcel_id": ids[f"W{i:012d}"],
                    "courier": courier,
                    "claim_type": "loss",
                    "state": state,
                    "amount": None if amount is None else D(amount),
                    "paid_amount": None if paid is None else D(paid),
                    "filed_at": None if days is None else NOW - timedelta(days=days),
                    "table_version": "test",
                    "created_at": NOW - timedelta(days=90),
                    "updated_at": NOW,
                }
                for i, (courier, state, amount, paid, days) in enumerate(CLAIMS)
            ],
        )


def test_the_totals_per_courier_are_the_monthly_lines_added_up(engine: Engine) -> None:
    _ledger(engine)
    lines = reconcile(engine, tz=SHANGHAI)
    assert len({line.month for line in lines}) == 3  # the sums below do add months up
    added: dict[str, Line] = {}
    for line in lines:
        total = added.setdefault(line.courier, Line(line.courier, ""))
        for name in SUMS:
            setattr(total, name, getattr(total, name) + getattr(line, name))
    expected = [added[courier] for courier in sorted(added)]
    totals = totals_by_courier(engine)
    assert totals == expected
    yto = totals[[t.courier for t in totals].index("yto")]
    assert (yto.filed, yto.paid_n, yto.rejected_n) == (4, 2, 1)
    assert (yto.expected, yto.paid, yto.outstanding, yto.rejected) == (
        D("280.00"),
        D("140.00"),
        D("100.00"),
        D("30.00"),
    )
    assert (yto.short, yto.over) == (D("20.00"), D("10.00"))  # each paid claim's gap on its own
    assert [t.courier for t in totals] == ["sf", "yto", "zto"]


def test_no_filed_claim_no_total(engine: Engine) -> None:
    assert totals_by_courier(engine) == []
