"""The claim ledger (shell): proposals from open flags, the lifecycle, expiry; every transition audited.

Lifecycle: draft | needs_config -> filed (reference, date) -> paid (amount, date) | rejected (reason);
draft | needs_config | filed -> withdrawn; draft | needs_config -> expired when the filing window closed
unfiled (automatic); expired -> filed when the filing it records was made inside the window. Functions are
keyword-only with the engine, the actor and `now` passed in, so the CLI and the board call the same ones.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, and_, case, func, null, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from claims.claimable import UNFILED_STATES
from claims.engine import (
    FREIGHT_INSURANCE,
    ClaimInputs,
    Compensation,
    compute_compensation,
    compute_insurance,
    filing_window,
    insurance_scenario,
)
from claims.formula import NAMES, TEMPLATES, dumps, loads, missing_words, part
from claims.money import state_at
from claims.proposals import (
    LASTING_CLAIMS,
    OPENED_LATER_KINDS,
    PROPOSAL_KINDS,
    decide,
    insured_return,
)
from claims.tables import ClaimTables, CourierTable
from tracker import labels
from tracker.errors import TrackerError
from tracker.flags.history import RULES_ACTOR
from tracker.notes import check_note
from tracker.sheets import local_time, local_times
from tracker.status import ClaimState, Direction, FlagKind, FlagState, TrackingStatus
from tracker.storage.repo import MONEY_FIELDS, record_audit
from tracker.storage.tables import CLAIM, EVENT, FLAG, PARCEL, width
from tracker.values import MAX_MONEY

# the parcel is on its way back to the sender, or back: a bare 运费 counts the return leg (claims/engine.py)
CAME_BACK = frozenset({str(TrackingStatus.returned), str(TrackingStatus.returning), str(TrackingStatus.refused)})
log = logging.getLogger(__name__)
OPEN_STATES = UNFILED_STATES  # claims not filed yet: their filing window matters
# state -> states it may move to by a person's action
TRANSITIONS: dict[str, tuple[str, ...]] = {
    ClaimState.draft: (ClaimState.filed, ClaimState.withdrawn),
    ClaimState.needs_config: (ClaimState.filed, ClaimState.withdrawn),
    ClaimState.filed: (ClaimState.paid, ClaimState.rejected, ClaimState.withdrawn),
    # a claim filed with the courier inside its window but entered after `propose` expired it: the filing date
    # decides (file_claim refuses a date after the window closed)
    ClaimState.expired: (ClaimState.filed,),
}


@dataclass
class ProposeSummary:
    proposed: Counter[str] = field(default_factory=Counter)
    needs_config: int = 0
    expired: int = 0
    windows_set: int = 0  # drafted with no filing window, given one now (fill_windows)
    inputs_filled: int = 0  # drafted lacking an input their parcel holds now, complete now (fill_inputs)
    skipped: list[str] = field(default_factory=list)  # why a flag proposed nothing


def inputs_for(parcel: dict[str, Any], **extra: Any) -> ClaimInputs:
    """Formula inputs from a parcel row (plus what a person adds: a fixed amount, a loss value, a supplier value
    for this claim only, over the parcel's)."""
    extra = {"supplier_value": parcel.get("supplier_value"), **extra}
    return ClaimInputs(
        courier=parcel["courier"],
        goods_value=parcel["goods_value"],
        forward_freight=parcel["forward_freight"],
        reverse_freight=parcel["return_freight"],
        came_back=parcel["status"] in CAME_BACK,
        order_created_at=document_created(parcel),
        order_issued_at=parcel["issued_at"],
        currency=parcel["currency"],
        **extra,
    )


def document_created(parcel: dict[str, Any]) -> datetime | None:
    """When the claim's document (单据) was made, the anchor of the windows counted from 订单产生: a shipment's
    order (订单创建时间, else its payment); a buyer's return's own document, the 退货入库单 (退货延迟: 投诉时效
    订单产生之后的14天), made when the return was agreed, else when it was recorded here, not the buyer's original
    order (a return received 19 days after the order was born expired)."""
    if parcel.get("direction") == str(Direction.ret):
        return parcel.get("return_agreed_at") or parcel.get("created_at")
    return parcel["order_created_at"] or parcel["paid_at"]


def compensation_for(
    parcel: dict[str, Any],
    claim_type: str,
    scenario: str,
    tables: ClaimTables,
    *,
    version: str | None = None,
    **extra: Any,
) -> Compensation:
    if claim_type == FREIGHT_INSURANCE:
        if version and version != tables.insurance.version:
            raise ValueError(
                f"freight-insurance table version {version!r} is no longer in config/claims "
                f"(have {tables.insurance.version})"
            )
        scenario = insurance_scenario(scenario)  # a wrong scenario is the caller's error, not a missing input
        category = parcel["category"] or ""
        parcel = in_currency(parcel, paid_in(parcel, claim_type, version, tables))
        try:
            return compute_insurance(inputs_for(parcel, **extra), category, scenario, tables)
        except ValueError as exc:
            line = part("insurance_no_category", category=category, error=str(exc))
            return Compensation(
                FREIGHT_INSURANCE, scenario, None, "CNY", (line,), ("category",), table_version=tables.insurance.version
            )
    parcel = in_currency(parcel, paid_in(parcel, claim_type, version, tables))
    return compute_compensation(inputs_for(parcel, **extra), claim_type, scenario, tables, version=version)


def paid_in(parcel: dict[str, Any], claim_type: str, version: str | None, tables: ClaimTables) -> str:
    """The currency a claim of this type on the parcel is paid in: its table's (the version it keeps, else the one
    in effect at its anchor)."""
    if claim_type == FREIGHT_INSURANCE:
        return tables.insurance.currency
    return _table_of(parcel, version, tables).currency


def _table_of(parcel: dict[str, Any], version: str | None, tables: ClaimTables) -> CourierTable:
    """The courier claim table compute_compensation picks for the parcel: `version`, else the one in effect at its
    anchor (the order's release, else its document's creation)."""
    inputs = inputs_for(parcel)
    return tables.table_for(version, inputs.order_issued_at or inputs.order_created_at)


def in_currency(parcel: dict[str, Any], currency: str) -> dict[str, Any]:
    """The parcel as a claim paid in `currency` reads it: amounts in another currency (a Tmall Global export's HKD)
    are no inputs, so the claim lacks them (缺参数) until a person gives them in `currency` (claims set-input, the
    ledger's form); they were claimed as if they were CNY."""
    if (parcel.get("currency") or currency) == currency:
        return parcel
    return {**parcel, **dict.fromkeys(MONEY_FIELDS)}


def _row(parcel: dict[str, Any], comp: Compensation, now: datetime) -> dict[str, Any]:
    return {
        "parcel_id": parcel["id"],
        "courier": parcel["courier"],
        "claim_type": comp.claim_type,
        "scenario": comp.scenario,
        "state": ClaimState.needs_config if comp.missing else ClaimState.draft,
        "amount": comp.amount,
        "currency": comp.currency,
        "formula": dumps(comp.parts),  # shown in each reader's language (claims/formula.py show)
        "missing": ", ".join(comp.missing) or None,
        "table_version": comp.table_version,
        "filing_opens_at": comp.filing_opens,
        "filing_closes_at": comp.filing_closes,
        "created_at": now,
        "updated_at": now,
    }


def _insert_new(engine: Engine, rows: list[dict[str, Any]], *, actor: str, now: datetime) -> list[int]:
    """Insert claims that do not exist yet (one per parcel and type); audit each new one."""
    if not rows:
        return []
    created = []
    with engine.begin() as conn:
        make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        for row in rows:
            stmt = make(CLAIM).values(**row).on_conflict_do_nothing(index_elements=["parcel_id", "claim_type"])
            result = conn.execute(stmt.returning(CLAIM.c.id))
            claim_id = result.scalar_one_or_none()
            if claim_id is None:
                continue
            created.append(claim_id)
            record_audit(conn, at=now, actor=actor, action=DRAFTED, entity="claim", entity_id=claim_id,
                         detail={"type": row["claim_type"], "scenario": row["scenario"], "state": str(row["state"]),
                                 "amount": None if row["amount"] is None else str(row["amount"]),
                                 "formula": row["formula"]})  # fmt: skip
    return created


def propose(engine: Engine, *, tables: ClaimTables, now: datetime, actor: str = "claims") -> ProposeSummary:
    """Draft the claims that open flags call for (one per parcel and type), after giving a window to the
    drafts whose parcel has its order time now and expiring the overdue ones."""
    windows_set = fill_windows(engine, tables=tables, now=now, actor=actor)
    filled = fill_inputs(engine, tables=tables, now=now, actor=actor)
    summary = ProposeSummary(
        expired=expire_due(engine, now=now, actor=actor), windows_set=windows_set, inputs_filled=filled
    )
    with engine.connect() as conn:
        found = conn.execute(
            select(FLAG.c.kind, FLAG.c.parcel_id, (FLAG.c.state == FlagState.resolved).label("gone"), PARCEL)
            .add_columns(_refused_at().label("refused_at"))
            .join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)
            .where(FLAG.c.kind.in_(PROPOSAL_KINDS), or_(FLAG.c.state != FlagState.resolved, _lasting()))
            .order_by(FLAG.c.id)  # the oldest flag first: which parcel of an order carries its insurance claim
        ).all()
        returns = _insured_returns(conn)
        insured = _insurance_claimed(conn)
    rows = []
    flagged = [(r.kind, dict(r._mapping)) for r in found]
    for parcel, decided in [
        *((parcel, decide(kind, parcel, tables)) for kind, parcel in flagged if _still_owed(kind, parcel)),
        *((parcel, (FREIGHT_INSURANCE, "return")) for parcel in returns),
    ]:
        if isinstance(decided, str):
            if not parcel.get("gone"):  # a past event that proposes nothing is not news each day
                summary.skipped.append(f"{parcel['waybill']}: {decided}")
            continue
        if decided[0] == FREIGHT_INSURANCE:  # 大运险 pays once per order (seed 002: 按订单; 一个订单只能理赔一次)
            order = parcel["order_id"] or f"#{parcel['id']}"
            first = insured.setdefault(order, parcel["waybill"])
            if first != parcel["waybill"]:
                summary.skipped.append(f"{parcel['waybill']}: freight insurance is claimed once per order ({first})")
                continue
        rows.append(_row(parcel, compensation_for(parcel, *decided, tables), now))
    created = set(_insert_new(engine, rows, actor=actor, now=now))
    summary.skipped += _other_scenarios(engine, rows)
    with engine.connect() as conn:
        for _claim_id, claim_type, state in conn.execute(
            select(CLAIM.c.id, CLAIM.c.claim_type, CLAIM.c.state).where(CLAIM.c.id.in_(created))
        ):
            summary.proposed[claim_type] += 1
            summary.needs_config += state == ClaimState.needs_config
    return summary


