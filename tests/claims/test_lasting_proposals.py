"""A refusal or a damage is something that happened to the parcel: its claim is still proposed after the
courier's next scan made the rules resolve the flag (a refused parcel scanned 退回中 before the daily
`claims propose` ran). From the courier's words through the ingest and the rules to the claim, on both
databases. Lateness is measured at the refusal's own event, not at the last scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from claims import service
from claims.tables import ClaimTables, load_tables
from tracker.domain import ParcelFacts, TrackingEvent
from tracker.flags.evaluate import evaluate_all
from tracker.ingest import ingest
from tracker.phrases import default_phrasebook
from tracker.providers.base import ParsedWaybill
from tracker.settings import PROJECT_ROOT, Settings
from tracker.storage import repo
from tracker.storage.tables import CLAIM, FLAG, PARCEL

ORDER = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
SHIPPED = ORDER + timedelta(hours=5)
BOOK = default_phrasebook()
PICKED_UP = "【杭州市萧山区公司】的王师傅已揽收"
REFUSED = "快件已被收件人拒收，原因：买家拒收"
RETURNING = "您的快件退回中，正在返回寄件人"
DELIVERED = "快件已签收，签收人：本人"
DAMAGED = "快件外包装破损，已联系寄件人"


@pytest.fixture(scope="module")
def tables() -> ClaimTables:
    return load_tables(PROJECT_ROOT / "config" / "claims")


def _parcel(engine: Engine, waybill: str) -> int:
    facts: dict[str, Any] = {
        "courier": "yto",
        "waybill": waybill,
        "order_id": "O" + waybill[-4:],
        "goods_value": D("268.50"),
        "forward_freight": D("12.00"),
        "return_freight": D("15.00"),
        "order_created_at": ORDER,
        "shipped_at": SHIPPED,
    }
    repo.upsert_parcels(engine, [ParcelFacts(**facts)], now=ORDER)
    with engine.connect() as conn:
        return int(conn.execute(select(PARCEL.c.id).where(PARCEL.c.waybill == waybill)).scalar_one())


def _scan(engine: Engine, settings: Settings, waybill: str, hours: float, text: str) -> None:
    """The courier's scan `hours` after shipping, ingested as a poll brings it, then the rules an hour later."""
    at = SHIPPED + timedelta(hours=hours)
    event = TrackingEvent(at, BOOK.classify(text), "", text, None)  # type: ignore[arg-type]
    reply = ParsedWaybill("kuaidi100", waybill, "yuantong", "yto", (event,), None)
    ingest(engine, [reply], now=at, source="kuaidi100", phrases=BOOK)
    evaluate_all(engine, now=at + timedelta(hours=1), settings=settings)


def _flag_state(engine: Engine, waybill: str, kind: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(FLAG.c.state)
            .join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)
            .where(PARCEL.c.waybill == waybill, FLAG.c.kind == kind)
        ).scalar()


def _claims(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(PARCEL.c.waybill, CLAIM.c.claim_type).join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id))
        return {r.waybill: r.claim_type for r in rows}


def test_a_late_refusal_scanned_back_before_the_daily_run_still_claims_the_freight(
    engine: Engine, settings: Settings, tables: ClaimTables
) -> None:
    late, on_time, accepted, resolved_by_lead = (f"YT760000000{n:04d}" for n in (51, 52, 53, 54))
    for waybill in (late, on_time, accepted, resolved_by_lead):
        _parcel(engine, waybill)
        _scan(engine, settings, waybill, 2, PICKED_UP)
    _scan(engine, settings, late, 100, REFUSED)  # 95 h after the promise's 72: late
    _scan(engine, settings, on_time, 30, REFUSED)
    _scan(engine, settings, accepted, 100, REFUSED)
    _scan(engine, settings, resolved_by_lead, 100, REFUSED)
    assert _flag_state(engine, late, "refused") == "open"
    with engine.begin() as conn:  # a lead settled this refusal with the buyer: their word stands
        conn.execute(
            update(FLAG)
            .where(
                FLAG.c.kind == "refused",
                FLAG.c.parcel_id == select(PARCEL.c.id).where(PARCEL.c.waybill == resolved_by_lead).scalar_subquery(),
            )
            .values(state="resolved", resolved_by="lily", resolved_at=SHIPPED + timedelta(hours=102))
        )
    for waybill in (late, on_time, resolved_by_lead):
        _scan(engine, settings, waybill, 104, RETURNING)
    _scan(engine, settings, accepted, 104, DELIVERED)  # the buyer took it after all: nothing came back
    assert _flag_state(engine, late, "refused") == "resolved"  # the rules: the parcel is now returning
    summary = service.propose(engine, tables=tables, now=SHIPPED + timedelta(hours=120))
    assert _claims(engine) == {late: "freight"}
    assert not any(line.startswith((on_time, accepted, resolved_by_lead)) for line in summary.skipped)
    # measured at the refusal (100 h), not the returning scan; and the next day's run adds nothing
    with engine.connect() as conn:
        formula = conn.execute(select(CLAIM.c.formula)).scalar_one()
    assert "12" in str(formula) and "15" in str(formula)  # forward and reverse freight
    again = service.propose(engine, tables=tables, now=SHIPPED + timedelta(hours=144))
    assert sum(again.proposed.values()) == 0 and _claims(engine) == {late: "freight"}


