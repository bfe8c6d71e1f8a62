"""Reconciliation: expected vs paid vs outstanding per courier and month of filing; payouts that differ
from the expected amount are listed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from tracker.status import ClaimState
from tracker.storage.tables import CLAIM, PARCEL

ZERO = Decimal("0.00")


@dataclass
class Line:
    courier: str
    month: str  # YYYY-MM of filing, in the warehouse's zone
    filed: int = 0
    expected: Decimal = ZERO  # amounts claimed (filed, paid, rejected)
    paid: Decimal = ZERO  # payouts received
    outstanding: Decimal = ZERO  # filed and not yet answered
    rejected: Decimal = ZERO
    short: Decimal = ZERO  # expected minus paid on the paid claims
    mismatches: list[dict[str, Any]] = field(default_factory=list)


def reconcile(engine: Engine, *, tz: tzinfo) -> list[Line]:
    states = (ClaimState.filed, ClaimState.paid, ClaimState.rejected)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                CLAIM.c.id,
                CLAIM.c.courier,
                CLAIM.c.state,
                CLAIM.c.amount,
                CLAIM.c.paid_amount,
                CLAIM.c.filed_at,
                PARCEL.c.waybill,
            )
            .join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)
            .where(CLAIM.c.state.in_(states))
        ).all()
    lines: dict[tuple[str, str], Line] = {}
    for row in rows:
        month = row.filed_at.astimezone(tz).strftime("%Y-%m") if row.filed_at else "-"
        key = (row.courier, month)
        line = lines.setdefault(key, Line(row.courier, month))
        expected = row.amount or ZERO
        line.filed += 1
        line.expected += expected
        if row.state == ClaimState.paid:
            paid = row.paid_amount or ZERO
            line.paid += paid
            line.short += expected - paid
            if row.amount is None or paid != row.amount:
                line.mismatches.append(
                    {"claim_id": row.id, "waybill": row.waybill, "expected": row.amount, "paid": paid}
                )
        elif row.state == ClaimState.filed:
            line.outstanding += expected
        else:
            line.rejected += expected
    return sorted(lines.values(), key=lambda line: (line.month, line.courier))