def _other_scenarios(engine: Engine, rows: list[dict[str, Any]]) -> list[str]:
    """The proposed claims a parcel already has under another scenario (one claim per parcel and type: a damaged
    parcel's 配件破损 claim, then the courier confirms it lost): named, since the second is not drafted."""
    if not rows:
        return []
    wanted = {(row["parcel_id"], row["claim_type"]): row["scenario"] for row in rows}
    keys = list(wanted)
    said = []
    with engine.connect() as conn:
        stored = [
            found
            for start in range(0, len(keys), 500)  # in batches: two parameters a claim
            for found in conn.execute(
                select(CLAIM.c.id, CLAIM.c.parcel_id, CLAIM.c.claim_type, CLAIM.c.scenario, CLAIM.c.state)
                .add_columns(PARCEL.c.waybill)
                .join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)
                .where(
                    tuple_(CLAIM.c.parcel_id, CLAIM.c.claim_type).in_(keys[start : start + 500]),
                    CLAIM.c.state != str(ClaimState.withdrawn),  # a person withdrew it: their decision stands
                )
            )
        ]
        for claim_id, parcel_id, claim_type, scenario, state, waybill in stored:
            if scenario != wanted[(parcel_id, claim_type)]:  # in words, as the other lines of the run
                kind, was = labels.claim_type_label(claim_type, "en"), labels.scenario_label(scenario, "en")
                other = labels.scenario_label(wanted[(parcel_id, claim_type)], "en")
                said.append(
                    f"{waybill}: {kind} is already claimed as {was} (claim #{claim_id}, "
                    f"{labels.state_label(state, 'en')}); {other} is not drafted (a parcel has one claim of a type: "
                    "withdraw it, then open the claim again)"
                )
    return said


def _lasting() -> Any:
    """A flag of a lasting kind (claims.proposals.LASTING_CLAIMS) that the rules resolved, on a parcel with no
    claim of the types it proposes: what happened still proposes its claim once the parcel moved on. A person's
    resolution stands."""

    def unclaimed(types: tuple[str, ...]) -> Any:
        return ~select(CLAIM.c.id).where(CLAIM.c.parcel_id == FLAG.c.parcel_id, CLAIM.c.claim_type.in_(types)).exists()

    kinds = [and_(FLAG.c.kind == kind, unclaimed(types)) for kind, types in LASTING_CLAIMS.items()]
    return and_(FLAG.c.resolved_by == RULES_ACTOR, or_(*kinds))


