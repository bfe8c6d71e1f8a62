"""Claim lifecycle (shell): propose drafts for flagged parcels, file, record payout, reject, withdraw.
Every change writes its audit line in the same transaction.

MINIMAL VERSION written by the board helper because claims/service.py did not exist at 08:50 UTC:
the claims helper's engine replaces the amount computation (`_amount`) and the type choice
(`CLAIM_TYPE_BY_KIND`); the signatures are what dashboard/actions.py calls."""

from __future__ import annotations

import calendar
import re
import tomllib
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tracker.errors import TrackerError
from tracker.settings import Settings
from tracker.status import ClaimState, FlagState
from tracker.storage.repo import record_audit
from tracker.storage.rows import ClaimRow, FlagRow, ParcelRow

CLAIM = ClaimRow.__table__
FLAG = FlagRow.__table__
PARCEL = ParcelRow.__table__

# which claim type a flag leads to (spec/claims.md "Claim types"); kinds not listed open no claim
CLAIM_TYPE_BY_KIND = {
    "lost": "goods_lost",
    "lost_suspected": "goods_lost",
    "damaged": "goods_lost",
    "late_shipment": "ship_delay",
    "refused": "freight",
    "returned": "freight",
}
TO_FILE = (str(ClaimState.draft), str(ClaimState.needs_config))


def _table(settings: Settings) -> dict[str, Any]:
    with (Path(settings.config_dir) / "claims" / "courier_claims.toml").open("rb") as fh:
        return tomllib.load(fh)


def _shift(anchor: datetime, span: str) -> datetime:
    m = re.fullmatch(r"(\d+)([dmy])", span)
    if not m:
        raise TrackerError(f"claims/courier_claims.toml: expected a span like 7d, 6m, 1y, got {span!r}")
    n, unit = int(m.group(1)), m.group(2)
    if unit == "d":
        return anchor + timedelta(days=n)
    months = anchor.month - 1 + (n if unit == "m" else 12 * n)
    year, month = anchor.year + months // 12, months % 12 + 1
    return anchor.replace(year=year, month=month, day=min(anchor.day, calendar.monthrange(year, month)[1]))


def _amount(parcel: dict[str, Any], terms: list[dict[str, Any]]) -> tuple[Decimal | None, str, list[str]]:
    total, parts, missing = Decimal("0"), [], []
    for term in terms:
        kind = term["kind"]
        if kind in ("value", "percent"):
            value = parcel.get(term["base"]) if term["base"] in parcel else None
            if value is None:
                missing.append(term["base"])
                continue
            if kind == "percent":
                part = min(value * Decimal(term["percent"]) / 100, Decimal(term.get("cap", "Infinity")))
                parts.append(f"{term['base']} {value} × {term['percent']}% (cap {term.get('cap', '-')}) = {part:.2f}")
            else:
                part = value
                parts.append(f"{term['base']} {value:.2f}")
            total += part
        elif kind in ("forward_freight", "reverse_freight"):
            column = "forward_freight" if kind == "forward_freight" else "return_freight"
            if parcel.get(column) is None:
                missing.append(column)
                continue
            total += parcel[column]
            parts.append(f"{column} {parcel[column]:.2f}")
        else:
            missing.append(kind)
    amount = None if missing else total.quantize(Decimal("0.01"))
    return amount, " + ".join(parts), missing


def _insert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(CLAIM)


def open_claims(
    engine: Engine, *, parcel_ids: list[int], settings: Settings, actor: str, now: datetime
) -> list[dict[str, Any]]:
    """Draft one claim per parcel and claim type its unresolved flags lead to (an existing claim of that
    type is kept). Returns the new claims; a parcel with no claimable flag is an error naming it."""
    table = _table(settings)
    created: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for pid in parcel_ids:
            parcel = conn.execute(select(PARCEL).where(PARCEL.c.id == pid)).first()
            if parcel is None:
                raise TrackerError(f"parcel {pid}: no such parcel")
            p = dict(parcel._mapping)
            kinds = conn.execute(
                select(FLAG.c.kind).where(FLAG.c.parcel_id == pid, FLAG.c.state != str(FlagState.resolved))
            ).scalars()
            types = sorted({CLAIM_TYPE_BY_KIND[k] for k in kinds if k in CLAIM_TYPE_BY_KIND})
            if not types:
                raise TrackerError(f"{p['waybill']}: no unresolved flag that leads to a claim")
            for claim_type in types:
                spec = table["types"][claim_type]
                anchor = (p["issued_at"] if spec["anchor"] == "order_issued" else p["order_created_at"]) or (
                    p["order_created_at"] or p["issued_at"] or p["shipped_at"] or p["created_at"]
                )
                amount, formula, missing = _amount(p, spec["scenarios"]["default"]["terms"])
                row = dict(
                    parcel_id=pid, courier=p["courier"], claim_type=claim_type, scenario="default",
                    state=str(ClaimState.draft if amount is not None else ClaimState.needs_config), amount=amount,
                    currency=table.get("currency", "CNY"), formula=formula, missing=", ".join(missing) or None,
                    table_version=table["version"], filing_opens_at=_shift(anchor, spec["filing_start"]),
                    filing_closes_at=_shift(anchor, spec["window"]), created_at=now, updated_at=now,
                )  # fmt: skip
                result = conn.execute(
                    _insert(conn).values(**row).on_conflict_do_nothing(index_elements=["parcel_id", "claim_type"])
                )
                if result.rowcount:
                    claim_id = conn.execute(
                        select(CLAIM.c.id).where(CLAIM.c.parcel_id == pid, CLAIM.c.claim_type == claim_type)
                    ).scalar_one()
                    record_audit(conn, at=now, actor=actor, action="claim.propose", entity="claim",
                                 entity_id=claim_id, detail={"type": claim_type, "amount": str(amount)})  # fmt: skip
                    created.append({**row, "id": claim_id})
    return created


