"""Reconciliation, the one definition (docs/claims.md "Reconciliation"): per courier and month of filing, what
was claimed, paid, outstanding and rejected, and the payouts that differ from the expected amount. Grouped
in SQL (the month in the warehouse's zone); `tracker claims reconcile` prints the lines per month, the board
its table per courier (totals_by_courier: the same sums grouped by courier alone)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, case, func, literal, or_, select

from tracker.status import ClaimState
from tracker.storage.tables import CLAIM, PARCEL

ZERO = Decimal("0.00")
NO_MONTH = "-"  # a claim without a filing time (none is filed without one)
# the claims that were filed with the courier: still outstanding, paid or rejected
FILED_STATES = (str(ClaimState.filed), str(ClaimState.paid), str(ClaimState.rejected))
FILED = CLAIM.c.state.in_(FILED_STATES)


@dataclass
class Line:
    courier: str
    month: str  # YYYY-MM of filing, in the warehouse's zone; "" on a courier's total (by_courier)
    filed: int = 0  # claims filed (outstanding, paid or rejected)
    paid_n: int = 0  # of them paid
    rejected_n: int = 0  # of them rejected
    expected: Decimal = ZERO  # amounts claimed (filed, paid, rejected)
    paid: Decimal = ZERO  # payouts received
    outstanding: Decimal = ZERO  # filed and not yet answered
    rejected: Decimal = ZERO
    short: Decimal = ZERO  # on the paid claims paid less than claimed: what is missing (never offset by `over`)
    over: Decimal = ZERO  # on the paid claims paid more than claimed: the excess (a typo, or a term to check)
    mismatches: list[dict[str, Any]] = field(default_factory=list)


def _month_starts(first: datetime, last: datetime, tz: tzinfo) -> list[datetime]:
    """The UTC instants at which each local month from first's to last's begins, and the next month's start."""
    a, b = first.astimezone(tz), last.astimezone(tz)
    return [
        datetime(i // 12, i % 12 + 1, 1, tzinfo=tz).astimezone(UTC)
        for i in range(a.year * 12 + a.month - 1, b.year * 12 + b.month + 1)
    ]


def _month(at: datetime | None, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m") if at else NO_MONTH


def reconcile(engine: Engine, *, tz: tzinfo) -> list[Line]:
    """The lines per courier and month of filing, oldest month first."""
    with engine.connect() as conn:
        first, last = conn.execute(select(func.min(CLAIM.c.filed_at), func.max(CLAIM.c.filed_at)).where(FILED)).one()
        edges = _month_starts(first, last, tz) if first is not None else []
        whens = [(CLAIM.c.filed_at >= edges[i], literal(i)) for i in reversed(range(len(edges) - 1))]
        bucket: Any = case(*whens, else_=literal(-1)) if whens else literal(-1)  # -1: no filing time
        grouped = conn.execute(_grouped(bucket)).all()
        differing = conn.execute(
            select(CLAIM.c.id, CLAIM.c.courier, CLAIM.c.amount, CLAIM.c.paid_amount, CLAIM.c.filed_at, PARCEL.c.waybill)
            .join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)
            .where(
                CLAIM.c.state == str(ClaimState.paid),
                or_(CLAIM.c.amount.is_(None), func.coalesce(CLAIM.c.paid_amount, 0) != CLAIM.c.amount),
            )
            .order_by(CLAIM.c.id)
        ).all()
    lines: dict[tuple[str, str], Line] = {}
    for row in grouped:
        month = edges[row.i].astimezone(tz).strftime("%Y-%m") if row.i >= 0 else NO_MONTH
        _count_in(lines.setdefault((row.courier, month), Line(row.courier, month)), row)
    for row in differing:
        line = lines[(row.courier, _month(row.filed_at, tz))]
        paid = row.paid_amount or ZERO
        line.mismatches.append({"claim_id": row.id, "waybill": row.waybill, "expected": row.amount, "paid": paid})
    return sorted(lines.values(), key=lambda line: (line.month, line.courier))


def totals_by_courier(engine: Engine) -> list[Line]:
    """Each courier's line over all months (month ""), in courier order, without the mismatches listed: the
    board's reconciliation table. The sums of the courier's lines of reconcile, grouped by courier alone (no
    month of filing to work out, no mismatched payout to look up)."""
    with engine.connect() as conn:
        grouped = conn.execute(_grouped(literal(-1))).all()
    totals: dict[str, Line] = {}
    for row in grouped:
        _count_in(totals.setdefault(row.courier, Line(row.courier, "")), row)
    return [totals[c] for c in sorted(totals)]


def _grouped(bucket: Any) -> Any:
    """The filed claims' count and sums per courier, state and `bucket` (labelled i: a month's number, -1 for
    none)."""
    # per claim, what was claimed minus what was paid: a claim paid short and another paid over are two gaps
    gap = func.coalesce(CLAIM.c.amount, 0) - func.coalesce(CLAIM.c.paid_amount, 0)
    return (
        select(
            CLAIM.c.courier,
            CLAIM.c.state,
            bucket.label("i"),
            func.count().label("n"),
            func.coalesce(func.sum(func.coalesce(CLAIM.c.amount, 0)), 0).label("expected"),
            func.coalesce(func.sum(func.coalesce(CLAIM.c.paid_amount, 0)), 0).label("paid"),
            func.coalesce(func.sum(case((gap > 0, gap), else_=0)), 0).label("short"),
            func.coalesce(func.sum(case((gap < 0, -gap), else_=0)), 0).label("over"),
        )
        .where(FILED)
        .group_by(CLAIM.c.courier, CLAIM.c.state, bucket)
    )


def _count_in(line: Line, row: Any) -> None:
    """One group of _grouped (a courier's claims in one state) added to `line`."""
    expected, paid = Decimal(str(row.expected)).quantize(ZERO), Decimal(str(row.paid)).quantize(ZERO)
    line.filed += row.n
    line.expected += expected
    if row.state == ClaimState.paid:
        line.paid_n += row.n
        line.paid += paid
        line.short += Decimal(str(row.short)).quantize(ZERO)
        line.over += Decimal(str(row.over)).quantize(ZERO)
    elif row.state == ClaimState.filed:
        line.outstanding += expected
    else:
        line.rejected_n += row.n
        line.rejected += expected