def _still_owed(kind: str, parcel: dict[str, Any]) -> bool:
    """A flag the rules resolved proposes only while what it says still holds: a refusal while the goods go
    back (CAME_BACK; seed 002 运费: "导致用户拒签货物退回"; delivered after all, nothing came back)."""
    return not parcel["gone"] or kind != FlagKind.refused or parcel["status"] in CAME_BACK


def _refused_at() -> Any:
    """When the parcel was first refused: its first refused event (tracking_event's key leads with parcel_id);
    none when a person resolved its refusal flag (their word stands: no claim is read from the history)."""
    refusal = FLAG.alias("refusal")
    settled = (
        select(refusal.c.id)
        .where(
            refusal.c.parcel_id == PARCEL.c.id,
            refusal.c.kind == str(FlagKind.refused),
            refusal.c.state == FlagState.resolved,
            refusal.c.resolved_by != RULES_ACTOR,
        )
        .exists()
    )
    first = (
        select(func.min(EVENT.c.event_time))
        .where(EVENT.c.parcel_id == PARCEL.c.id, EVENT.c.status == str(TrackingStatus.refused))
        .scalar_subquery()
    )
    return case((settled, null()), else_=first)


def _insurance_claimed(conn: Connection) -> dict[str, str]:
    """Order (or "#parcel id" for a parcel without one) -> the waybill its freight-insurance claim is on (a
    withdrawn one too: a person withdrew the order's claim, propose does not draft it again elsewhere)."""
    rows = conn.execute(
        select(PARCEL.c.order_id, PARCEL.c.id, PARCEL.c.waybill)
        .join(CLAIM, CLAIM.c.parcel_id == PARCEL.c.id)
        .where(CLAIM.c.claim_type == FREIGHT_INSURANCE)
    )
    return {order or f"#{pid}": waybill for order, pid, waybill in rows}


def _insured_returns(conn: Connection) -> list[dict[str, Any]]:
    """The parcels that carry a freight-insurance return claim not drafted yet: one per buyer's return delivered
    back to the shop whose order is insured (claims.proposals.insured_return). Read: only the delivered returns
    whose order is insured and has no such claim, so the work does not grow with the returns of the past."""
    ret, order = PARCEL, PARCEL.alias("order_parcel")
    of_order = and_(order.c.order_id == ret.c.order_id, order.c.direction != str(Direction.ret))
    insured = select(order.c.id).where(of_order, order.c.freight_insured.is_(True)).exists()
    claimed = (
        select(CLAIM.c.id)
        .join(order, order.c.id == CLAIM.c.parcel_id)
        .where(CLAIM.c.claim_type == FREIGHT_INSURANCE, or_(order.c.id == ret.c.id, of_order))
        .exists()
    )
    delivered = select(ret).where(
        ret.c.direction == str(Direction.ret),
        ret.c.status == str(TrackingStatus.delivered),
        or_(ret.c.freight_insured.is_(True), insured),
        ~claimed,
    )
    rets = [dict(row._mapping) for row in conn.execute(delivered)]
    orders = {r["order_id"] for r in rets if r["order_id"]}
    by_order: dict[str, list[dict[str, Any]]] = {}
    if orders:
        others = select(PARCEL).where(PARCEL.c.order_id.in_(orders), PARCEL.c.direction != str(Direction.ret))
        for row in conn.execute(others):
            by_order.setdefault(row.order_id, []).append(dict(row._mapping))
    chosen = (insured_return(r, by_order.get(r["order_id"], []) if r["order_id"] else []) for r in rets)
    return [parcel for parcel in chosen if parcel is not None]  # an order's second return: propose keeps one


def open_claim(
    engine: Engine,
    *,
    parcel_id: int,
    claim_type: str,
    scenario: str,
    tables: ClaimTables,
    actor: str,
    now: datetime,
    **extra: Any,
) -> int:
    """A person opens a claim of their choosing for a parcel; returns its id (an existing one is an error)."""
    parcel = _parcel(engine, parcel_id)
    if claim_type == FREIGHT_INSURANCE and (holder := _insurance_holder(engine, parcel)):
        raise _second_insurance(parcel, holder)
    _require_fit(parcel, claim_type, tables)
    try:
        comp = compensation_for(parcel, claim_type, scenario, tables, **extra)
    except ValueError as exc:
        raise TrackerError(
            f"waybill {parcel['waybill']}: {exc}", code="claim_type", waybill=parcel["waybill"]
        ) from None
    row = _row(parcel, comp, now)
    created = _insert_new(engine, [row], actor=actor, now=now)
    if not created and (again := _reopen_withdrawn(engine, row, actor=actor, now=now)) is not None:
        return again
    if not created:
        raise TrackerError(
            f"waybill {parcel['waybill']} already has a {claim_type} claim",
            code="claim_exists",
            waybill=parcel["waybill"],
            claim_type=claim_type,
        )
    return created[0]


def _reopen_withdrawn(engine: Engine, row: dict[str, Any], *, actor: str, now: datetime) -> int | None:
    """The parcel's claim of the row's type when a person withdrew it, drafted again as `row` says (its scenario,
    amount and window computed now; filing, payout and rejection cleared), with its audit line; None when the
    claim is not withdrawn. A parcel holds one claim of a type: a claim withdrawn for a wrong scenario (a damage
    claimed as 配件破损, the parcel then confirmed lost) is how it is mended (it was refused as claim_exists)."""
    fresh = {k: v for k, v in row.items() if k not in ("parcel_id", "claim_type", "created_at")}
    cleared = {"reference_no": None, "filed_at": None, "paid_amount": None, "paid_at": None, "reject_reason": None}
    with engine.begin() as conn:
        claim_id = conn.execute(
            CLAIM.update()
            .where(
                CLAIM.c.parcel_id == row["parcel_id"],
                CLAIM.c.claim_type == row["claim_type"],
                CLAIM.c.state == str(ClaimState.withdrawn),
            )
            .values(**fresh, **cleared)
            .returning(CLAIM.c.id)
        ).scalar_one_or_none()
        if claim_id is None:
            return None
        record_audit(conn, at=now, actor=actor, action=DRAFTED, entity="claim", entity_id=claim_id,
                     detail={"type": row["claim_type"], "scenario": row["scenario"], "state": str(row["state"]),
                             "from_state": str(ClaimState.withdrawn),
                             "amount": None if row["amount"] is None else str(row["amount"]),
                             "formula": row["formula"]})  # fmt: skip
    return int(claim_id)