def _change(
    engine: Engine, claim_id: int, *, allowed: tuple[str, ...], actor: str, now: datetime, action: str,
    values: dict[str, Any], detail: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    if not actor.strip():
        raise TrackerError("the name of the person making the change is required")
    with engine.begin() as conn:
        row = conn.execute(select(CLAIM).where(CLAIM.c.id == claim_id)).first()
        if row is None:
            raise TrackerError(f"claim {claim_id}: no such claim")
        if row.state not in allowed:
            raise TrackerError(f"claim {claim_id}: is {row.state}; {action} needs {' or '.join(allowed)}")
        conn.execute(update(CLAIM).where(CLAIM.c.id == claim_id).values(**values, updated_at=now))
        record_audit(conn, at=now, actor=actor, action=f"claim.{action}", entity="claim", entity_id=claim_id,
                     detail={"from_state": row.state, **detail})  # fmt: skip
        return dict(conn.execute(select(CLAIM).where(CLAIM.c.id == claim_id)).one()._mapping)


def file_claim(engine: Engine, *, claim_id: int, reference_no: str, actor: str, now: datetime) -> dict[str, Any]:
    """Filed with the courier under its reference number (a draft with a known amount only)."""
    if not reference_no.strip():
        raise TrackerError("reference number: required to file a claim")
    return _change(
        engine, claim_id, allowed=(str(ClaimState.draft),), actor=actor, now=now, action="file",
        values={"state": str(ClaimState.filed), "reference_no": reference_no.strip(), "filed_at": now},
        detail={"reference_no": reference_no.strip()},
    )  # fmt: skip


def record_payout(
    engine: Engine, *, claim_id: int, amount: Decimal, paid_on: date, tz: ZoneInfo, actor: str, now: datetime
) -> dict[str, Any]:
    """The courier paid `amount` on `paid_on` (a local date): state paid."""
    if amount < 0:
        raise TrackerError(f"payout amount: expected 0 or more, got {amount}")
    paid_at = datetime.combine(paid_on, time(), tzinfo=tz)
    return _change(
        engine, claim_id, allowed=(str(ClaimState.filed),), actor=actor, now=now, action="pay",
        values={"state": str(ClaimState.paid), "paid_amount": amount.quantize(Decimal("0.01")), "paid_at": paid_at},
        detail={"amount": str(amount), "paid_on": paid_on.isoformat()},
    )  # fmt: skip


def reject_claim(engine: Engine, *, claim_id: int, reason: str, actor: str, now: datetime) -> dict[str, Any]:
    """The courier refused a filed claim, for `reason`."""
    if not reason.strip():
        raise TrackerError("reason: required to record a rejection")
    return _change(
        engine, claim_id, allowed=(str(ClaimState.filed),), actor=actor, now=now, action="reject",
        values={"state": str(ClaimState.rejected), "reject_reason": reason.strip()}, detail={"reason": reason},
    )  # fmt: skip


def withdraw_claim(
    engine: Engine, *, claim_id: int, reason: str | None = None, actor: str, now: datetime
) -> dict[str, Any]:
    """The shop drops a claim not decided yet."""
    return _change(
        engine, claim_id, allowed=(*TO_FILE, str(ClaimState.filed)), actor=actor, now=now, action="withdraw",
        values={"state": str(ClaimState.withdrawn)}, detail={"reason": reason},
    )  # fmt: skip
