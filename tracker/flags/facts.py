"""Manual facts a person records about a parcel (parcel_fact rows, audited). The rules read them:
loss confirmed -> `lost`; buyer says not received/short -> `delivered_disputed`; return agreed ->
return rules and the refund-deadline ladder; buyer unreachable attempts -> `return_abandoned`; return
arrived short or weighed light -> `return_partial`; return waybill invalid -> `return_waybill_invalid`; buyer
reached -> earlier unreachable attempts stop counting; a third party signed without the buyer's consent ->
`delivered_disputed`; 交易成功 and 未收到货 complaints -> the Tmall timers (docs/domain.md)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select, update

from tracker.errors import TrackerError
from tracker.notes import check_note
from tracker.sheets import local_times
from tracker.status import FactKind
from tracker.storage.repo import PARCEL, record_audit
from tracker.storage.tables import FACT


def find_parcel(engine: Engine, *, waybill: str, courier: str | None = None) -> dict[str, Any]:
    """The parcel with this waybill (and courier, needed only when two couriers share the number)."""
    query = select(PARCEL.c.id, PARCEL.c.courier, PARCEL.c.waybill, PARCEL.c.direction).where(
        PARCEL.c.waybill == waybill.strip().upper()
    )
    if courier:
        query = query.where(PARCEL.c.courier == courier)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    if not rows:
        raise TrackerError(
            f"waybill {waybill}: no such parcel" + (f" for courier {courier}" if courier else ""),
            code="parcel_not_found",
            waybill=waybill,
        )
    if len(rows) > 1:
        couriers = ", ".join(sorted(r["courier"] for r in rows))
        raise TrackerError(
            f"waybill {waybill}: several couriers ({couriers}); name the courier",
            code="several_couriers",
            field="courier",
            waybill=waybill,
        )
    return rows[0]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def record_fact(
    engine: Engine,
    *,
    waybill: str,
    kind: FactKind,
    actor: str,
    now: datetime,
    courier: str | None = None,
    data: dict[str, Any] | None = None,
    parcel_updates: dict[str, Any] | None = None,
) -> int:
    """Store one fact (and optional parcel column updates) and its audit line; returns the fact id."""
    if not actor.strip():
        raise TrackerError(
            "the name of the person recording the fact is required", code="actor_required", field="actor"
        )
    for key, value in (data or {}).items():  # the note, who signed: what a person typed
        if isinstance(value, str):
            check_note(value, field=key)
    parcel = find_parcel(engine, waybill=waybill, courier=courier)
    clean = {k: _plain(v) for k, v in (data or {}).items() if v is not None}
    with engine.begin() as conn:
        fact_id = conn.execute(
            FACT.insert().returning(FACT.c.id),
            {
                "parcel_id": parcel["id"],
                "kind": str(kind),
                "recorded_at": now,
                "recorded_by": actor,
                "data": clean,
            },
        ).scalar_one()
        if parcel_updates:
            conn.execute(update(PARCEL).where(PARCEL.c.id == parcel["id"]).values(**parcel_updates, updated_at=now))
        record_audit(
            conn,
            at=now,
            actor=actor,
            action=f"fact.{kind}",
            entity="parcel",
            entity_id=parcel["id"],
            detail={"fact_id": fact_id, "waybill": parcel["waybill"], **clean},
        )
    return fact_id


def confirm_loss(
    engine: Engine, *, waybill: str, actor: str, now: datetime, courier: str | None = None, note: str | None = None
) -> int:
    """The courier confirmed the loss: the parcel is final for the rules (its time-based flags resolve) and a
    `lost` flag opens. It is still polled, in case it turns up."""
    return record_fact(
        engine,
        waybill=waybill,
        kind=FactKind.loss_confirmed,
        actor=actor,
        now=now,
        courier=courier,
        data={"note": note},
    )


def buyer_not_received(
    engine: Engine,
    *,
    waybill: str,
    actor: str,
    now: datetime,
    courier: str | None = None,
    short: bool = False,
    signer: str | None = None,
    warehouse_weight_kg: Decimal | None = None,
    courier_weight_kg: Decimal | None = None,
    note: str | None = None,
) -> int:
    """The buyer says a delivered parcel never arrived (or arrived short): `delivered_disputed`."""
    data = {
        "short": short,
        "signer": signer,
        "warehouse_weight_kg": warehouse_weight_kg,
        "courier_weight_kg": courier_weight_kg,
        "note": note,
    }
    return record_fact(
        engine, waybill=waybill, kind=FactKind.not_received, actor=actor, now=now, courier=courier, data=data
    )


def return_agreed(
    engine: Engine,
    *,
    waybill: str,
    actor: str,
    now: datetime,
    refund_deadline: datetime,
    express: bool = False,
    agreed_at: datetime | None = None,
    courier: str | None = None,
    note: str | None = None,
) -> int:
    """A return was agreed on this parcel's order, with the platform's refund deadline and refund type
    (极速退款 = express ladder). Sets the parcel's return_agreed_at / refund_deadline / refund_express."""
    if refund_deadline.utcoffset() is None:
        raise TrackerError("the refund deadline needs a time zone", code="deadline_zone", field="refund_deadline")
    agreed = agreed_at or now
    data = {"refund_deadline": refund_deadline, "express": express, "agreed_at": agreed, "note": note}
    updates = {"return_agreed_at": agreed, "refund_deadline": refund_deadline, "refund_express": express}
    return record_fact(
        engine,
        waybill=waybill,
        kind=FactKind.return_agreed,
        actor=actor,
        now=now,
        courier=courier,
        data=data,
        parcel_updates=updates,
    )