def _require_fit(parcel: dict[str, Any], claim_type: str, tables: ClaimTables) -> None:
    """A claim type whose documents are the other direction's is refused (退货延迟 on a shipment, 发货延迟 on a
    buyer's return: claims.tables.ClaimType.fits), naming the documents it is filed against."""
    kind = _table_of(parcel, None, tables).types.get(claim_type)
    direction = str(parcel["direction"])
    if kind is None or kind.fits(direction):
        return  # an unknown type is compute_compensation's error, in its words
    documents = "、".join(kind.documents)
    what = "a buyer's return" if direction == str(Direction.ret) else "a shipment"
    raise TrackerError(
        f"waybill {parcel['waybill']} is {what}: {claim_type} ({kind.name_zh}) is filed against {documents}",
        code="claim_direction",
        waybill=parcel["waybill"],
        claim_type=claim_type,
        documents=documents,
        direction=direction,
    )


def _insurance_holder(engine: Engine, parcel: dict[str, Any]) -> str | None:
    """The other waybill of the parcel's order that holds its freight-insurance claim, if any (大运险 pays
    once per order, as propose keeps it). A claim a person withdrew holds nothing: opening the order's claim
    on its right waybill by hand is how a claim on the wrong one is mended. One order read, not every claim."""
    same = PARCEL.c.order_id == parcel["order_id"] if parcel["order_id"] else PARCEL.c.id == parcel["id"]
    with engine.connect() as conn:
        holders = conn.execute(
            select(PARCEL.c.waybill)
            .join(CLAIM, CLAIM.c.parcel_id == PARCEL.c.id)
            .where(
                same,
                PARCEL.c.waybill != parcel["waybill"],
                CLAIM.c.claim_type == FREIGHT_INSURANCE,
                CLAIM.c.state != ClaimState.withdrawn,
            )
            .order_by(CLAIM.c.id)
        ).scalars()
        return next(iter(holders), None)


def _second_insurance(parcel: dict[str, Any], holder: str) -> TrackerError:
    return TrackerError(
        f"waybill {parcel['waybill']}: freight insurance is claimed once per order, and this order's claim "
        f"is on waybill {holder}",
        code="insurance_claimed",
        waybill=parcel["waybill"],
        holder=holder,
    )


def open_claims(
    engine: Engine, *, parcel_ids: list[int], tables: ClaimTables, actor: str, now: datetime
) -> list[dict[str, Any]]:
    """Draft the claims the unresolved flags of these parcels call for (the same mapping as `propose`);
    an existing claim of a type is kept, one a person withdrew is drafted anew (_reopen_withdrawn). A parcel whose
    flags call for no claim is an error naming it."""
    created: list[int] = []
    for parcel_id in parcel_ids:
        parcel = _parcel(engine, parcel_id)
        wanted = _wanted(engine, parcel, tables)
        if not wanted:
            raise TrackerError(
                f"{parcel['waybill']}: no unresolved flag that leads to a claim",
                code="no_claim_flag",
                waybill=parcel["waybill"],
            )
        if any(t == FREIGHT_INSURANCE for t, _ in wanted) and (holder := _insurance_holder(engine, parcel)):
            wanted = [w for w in wanted if w[0] != FREIGHT_INSURANCE]
            if not wanted:
                raise _second_insurance(parcel, holder)
        rows = [
            _row(parcel, compensation_for(parcel, claim_type, scenario, tables), now) for claim_type, scenario in wanted
        ]
        created += _insert_new(engine, rows, actor=actor, now=now)
        # a type whose claim a person withdrew (a claim just drafted is no withdrawn one: nothing to do for it)
        again = (_reopen_withdrawn(engine, row, actor=actor, now=now) for row in rows)
        created += [i for i in again if i is not None]
    return [get_claim(engine, claim_id) for claim_id in created]


def _wanted(engine: Engine, parcel: dict[str, Any], tables: ClaimTables) -> list[tuple[str, str]]:
    """(claim type, scenario) pairs the parcel's flags call for when a person opens claims: the unresolved ones,
    and those of claims.proposals.OPENED_LATER_KINDS the rules resolved (a late shipment once shipped: the
    penalty comes later); one per type, the newest flag's."""
    gone = FLAG.c.state == FlagState.resolved
    later = and_(FLAG.c.kind.in_(OPENED_LATER_KINDS), FLAG.c.resolved_by == RULES_ACTOR)
    with engine.connect() as conn:
        flags = conn.execute(
            select(FLAG.c.kind, gone.label("gone"))
            .where(FLAG.c.parcel_id == parcel["id"], or_(~gone, later))
            .order_by(FLAG.c.opened_at, FLAG.c.id)
        ).all()
        refused_at = conn.execute(select(_refused_at()).select_from(PARCEL).where(PARCEL.c.id == parcel["id"]))
        parcel = {**parcel, "refused_at": refused_at.scalar()}
    seen = [(kind, {**parcel, "gone": was}) for kind, was in flags]
    decisions = [decide(kind, p, tables, by_person=True) for kind, p in seen if _still_owed(kind, p)]
    # one claim of a type: the newest flag's scenario (damaged, then confirmed lost: the loss, 按货款金额)
    newest = {d[0]: d for d in decisions if not isinstance(d, str)}
    return sorted(newest.values())


def preview_claims(engine: Engine, *, parcel_id: int, tables: ClaimTables, now: datetime) -> list[dict[str, Any]]:
    """The claims open_claims would draft for this parcel now (the types it has no claim of yet), computed
    but not stored: type, scenario, state, amount, formula, what is missing and the filing window. The
    board shows them before it asks to confirm."""
    parcel = _parcel(engine, parcel_id)
    with engine.connect() as conn:
        held = select(CLAIM.c.claim_type).where(  # a withdrawn claim opens again (_reopen_withdrawn)
            CLAIM.c.parcel_id == parcel_id, CLAIM.c.state != str(ClaimState.withdrawn)
        )
        have = set(conn.execute(held).scalars())
    wanted = _wanted(engine, parcel, tables)
    if any(t == FREIGHT_INSURANCE for t, _ in wanted) and _insurance_holder(engine, parcel):
        have.add(FREIGHT_INSURANCE)  # the order's 大运险 claim is on another waybill
    rows = [_row(parcel, compensation_for(parcel, t, s, tables), now) for t, s in wanted]
    return [r for r in rows if r["claim_type"] not in have]


