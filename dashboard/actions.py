"""The board's actions: each calls the owning service with the logged-in user as the actor and the
action time; the services write the state change and its audit line in one transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from dashboard.context import Board
from tracker import clock
from tracker.errors import TrackerError
from tracker.flags import lifecycle


def _now() -> datetime:
    return clock.now()


def _allowed(b: Board, action: str) -> None:
    if not b.can(action):
        raise TrackerError(f"{b.user} ({b.role}) may not {action}", code="not_allowed", user=b.user)


def acknowledge(b: Board, flag_id: int, *, note: str | None = None) -> Any:
    _allowed(b, "flag.ack")
    return lifecycle.acknowledge(b.engine, flag_id=flag_id, actor=b.user, now=_now(), note=note)


def assign(b: Board, flag_id: int, *, to: str, note: str | None = None) -> Any:
    _allowed(b, "flag.assign")
    return lifecycle.assign(b.engine, flag_id=flag_id, to=to, actor=b.user, now=_now(), note=note)


def add_note(b: Board, flag_id: int, *, text: str) -> Any:
    _allowed(b, "flag.note")
    return lifecycle.add_note(b.engine, flag_id=flag_id, text=text, actor=b.user, now=_now())


def resolve(b: Board, flag_id: int, *, note: str | None = None) -> Any:
    _allowed(b, "flag.resolve")
    return lifecycle.resolve(b.engine, flag_id=flag_id, actor=b.user, now=_now(), note=note)


def _tables(b: Board) -> Any:
    from claims.tables import tables_of

    return tables_of(b.settings)


def open_claims(b: Board, parcel_id: int) -> Any:
    from claims import service

    _allowed(b, "claim.open")
    return service.open_claims(b.engine, parcel_ids=[parcel_id], tables=_tables(b), actor=b.user, now=_now())


def file_claim(b: Board, claim_id: int, *, reference_no: str) -> Any:
    from claims import service

    _allowed(b, "claim.file")
    return service.file_claim(b.engine, claim_id=claim_id, reference_no=reference_no, actor=b.user, now=_now())


def record_payout(b: Board, claim_id: int, *, amount: Decimal, paid_on: date) -> Any:
    from claims import service

    _allowed(b, "claim.pay")
    paid_at = datetime.combine(paid_on, time(0), tzinfo=b.settings.tz).astimezone(UTC)
    return service.pay_claim(
        b.engine, claim_id=claim_id, amount=amount, paid_at=paid_at, actor=b.user, now=_now(), tz=b.settings.tz
    )


def reject(b: Board, claim_id: int, *, reason: str) -> Any:
    from claims import service

    _allowed(b, "claim.reject")
    return service.reject_claim(b.engine, claim_id=claim_id, reason=reason, actor=b.user, now=_now())


def withdraw(b: Board, claim_id: int, *, reason: str | None = None) -> Any:
    from claims import service

    _allowed(b, "claim.withdraw")
    return service.withdraw_claim(b.engine, claim_id=claim_id, note=reason or "", actor=b.user, now=_now())


def set_claim_inputs(b: Board, claim_id: int, **inputs: Decimal) -> Any:
    """Give an unfiled claim the inputs it lacks (claims.service.set_input); the claim as it is then."""
    from claims import service

    _allowed(b, "claim.set_input")
    return service.set_input(b.engine, claim_id=claim_id, tables=_tables(b), actor=b.user, now=_now(), **inputs)


def export_packets(b: Board, claim_ids: list[int]) -> bytes:
    from claims import export

    _allowed(b, "claim.export")
    return export.packets_xlsx(
        b.engine, claim_ids=claim_ids, tables=_tables(b), tz=b.settings.tz, couriers=b.settings.couriers, now=_now()
    )


# --- the parcel page (issue 15: one click to act) ------------------------------------------------------------


def _evaluated(b: Board, parcel_id: int, fact_id: int) -> int:
    """After a fact: the rules run over this one parcel at once, so its flags (a confirmed loss's `lost`,
    a dispute's `delivered_disputed`) are on the page now, not after the next evaluation."""
    from tracker.flags.evaluate import evaluate_all

    evaluate_all(b.engine, now=_now(), settings=b.settings, parcel_ids=[parcel_id])
    return fact_id


def record_fact(b: Board, parcel: dict[str, Any], record: Any, **data: Any) -> int:
    """Record one fact through `record` (a tracker.flags.facts service) on this parcel (its waybill and
    courier) as the logged-in user, then evaluate the parcel."""
    _allowed(b, "fact.record")
    fact_id = record(b.engine, waybill=parcel["waybill"], courier=parcel["courier"], actor=b.user, now=_now(), **data)
    return _evaluated(b, parcel["id"], fact_id)


def confirm_loss(b: Board, parcel: dict[str, Any], *, note: str | None = None) -> int:
    from tracker.flags import facts

    return record_fact(b, parcel, facts.confirm_loss, note=note or None)


def buyer_not_received(
    b: Board, parcel: dict[str, Any], *, short: bool = False, signer: str | None = None, note: str | None = None
) -> int:
    from tracker.flags import facts

    return record_fact(b, parcel, facts.buyer_not_received, short=short, signer=signer or None, note=note or None)


def return_agreed(
    b: Board, parcel: dict[str, Any], *, refund_deadline: datetime, express: bool, note: str | None = None
) -> int:
    from tracker.flags import facts

    return record_fact(
        b, parcel, facts.return_agreed, refund_deadline=refund_deadline, express=express, note=note or None
    )


def preview_claims(b: Board, parcel_id: int) -> list[dict[str, Any]]:
    """The claims opening would draft now, computed and not stored (amount and formula shown first)."""
    from claims import service

    return service.preview_claims(b.engine, parcel_id=parcel_id, tables=_tables(b), now=_now())
