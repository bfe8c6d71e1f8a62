"""Parcel leases: which worker is polling which parcel right now, so no parcel is polled by two at once.

A `tracker worker` job leases due parcels (`lease_due`: on PostgreSQL `FOR UPDATE SKIP LOCKED`, so two
workers never pick the same row) until `now + lease_seconds`; the poller's `schedule()` clears the lease
when it stores the next poll time. A worker killed mid-batch leaves its leases behind: they lapse after
lease_seconds and the parcels are due again for the next dispatch. Events are stored idempotently, so a
parcel polled again after a crash gains no duplicate event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, or_, select, true, update
from sqlalchemy.sql.elements import ColumnElement

from tracker.providers.clients import DueParcel
from tracker.storage.repo import asked_phone
from tracker.storage.tables import PARCEL


def free(now: datetime) -> ColumnElement[bool]:
    """Not leased, or the lease has lapsed (its worker died or overran)."""
    return or_(PARCEL.c.lease_until.is_(None), PARCEL.c.lease_until < now)


def due(now: datetime) -> ColumnElement[bool]:
    """Open, due for polling (partial index ix_parcel_due) and free."""
    # `is_open = 1` (not `IS 1`) on SQLite: ix_parcel_due's predicate, so the due parcels are read from it
    return (PARCEL.c.is_open == true()) & (PARCEL.c.next_poll_at <= now) & free(now)


def lease_due(
    engine: Engine,
    *,
    couriers: Sequence[str],
    now: datetime,
    limit: int,
    owner: str,
    lease_seconds: int,
) -> list[DueParcel]:
    """Lease up to `limit` due parcels of these couriers, oldest due first; returns them."""
    if not couriers or limit <= 0:
        return []
    pick = (
        select(PARCEL.c.id)
        .where(due(now), PARCEL.c.courier.in_(list(couriers)))
        .order_by(PARCEL.c.next_poll_at)
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(PARCEL)
        .where(PARCEL.c.id.in_(pick.scalar_subquery()))
        .values(lease_until=now + timedelta(seconds=lease_seconds), lease_owner=owner)
        .returning(PARCEL.c.id)
    )
    # what the provider is asked with, read in the same transaction: SQLite's RETURNING cannot hold the
    # correlated subquery of asked_phone (it writes the columns without their table)
    columns = (PARCEL.c.id, PARCEL.c.courier, PARCEL.c.waybill, asked_phone(), PARCEL.c.order_id, PARCEL.c.shop)
    with engine.begin() as conn:
        ids = list(conn.execute(stmt).scalars())
        rows = conn.execute(select(*columns).where(PARCEL.c.id.in_(ids))).all() if ids else []
    return sorted((DueParcel(*row) for row in rows), key=lambda p: p.id)


def release(engine: Engine, ids: Sequence[int], *, owner: str | None = None) -> int:
    """Give parcels back without polling them (their provider is paused); they stay due."""
    if not ids:
        return 0
    stmt = update(PARCEL).where(PARCEL.c.id.in_(list(ids)))
    if owner is not None:
        stmt = stmt.where(PARCEL.c.lease_owner == owner)
    with engine.begin() as conn:
        return conn.execute(stmt.values(lease_until=None, lease_owner=None)).rowcount or 0


def count_due(engine: Engine, *, now: datetime) -> dict[str, int]:
    """Due and free parcels by courier (what the dispatcher hands out)."""
    stmt = select(PARCEL.c.courier, func.count()).where(due(now)).group_by(PARCEL.c.courier)
    with engine.connect() as conn:
        return {courier: int(n) for courier, n in conn.execute(stmt)}


def count_leased(engine: Engine, *, now: datetime) -> dict[str, int]:
    """Parcels under a live lease, by owner (the worker status view)."""
    stmt = select(PARCEL.c.lease_owner, func.count()).where(PARCEL.c.lease_until >= now).group_by(PARCEL.c.lease_owner)
    with engine.connect() as conn:
        return {owner or "?": int(n) for owner, n in conn.execute(stmt)}


def renew(engine: Engine, ids: Sequence[int], *, owner: str, until: datetime) -> int:
    """Extend the leases `owner` still holds on these parcels (a long job keeps its parcels)."""
    if not ids:
        return 0
    stmt = (
        update(PARCEL)
        .where(PARCEL.c.id.in_(list(ids)), PARCEL.c.lease_owner == owner, PARCEL.c.lease_until.is_not(None))
        .values(lease_until=until)
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount or 0