def _parcel(engine: Engine, parcel_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(PARCEL).where(PARCEL.c.id == parcel_id)).first()
    if row is None:
        raise TrackerError(f"no parcel with id {parcel_id}", code="parcel_missing", parcel_id=parcel_id)
    return dict(row._mapping)


def get_claim(engine: Engine, claim_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            select(CLAIM, PARCEL.c.waybill, PARCEL.c.order_id)
            .join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)
            .where(CLAIM.c.id == claim_id)
        ).first()
    if row is None:
        raise TrackerError(f"no claim with id {claim_id}", code="claim_missing", claim_id=claim_id)
    return dict(row._mapping)


def _move(
    engine: Engine, claim_id: int, to: str, *, actor: str, now: datetime, values: dict[str, Any], detail: dict[str, Any]
) -> dict[str, Any]:
    claim = get_claim(engine, claim_id)
    allowed = TRANSITIONS.get(claim["state"], ())
    if to not in allowed:
        raise TrackerError(
            # the states in words (needs_config reads "missing inputs"); the board words it from the code
            f"claim {claim_id} is {labels.state_label(claim['state'], 'en').lower()}; "
            f"it cannot become {labels.state_label(to, 'en').lower()}"
            + (
                f" (it can become {', '.join(labels.state_label(s, 'en').lower() for s in allowed)})" if allowed else ""
            ),
            code="claim_transition",
            claim_id=claim_id,
            state=claim["state"],
            to=str(to),
        )
    with engine.begin() as conn:
        changed = conn.execute(
            CLAIM.update()
            .where(CLAIM.c.id == claim_id, CLAIM.c.state == claim["state"])
            .values(state=to, updated_at=now, **values)
        ).rowcount
        if changed != 1:
            raise TrackerError(
                f"claim {claim_id} changed meanwhile; try again", code="claim_changed", claim_id=claim_id
            )
        record_audit(
            conn,
            at=now,
            actor=actor,
            action=f"claim.{to}",
            entity="claim",
            entity_id=claim_id,
            detail={"from": claim["state"], **detail},
        )
    return get_claim(engine, claim_id)


def _require_amount(claim_id: int, claim: dict[str, Any], done: str) -> None:
    """A claim whose amount could not be computed (an input is missing) is neither filed nor paid."""
    if claim["amount"] is None:
        missing = claim.get("missing") or "an input of the claim table"
        raise TrackerError(
            f"claim {claim_id}: no amount yet (missing: {missing}), so it cannot be {done}",
            code="claim_no_amount",
            claim_id=claim_id,
            missing=missing,
            missing_zh=missing_words(claim.get("formula"), "zh") or "理赔表的参数",  # the board's Chinese words
            done=done,
        )


REFERENCE_CHARS = width(CLAIM.c.reference_no)  # 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # a line break or another control character


def file_claim(
    engine: Engine,
    *,
    claim_id: int,
    reference_no: str,
    actor: str,
    now: datetime,
    filed_at: datetime | None = None,
    filed_on: tuple[datetime, datetime] | None = None,
    tz: tzinfo = UTC,
) -> dict[str, Any]:
    """Record that the claim was filed with the courier (reference number, date) inside its window.

    filed_on: the filing day as its local [start, end) when only a date is known: the filing counts if
    the window is open at some moment of that day, and is recorded at the first such moment. `tz`: the zone
    the refusals name their times in (the shop's)."""
    reference_no = reference_no.strip()
    if not reference_no:
        raise TrackerError("a filed claim needs the courier's reference number", code="reference_required")
    if len(reference_no) > REFERENCE_CHARS or _CONTROL.search(reference_no):
        raise TrackerError(
            f"the courier's reference number is one line of at most {REFERENCE_CHARS} characters",
            code="reference_invalid",
            n=REFERENCE_CHARS,
        )
    claim = get_claim(engine, claim_id)
    _require_amount(claim_id, claim, "filed")
    at = filed_at or now
    if filed_on is not None:
        start, end = filed_on
        opens = claim["filing_opens_at"]
        at = opens if opens is not None and start < opens < end else start
    if at > now:
        raise TrackerError(
            f"claim {claim_id}: the filing date {_local(at, tz)} is after now; record a filing once it is made",
            code="filed_in_future",
            claim_id=claim_id,
            at=at,
        )
    if claim["filing_opens_at"] and at < claim["filing_opens_at"]:
        opens, filed = local_times([claim["filing_opens_at"], at], tz)  # to the second when a minute reads alike
        raise TrackerError(
            f"claim {claim_id}: filing opens {opens} ({tz}); the filing date {filed} is before it",
            code="filing_not_open",
            claim_id=claim_id,
            at=claim["filing_opens_at"],
        )
    if claim["filing_closes_at"] and at > claim["filing_closes_at"]:
        closed, filed = local_times([claim["filing_closes_at"], at], tz)
        raise TrackerError(
            f"claim {claim_id}: the filing window closed {closed} ({tz}); the filing date {filed} is after it",
            code="filing_closed",
            claim_id=claim_id,
            at=claim["filing_closes_at"],
        )
    return _move(
        engine,
        claim_id,
        ClaimState.filed,
        actor=actor,
        now=now,
        values={"reference_no": reference_no, "filed_at": at},
        detail={"reference_no": reference_no},
    )


def pay_claim(
    engine: Engine,
    *,
    claim_id: int,
    amount: Decimal,
    actor: str,
    now: datetime,
    paid_at: datetime | None = None,
    tz: tzinfo = UTC,
) -> dict[str, Any]:
    """Record the courier's payout; a payout that differs from the expected amount is kept and flagged. A payout
    dated before the claim was filed is refused (`tz`: the zone its message names the times in)."""
    if amount < 0:
        raise TrackerError(f"a payout is not negative, got {amount}", code="payout_negative", amount=amount)
    claim = get_claim(engine, claim_id)
    _require_amount(claim_id, claim, "paid")
    filed = claim["filed_at"]  # read back aware, as every time of a claim (file_claim compares them as they come)
    # money cannot come before the asking; a payout is dated by its day (the board's date picker, --date 2026-11-20
    # give the day's midnight), so the filing day itself is fine whatever the hour of the filing
    if paid_at is not None and paid_at > now:  # a payout is recorded once it came (the filing is, the same way)
        raise TrackerError(
            f"claim {claim_id}: the payout date {_local(paid_at, tz)} is after now; record a payout once it came",
            code="paid_in_future",
            field="date",
            claim_id=claim_id,
            at=paid_at,
        )
    if paid_at is not None and filed is not None and paid_at.astimezone(tz).date() < filed.astimezone(tz).date():
        raise TrackerError(
            f"the payout date {_local(paid_at, tz)} is before the claim was filed ({_local(filed, tz)})",
            code="payout_before_filing",
            field="date",
            paid=paid_at,
            filed=filed,
        )
    detail: dict[str, Any] = {
        "amount": str(amount),
        "expected": None if claim["amount"] is None else str(claim["amount"]),
        "differs": claim["amount"] is None or amount != claim["amount"],
    }
    return _move(
        engine,
        claim_id,
        ClaimState.paid,
        actor=actor,
        now=now,
        values={"paid_amount": amount, "paid_at": paid_at or now},
        detail=detail,
    )