def test_a_damage_still_claims_the_goods_once_the_parcel_moved_on(
    engine: Engine, settings: Settings, tables: ClaimTables
) -> None:
    waybill = "YT7600000000061"
    _parcel(engine, waybill)
    _scan(engine, settings, waybill, 2, PICKED_UP)
    _scan(engine, settings, waybill, 30, DAMAGED)
    _scan(engine, settings, waybill, 40, DELIVERED)
    assert _flag_state(engine, waybill, "damaged") == "resolved"
    service.propose(engine, tables=tables, now=SHIPPED + timedelta(hours=48))
    assert _claims(engine) == {waybill: "goods_lost"}


def test_a_parcel_back_after_a_late_refusal_never_flagged_claims_the_freight(
    engine: Engine, settings: Settings, tables: ClaimTables
) -> None:
    """Polled only once it was back: the refusal is in its history, and the returned flag speaks for it."""
    waybill = "YT7600000000071"
    _parcel(engine, waybill)
    at = SHIPPED + timedelta(hours=200)
    said = [(2, PICKED_UP), (100, REFUSED), (104, RETURNING), (150, "退回件已签收，签收人：寄件人")]
    events = tuple(
        TrackingEvent(SHIPPED + timedelta(hours=h), BOOK.classify(t), "", t, None)  # type: ignore[arg-type]
        for h, t in said
    )
    ingest(
        engine,
        [ParsedWaybill("kuaidi100", waybill, "yuantong", "yto", events, None)],
        now=at,
        source="kuaidi100",
        phrases=BOOK,
    )
    evaluate_all(engine, now=at, settings=settings)
    assert _flag_state(engine, waybill, "refused") is None
    assert _flag_state(engine, waybill, "returned") == "open"
    service.propose(engine, tables=tables, now=at)
    assert _claims(engine) == {waybill: "freight"}


def test_the_ship_delay_claim_can_be_opened_once_the_late_parcel_shipped(
    engine: Engine, settings: Settings, tables: ClaimTables
) -> None:
    """The shop is penalised for a late shipment (延迟发货 upheld) days after the parcel left: the board's 发起理赔
    on the parcel still offers ship_delay once the rules resolved the flag, and `claims propose` never drafts it."""
    waybill = "YT7600000000081"
    paid = ORDER
    repo.upsert_parcels(
        engine,
        [
            ParcelFacts(
                courier="yto",
                waybill=waybill,
                order_id="O81",
                goods_value=D("899.00"),
                paid_at=paid,
                order_created_at=paid,
            )
        ],  # fmt: skip
        now=paid,
    )
    evaluate_all(engine, now=paid + timedelta(hours=80), settings=settings)
    assert _flag_state(engine, waybill, "late_shipment") == "open"
    repo.upsert_parcels(
        engine,
        [ParcelFacts(courier="yto", waybill=waybill, order_id="O81", shipped_at=paid + timedelta(hours=90))],
        now=paid + timedelta(hours=90),
    )
    evaluate_all(engine, now=paid + timedelta(days=6), settings=settings)
    assert _flag_state(engine, waybill, "late_shipment") == "resolved"
    service.propose(engine, tables=tables, now=paid + timedelta(days=6))
    assert _claims(engine) == {}
    with engine.connect() as conn:
        pid = conn.execute(select(PARCEL.c.id).where(PARCEL.c.waybill == waybill)).scalar_one()
    offered = service.preview_claims(engine, parcel_id=pid, tables=tables, now=paid + timedelta(days=6))
    assert [(r["claim_type"], r["amount"]) for r in offered] == [("ship_delay", D("269.70"))]  # 30% of 899.00
    service.open_claims(engine, parcel_ids=[pid], tables=tables, actor="lily", now=paid + timedelta(days=6))
    assert _claims(engine) == {waybill: "ship_delay"}


def test_a_refusal_without_its_own_event_or_settled_by_a_person_claims_nothing_once_back(
    engine: Engine, settings: Settings, tables: ClaimTables
) -> None:
    """A refusal read from the words of a returning scan (no refused event: when it happened is the scan's time,
    on time here) and a late refusal a lead settled: once the parcel is back at the shop, neither the resolved
    refusal nor the returned flag proposes freight from a later scan's time or from the history."""
    words_only, settled = "YT7600000000091", "YT7600000000092"
    for waybill in (words_only, settled):
        _parcel(engine, waybill)
        _scan(engine, settings, waybill, 2, PICKED_UP)
    _scan(engine, settings, words_only, 30, "收件人拒收，退回寄件人")
    _scan(engine, settings, settled, 100, REFUSED)
    assert _flag_state(engine, words_only, "refused") == "open"
    with engine.begin() as conn:  # before any claims propose ran
        conn.execute(
            update(FLAG)
            .where(FLAG.c.kind == "refused", FLAG.c.parcel_id == _id(engine, settled))
            .values(state="resolved", resolved_by="lily", resolved_at=SHIPPED + timedelta(hours=102))
        )
    service.propose(engine, tables=tables, now=SHIPPED + timedelta(hours=102))
    assert _claims(engine) == {}  # refused on time, and settled by a person
    for waybill in (words_only, settled):
        _scan(engine, settings, waybill, 150, "退回件已签收，签收人：寄件人")
        assert _flag_state(engine, waybill, "returned") == "open"
    assert _flag_state(engine, words_only, "refused") == "resolved"
    service.propose(engine, tables=tables, now=SHIPPED + timedelta(hours=152))
    assert _claims(engine) == {}


def _id(engine: Engine, waybill: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(PARCEL.c.id).where(PARCEL.c.waybill == waybill)).scalar_one())
