"""The ledger's money in SQL, one definition each: claimable money (claims/claimable.py says what it is) and
the claim totals per state with the filing windows read at `now` (an unfiled claim whose window has closed
counts as expired before `claims propose` marks it so). The board, `tracker claims totals` and
`tracker demo` call these."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, case, func, literal, or_, select

from claims.claimable import UNFILED_STATES, Claimable
from tracker.status import CENT, ClaimState
from tracker.storage.tables import CLAIM


def claimable_where(now: datetime) -> ColumnElement[bool]:
    """Claimable money in SQL: claims.claimable.is_claimable, the same test over values."""
    return and_(
        CLAIM.c.state == str(ClaimState.draft),
        CLAIM.c.amount.is_not(None),
        or_(CLAIM.c.filing_closes_at.is_(None), CLAIM.c.filing_closes_at >= now),
    )


def claimable(engine: Engine, *, now: datetime, courier: str | None = None) -> Claimable:
    """Claimable money and how many claims it is (of one courier when given)."""
    query = select(func.coalesce(func.sum(CLAIM.c.amount), 0), func.count()).where(claimable_where(now))
    if courier is not None:
        query = query.where(CLAIM.c.courier == courier)
    with engine.connect() as conn:
        total, count = conn.execute(query).one()
    return Claimable(Decimal(str(total)).quantize(CENT), int(count))


def state_at(now: datetime | None) -> Any:
    """A claim's state as read at `now`: an unfiled claim whose filing window has closed is expired."""
    if now is None:
        return CLAIM.c.state
    closed = and_(CLAIM.c.state.in_(UNFILED_STATES), CLAIM.c.filing_closes_at < now)
    return case((closed, literal(str(ClaimState.expired))), else_=CLAIM.c.state)


def totals_by_state(engine: Engine, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Claims and their amounts per state (`state`, `n`, `amount`: the sum claimed), the states read at `now`
    when given; `paid`: the sum of the payouts recorded (a paid claim's own, often not what was claimed); and
    `unknown`: how many of them have no amount yet (a claim missing an input, 缺参数): the sum is of the
    others, never a missing amount taken as 0."""
    state = state_at(now)
    query = (
        select(
            state.label("state"),
            func.count().label("n"),
            func.coalesce(func.sum(CLAIM.c.amount), 0).label("amount"),
            func.coalesce(func.sum(CLAIM.c.paid_amount), 0).label("paid"),
            unknown_amounts().label("unknown"),
        )
        .group_by(state)
        .order_by(state)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for r in rows:
        r["amount"] = Decimal(str(r["amount"])).quantize(CENT)
        r["paid"] = Decimal(str(r["paid"])).quantize(CENT)
        r["unknown"] = int(r["unknown"] or 0)
    return rows


def unknown_amounts() -> Any:
    """SQL: how many of the claims read have no amount (left out of any sum of amounts)."""
    return func.sum(case((CLAIM.c.amount.is_(None), 1), else_=0))