def reject_claim(engine: Engine, *, claim_id: int, reason: str, actor: str, now: datetime) -> dict[str, Any]:
    if not reason.strip():
        raise TrackerError("a rejection needs the courier's reason", code="reason_required")
    check_note(reason, field="reason")
    return _move(
        engine,
        claim_id,
        ClaimState.rejected,
        actor=actor,
        now=now,
        values={"reject_reason": reason.strip()},
        detail={"reason": reason.strip()},
    )


def withdraw_claim(engine: Engine, *, claim_id: int, actor: str, now: datetime, note: str = "") -> dict[str, Any]:
    check_note(note)
    return _move(engine, claim_id, ClaimState.withdrawn, actor=actor, now=now, values={}, detail={"note": note})


def fill_windows(engine: Engine, *, tables: ClaimTables, now: datetime, actor: str = "claims") -> int:
    """Unfiled courier claims drafted with no filing window (their parcel had neither an order nor a release
    time) get one once their parcel has it (an order export imported since): the window the claim table
    version they were computed with gives, as at drafting, and their formula loses its "window unknown" line.
    A window already set is never moved. Returns how many; each gets an audit line."""
    claim = (CLAIM.c.id.label("claim_id"), CLAIM.c.claim_type, CLAIM.c.table_version, CLAIM.c.formula)
    query = (
        select(PARCEL, *claim)
        .join_from(CLAIM, PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)
        .where(
            CLAIM.c.state.in_(OPEN_STATES),
            CLAIM.c.filing_closes_at.is_(None),
            CLAIM.c.claim_type != FREIGHT_INSURANCE,  # 大运险 has no filing window
            or_(PARCEL.c.order_created_at.is_not(None), PARCEL.c.paid_at.is_not(None), PARCEL.c.issued_at.is_not(None)),
        )
    )
    count = 0
    with engine.begin() as conn:
        for row in conn.execute(query).all():
            claim_id, claim_type, version, formula = row.claim_id, row.claim_type, row.table_version, row.formula
            inputs = inputs_for(dict(row._mapping))  # the parcel's columns (the claim's have other names)
            try:  # the table the claim was computed with, as compute_compensation chose it
                table = tables.table_for(version, inputs.order_issued_at or inputs.order_created_at)
                opens, closes = filing_window(claim_type, table, inputs, tables.tz)
            except (KeyError, ValueError):  # a type or version no longer configured: left as it is
                continue
            if closes is None:
                continue
            changed = conn.execute(
                CLAIM.update()
                .where(CLAIM.c.id == claim_id, CLAIM.c.filing_closes_at.is_(None), CLAIM.c.state.in_(OPEN_STATES))
                .values(filing_opens_at=opens, filing_closes_at=closes, formula=_known_window(formula), updated_at=now)
            ).rowcount
            if changed != 1:  # filed, or given its window by another run, meanwhile
                continue
            _audit_window(conn, claim_id, opens, closes, tables=tables, actor=actor, now=now)
            count += 1
    return count


RECOMPUTED = "claim.recomputed"


def fill_inputs(engine: Engine, *, tables: ClaimTables, now: datetime, actor: str = "claims") -> int:
    """Claims drafted lacking an input (needs_config), their window still open, whose parcel holds more now (an
    export imported since with the goods' payment, a courier bill with the freight) are computed again, with the
    claim table version they were computed with and the inputs a person gave them (set_input); one complete now
    becomes a draft. A claim whose formula reads the same is not written. Each one written gets an audit line;
    returns how many became drafts."""
    claim = (
        CLAIM.c.id.label("claim_id"),
        CLAIM.c.claim_type,
        CLAIM.c.scenario,
        CLAIM.c.table_version,
        CLAIM.c.formula,
        CLAIM.c.filing_closes_at,
        CLAIM.c.updated_at.label("claim_updated_at"),
    )
    query = select(PARCEL, *claim).join_from(CLAIM, PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)
    open_window = or_(CLAIM.c.filing_closes_at.is_(None), CLAIM.c.filing_closes_at >= now)  # else it expires
    count = 0
    with engine.begin() as conn:
        rows = conn.execute(query.where(CLAIM.c.state == ClaimState.needs_config, open_window)).all()
        given = _inputs_given(conn, [row.claim_id for row in rows])
        for row in rows:
            inputs = given.get(row.claim_id, {})
            try:
                comp = _with_inputs(dict(row._mapping), row.claim_type, row.scenario, row.table_version, inputs, tables)
            except ValueError:  # a type or version no longer configured: left as it is
                continue
            formula = dumps(comp.parts)
            if formula == row.formula:
                continue
            if comp.amount is not None and comp.amount >= MAX_MONEY:  # inputs that cannot be right: said, kept
                log.warning("claim %s: its parcel's inputs make %s, a billion or more: not computed again",
                            row.claim_id, comp.amount)  # fmt: skip
                continue
            state = ClaimState.needs_config if comp.missing else ClaimState.draft
            window = _window_given(row.filing_closes_at, comp)
            changed = conn.execute(
                CLAIM.update()
                # as read: a person's set_input meanwhile is not overwritten (the next propose reads it)
                .where(
                    CLAIM.c.id == row.claim_id,
                    CLAIM.c.state == ClaimState.needs_config,
                    CLAIM.c.updated_at == row.claim_updated_at,
                    CLAIM.c.formula == row.formula,  # (a held clock gives a person's write the same time)
                )
                .values(
                    state=state,
                    amount=comp.amount,
                    formula=formula,
                    missing=", ".join(comp.missing) or None,
                    updated_at=now,
                    **window,
                )
            ).rowcount
            if changed != 1:  # filed or given its inputs meanwhile
                continue
            record_audit(conn, at=now, actor=actor, action=RECOMPUTED, entity="claim", entity_id=row.claim_id,
                         detail={"from": str(ClaimState.needs_config), "state": str(state),
                                 "amount": None if comp.amount is None else str(comp.amount),
                                 "table_version": row.table_version})  # fmt: skip
            count += state == ClaimState.draft
    return count