def buyer_unreachable(
    engine: Engine, *, waybill: str, actor: str, now: datetime, courier: str | None = None, note: str | None = None
) -> int:
    """One failed attempt to reach the buyer about a return (counted by `return_abandoned`)."""
    return record_fact(
        engine,
        waybill=waybill,
        kind=FactKind.buyer_unreachable,
        actor=actor,
        now=now,
        courier=courier,
        data={"note": note},
    )


def return_short(
    engine: Engine,
    *,
    waybill: str,
    actor: str,
    now: datetime,
    items_claimed: int,
    items_received: int,
    courier: str | None = None,
    warehouse_weight_kg: Decimal | None = None,
    courier_weight_kg: Decimal | None = None,
    note: str | None = None,
) -> int:
    """Fewer items received than the return claims: `return_partial`."""
    if items_received >= items_claimed:
        raise TrackerError(
            f"{items_received} received is not fewer than {items_claimed} claimed: not a short return",
            code="not_short",
            field="items_received",
            received=items_received,
            claimed=items_claimed,
        )
    data = {
        "items_claimed": items_claimed,
        "items_received": items_received,
        "note": note,
        "warehouse_weight_kg": warehouse_weight_kg,
        "courier_weight_kg": courier_weight_kg,
    }
    return record_fact(
        engine, waybill=waybill, kind=FactKind.return_short, actor=actor, now=now, courier=courier, data=data
    )


def waybill_invalid(
    engine: Engine, *, waybill: str, actor: str, now: datetime, courier: str | None = None, note: str | None = None
) -> int:
    """The return waybill finds nothing at the courier or shows wrong logistics."""
    return record_fact(
        engine,
        waybill=waybill,
        kind=FactKind.waybill_invalid,
        actor=actor,
        now=now,
        courier=courier,
        data={"note": note},
    )


# --- issue 16 (docs/domain.md): buyer reached, who signed, return weight, the platform's timers -------------


def buyer_reached(
    engine: Engine, *, waybill: str, actor: str, now: datetime, courier: str | None = None, note: str | None = None
) -> int:
    """The buyer answered about the return: the unreachable attempts recorded before no longer count toward
    `return_abandoned` (002 "多次确认无法联系上顾客": the buyer was reachable after all)."""
    return record_fact(
        engine, waybill=waybill, kind=FactKind.buyer_reached, actor=actor, now=now, courier=courier, data={"note": note}
    )


def signed_by_other(
    engine: Engine,
    *,
    waybill: str,
    actor: str,
    now: datetime,
    consent: bool,
    signer: str | None = None,
    locker: bool = False,
    courier: str | None = None,
    note: str | None = None,
) -> int:
    """Someone other than the buyer (or a locker, a station) signed. Without the buyer's consent this opens
    `delivered_disputed` (000 §21 (3): the courier's liability); with it ("你帮我放在某某地方吧") it does not."""
    kind = FactKind.signed_with_consent if consent else FactKind.signed_without_consent
    data = {"signer": (signer or "").strip() or None, "locker": locker, "consent": consent, "note": note}
    return record_fact(engine, waybill=waybill, kind=kind, actor=actor, now=now, courier=courier, data=data)


def grams(kg: Decimal, what: str, field: str) -> int:
    """A weight in kg as whole grams (what the rules compare); `what` names it, `field` is its argument."""
    if kg < 0:
        raise TrackerError(f"expected {what} to be 0 kg or more, got {kg}", field=field)
    return int((kg * 1000).to_integral_value())


def return_weighed(
    engine: Engine,
    *,
    waybill: str,
    actor: str,
    now: datetime,
    shipped_kg: Decimal,
    returned_kg: Decimal,
    courier: str | None = None,
    note: str | None = None,
) -> int:
    """The return's weight (the courier's) against what the warehouse shipped (000 §22). Lighter by more than
    returns.short_weight_tolerance_grams: `return_partial`, with both weights as the evidence."""
    data = {
        "shipped_kg": shipped_kg,
        "returned_kg": returned_kg,
        "shipped_g": grams(shipped_kg, "the weight shipped", "shipped_kg"),
        "returned_g": grams(returned_kg, "the weight returned", "returned_kg"),
        "note": note,
    }
    return record_fact(
        engine, waybill=waybill, kind=FactKind.return_weighed, actor=actor, now=now, courier=courier, data=data
    )


def _platform_event(kind: FactKind) -> Any:
    def record(
        engine: Engine,
        *,
        waybill: str,
        actor: str,
        now: datetime,
        at: datetime | None = None,
        courier: str | None = None,
        note: str | None = None,
        tz: tzinfo = UTC,
    ) -> int:
        """`tz`: the clock a refusal names times on (the shop's, given by the CLI)."""
        when = at or now
        if when.utcoffset() is None:
            raise TrackerError("the time of the event needs a time zone", field="at")
        if when > now:
            later, current = local_times([when, now], tz)
            raise TrackerError(
                f"the event's time {later} is later than now ({current}, {tz})",
                field="at",
                code="event_after_now",
                at=when,
                now=now,
            )
        return record_fact(
            engine, waybill=waybill, kind=kind, actor=actor, now=now, courier=courier, data={"at": when, "note": note}
        )

    return record


# 交易成功 on the platform: the 未收到货 complaint window counts from it (tracker.rules.tmall_timers)
trade_succeeded = _platform_event(FactKind.trade_succeeded)
# the buyer opened a 未收到货 complaint: 72 h to negotiate
complaint_opened = _platform_event(FactKind.complaint_opened)
# the buyer changed the complaint's amount: in the last 24 h it moves the negotiation deadline
complaint_amount_changed = _platform_event(FactKind.complaint_amount_changed)