def _window_given(closes: datetime | None, comp: Compensation) -> dict[str, datetime | None]:
    """The window a claim drafted without one gets from its computation now (as fill_windows); a window set
    never moves: nothing to write."""
    if closes is None and comp.filing_closes is not None:
        return {"filing_opens_at": comp.filing_opens, "filing_closes_at": comp.filing_closes}
    return {}


def _with_inputs(
    parcel: dict[str, Any], claim_type: str, scenario: str, version: str, inputs: Mapping[str, str], tables: ClaimTables
) -> Compensation:
    """A claim computed again with its table `version` and the inputs a person gave it (set_input's names, as
    text): a parcel column given overrides the parcel's (for this claim only), the others are formula inputs."""
    # the parcel's amounts in another currency are none (in_currency); what the person gave is in the claim's
    parcel = {**in_currency(parcel, paid_in(parcel, claim_type, version, tables)), "currency": None}
    for name, column in PARCEL_INPUTS.items():
        if name in inputs:
            parcel[column] = Decimal(inputs[name])
    extra = {k: Decimal(inputs[k]) for k in EXTRA_INPUTS if k in inputs}
    return compensation_for(parcel, claim_type, scenario, tables, version=version, **extra)


def _inputs_given(conn: Connection, claim_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """What set_input gave each of these claims (from their audit lines, oldest first; later wins), since the
    claim was last drafted (a withdrawn claim drafted anew starts from its parcel: _reopen_withdrawn)."""
    from tracker.storage.repo import AUDIT

    merged: dict[int, dict[str, str]] = {}
    for start in range(0, len(claim_ids), 500):
        rows = conn.execute(
            select(AUDIT.c.entity_id, AUDIT.c.action, AUDIT.c.detail)
            .where(
                AUDIT.c.entity == "claim",
                AUDIT.c.entity_id.in_(claim_ids[start : start + 500]),
                AUDIT.c.action.in_([SET_INPUT, DRAFTED]),
            )
            .order_by(AUDIT.c.id)
        )
        for claim_id, action, detail in rows:
            if action == DRAFTED:
                merged.pop(claim_id, None)
            else:
                merged.setdefault(claim_id, {}).update((detail or {}).get("inputs", {}))
    return merged


def with_inputs_given(engine: Engine, claims: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The claims (rows with their parcel's columns) with the inputs a person gave each one (set_input) over the
    parcel's: what the claim was computed with, as its packet shows it beside the amount; `inputs_given` names the
    parcel columns a person's value stands in."""
    with engine.connect() as conn:
        given = _inputs_given(conn, [c["id"] for c in claims])
    shown = []
    for claim in claims:
        own = {PARCEL_INPUTS[name]: Decimal(value) for name, value in given.get(claim["id"], {}).items()
               if name in PARCEL_INPUTS and value is not None}  # fmt: skip
        shown.append({**claim, **own, "inputs_given": frozenset(own)})
    return shown


def _audit_window(
    conn: Connection,
    claim_id: int,
    opens: datetime | None,
    closes: datetime | None,
    *,
    tables: ClaimTables,
    actor: str,
    now: datetime,
) -> None:
    """The audit line of a window given to a claim drafted without one, its dates in the shop's zone."""
    detail = {"filing_opens_at": local_time(opens, tables.tz), "filing_closes_at": local_time(closes, tables.tz)}
    record_audit(
        conn, at=now, actor=actor, action="claim.window_set", entity="claim", entity_id=claim_id, detail=detail
    )


# how formulas stored as text (before they were stored as parts) ended when the window was unknown
_NO_WINDOW_TEXT = "; filing window unknown: no order time"


def _known_window(formula: str | None) -> str | None:
    """A stored formula without its "window unknown" line (parts; or the text older versions stored)."""
    parts = loads(formula)
    if parts is None:
        return None if formula is None else formula.replace(_NO_WINDOW_TEXT, "")
    return dumps(p for p in parts if p.get("k") != "no_window")


def expire_due(engine: Engine, *, now: datetime, actor: str = "claims") -> int:
    """Unfiled claims whose window has closed become expired (set-based); returns how many."""
    due = and_(CLAIM.c.state.in_(OPEN_STATES), CLAIM.c.filing_closes_at < now)
    # the claims found and changed by one statement: one filed meanwhile (by the board, a CLI) is not due any
    # more and stays filed
    expire = CLAIM.update().where(due).values(state=ClaimState.expired, updated_at=now).returning(CLAIM.c.id)
    with engine.begin() as conn:
        ids = sorted(r[0] for r in conn.execute(expire))
        if not ids:
            return 0
        for claim_id in ids:
            record_audit(
                conn,
                at=now,
                actor=actor,
                action="claim.expired",
                entity="claim",
                entity_id=claim_id,
                detail={"reason": "filing window closed unfiled"},
            )
    return len(ids)


def list_claims(
    engine: Engine,
    *,
    state: str | None = None,
    courier: str | None = None,
    ids: list[int] | None = None,
    closing_before: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Claims with their parcel's numbers. With `now`, each state as read then (claims.money.state_at: an
    unfiled claim whose window has closed is expired, as the totals and the board count it), also for `state`."""
    read_state = state_at(now)
    query = select(
        CLAIM,
        PARCEL.c.waybill,
        PARCEL.c.order_id,
        PARCEL.c.goods_value,
        PARCEL.c.supplier_value,
        PARCEL.c.forward_freight,
        PARCEL.c.return_freight,
        read_state.label("read_state"),
    ).join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)
    if state:
        query = query.where(read_state == state)
    if courier is not None:  # "": a claim of an order not shipped
        query = query.where(CLAIM.c.courier == courier)
    if ids:
        query = query.where(CLAIM.c.id.in_(ids))
    if closing_before:
        query = query.where(CLAIM.c.state.in_(OPEN_STATES), CLAIM.c.filing_closes_at <= closing_before)
    query = query.order_by(CLAIM.c.filing_closes_at.is_(None), CLAIM.c.filing_closes_at, CLAIM.c.id)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query.limit(limit).offset(offset))]
    for r in rows:
        r["state"] = r.pop("read_state")
    return rows


def _local(at: datetime, tz: tzinfo) -> str:
    """A time as a person reads it in a message: on the shop's clock (tracker.sheets.local_time), the zone named."""
    return f"{local_time(at, tz)} ({tz})"


def closing_soon(
    engine: Engine, *, tables: ClaimTables, now: datetime, days: int | None = None
) -> list[dict[str, Any]]:
    """Unfiled claims whose window closes within `days` (default: contracts.toml proposals.closing_soon_days)."""
    span = tables.contracts.proposals.closing_soon_days if days is None else days
    return [c for c in list_claims(engine, closing_before=now + timedelta(days=span)) if c["filing_closes_at"] >= now]


# The inputs `claims set-input` may give a claim: parcel columns (overridden for this claim only) and
# extra formula inputs (docs/domain.md "Claims to the end").
PARCEL_INPUTS = {
    "goods_value": "goods_value",
    "supplier_value": "supplier_value",
    "forward_freight": "forward_freight",
    "reverse_freight": "return_freight",
}
EXTRA_INPUTS = ("fixed_amount", "loss_value")
SET_INPUT = "claim.set_input"
DRAFTED = "claim.draft"
# an input a formula names as missing (claims/formula.py NAMES) -> the set_input name that gives it: a goods
# payment and freight insurance's order amount fall back to the goods value (claims/engine.py)
_GIVEN_AS = {
    "goods_value": "goods_value",
    "goods_payment": "goods_value",
    "order_amount": "goods_value",
    "supplier_value": "supplier_value",
    "loss_value": "loss_value",
    "forward_freight": "forward_freight",
    "reverse_freight": "reverse_freight",
}


def inputs_missing(stored_formula: str | None, missing: str | None = None) -> dict[str, str]:
    """What a claim lacks that set_input can give it, in the formula's order: set_input's name -> the name the
    claim's formula gives it (claims/formula.py NAMES: the goods value asked as 货款金额 or 订单金额 where the
    formula says so). The board's form asks for these. A formula stored as text (older claims) is read through
    its `missing` column, in English. A ratio the contract lacks or a freight-insurance category is
    configuration, not an input of one claim: not among them."""
    lacking: list[Any] = []
    parts = loads(stored_formula)
    if parts is None:  # text stored before the parts were: the missing column's English names
        english = {pair[0]: key for key, pair in NAMES.items()}
        for said in (missing or "").split(","):
            said = said.strip()
            if said == TEMPLATES["fixed_not_configured"][0]:
                lacking.append({"k": "fixed_not_configured"})
            elif said in english:
                lacking.append({"k": "input", "name": english[said]})
    for p in parts or ():
        if p["k"] == "incomplete":
            lacking += p.get("missing") or ()
        elif p["k"] == "insurance_no_amount":
            lacking.append(p)
    wanted: dict[str, str] = {}
    for m in lacking:
        if not isinstance(m, dict):
            continue
        if m.get("k") == "fixed_not_configured":
            wanted.setdefault("fixed_amount", "fixed_amount")
        elif m.get("k") == "insurance_no_amount":
            wanted.setdefault("goods_value", "order_amount")
        elif m.get("k") == "input" and m.get("name") in _GIVEN_AS:
            wanted.setdefault(_GIVEN_AS[m["name"]], m["name"])
    return wanted


def set_input(
    engine: Engine, *, claim_id: int, tables: ClaimTables, actor: str, now: datetime, **given: Decimal | None
) -> dict[str, Any]:
    """Give an unfiled claim the formula inputs it lacks (fixed amount, freights, goods value, supplier or loss
    value) and recompute it with the claim table version it was computed with: a needs_config claim whose
    inputs are now complete becomes a draft with an amount. Inputs given earlier are kept (audited)."""
    unknown = sorted(set(given) - set(PARCEL_INPUTS) - set(EXTRA_INPUTS))
    if unknown:
        raise TrackerError(f"claim {claim_id}: unknown input(s) {', '.join(unknown)}")
    values = {k: v for k, v in given.items() if v is not None}
    if not values:
        names = ", ".join(name.replace("_", " ") for name in (*PARCEL_INPUTS, *EXTRA_INPUTS))
        raise TrackerError(f"claim {claim_id}: give at least one input ({names})")
    for name, value in values.items():
        if value < 0:
            raise TrackerError(
                f"expected the {name.replace('_', ' ')} to be 0 or more, got {value}",
                field=name,
                code="input_negative",
                input=name,
                amount=value,
            )
    claim = get_claim(engine, claim_id)
    if claim["state"] not in OPEN_STATES:
        raise TrackerError(
            f"claim {claim_id} is {claim['state']}: only an unfiled claim takes new inputs",
            code="inputs_after_filing",
            claim_id=claim_id,
            state=claim["state"],
        )
    parcel = _parcel(engine, claim["parcel_id"])
    with engine.connect() as conn:
        given_before = _inputs_given(conn, [claim_id]).get(claim_id, {})  # earlier set-input calls (later wins)
        inputs = {**given_before, **{k: str(v) for k, v in values.items()}}
    try:
        comp = _with_inputs(parcel, claim["claim_type"], claim["scenario"], claim["table_version"], inputs, tables)
    except ValueError as exc:  # its claim table version is gone from config/claims (a table replaced, not added)
        raise TrackerError(f"claim {claim_id}: {exc}", code="claim_not_computed", claim_id=claim_id) from None
    if comp.amount is not None and comp.amount >= MAX_MONEY:  # each input under the limit, their sum not
        raise TrackerError(
            f"claim {claim_id}: these inputs make {comp.amount:,}, a billion ({MAX_MONEY:,}) or more: a typo?",
            code="claim_too_large",
            claim_id=claim_id,
        )
    state = ClaimState.needs_config if comp.missing else ClaimState.draft
    # a claim drafted with no window gets the one its parcel gives now (as fill_windows); a window set never moves
    window = _window_given(claim["filing_closes_at"], comp)
    with engine.begin() as conn:
        changed = conn.execute(
            CLAIM.update()
            .where(CLAIM.c.id == claim_id, CLAIM.c.state == claim["state"])
            .values(
                state=state,
                amount=comp.amount,
                formula=dumps(comp.parts),  # shown in each reader's language (claims/formula.py)
                missing=", ".join(comp.missing) or None,
                updated_at=now,
                **window,
            )
        ).rowcount
        if changed != 1:
            raise TrackerError(
                f"claim {claim_id} changed meanwhile; try again", code="claim_changed", claim_id=claim_id
            )
        record_audit(conn, at=now, actor=actor, action=SET_INPUT, entity="claim", entity_id=claim_id,
                     detail={"inputs": {k: str(v) for k, v in values.items()}, "from": claim["state"],
                             "state": str(state), "amount": None if comp.amount is None else str(comp.amount),
                             "table_version": claim["table_version"]})  # fmt: skip
        if window:
            _audit_window(conn, claim_id, comp.filing_opens, comp.filing_closes, tables=tables, actor=actor, now=now)
    return get_claim(engine, claim_id)
