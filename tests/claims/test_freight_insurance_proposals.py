"""Juhuasuan freight insurance (聚划算大运险, seed 002) pays the shop in two scenarios: 拒签, the buyer refused the
parcel (amount × rate), and 退货, the buyer's seven-day return (amount × rate × 1.3). `claims propose` drafts
the refusal for an insured outbound parcel refused or back unreceived, the return when the buyer's return parcel
is delivered back to the shop (on the order's insured parcel: the order amount and category are the order's),
and nothing for a return parcel refused at the return address or sent back to the buyer. On both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from claims import service
from claims.tables import ClaimTables, load_tables
from tracker.domain import ParcelFacts
from tracker.errors import TrackerError
from tracker.settings import PROJECT_ROOT
from tracker.status import Direction
from tracker.storage import repo
from tracker.storage.rows import FlagRow, TrackingEventRow
from tracker.storage.tables import CLAIM, PARCEL

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
ORDER = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
FRIDGE = {"freight_insured": True, "category": "冰箱", "goods_value": D("3299.00")}


@pytest.fixture(scope="module")
def tables() -> ClaimTables:
    return load_tables(PROJECT_ROOT / "config" / "claims")


def _parcel(engine: Engine, waybill: str, order: str, status: str, **kw: Any) -> int:
    facts: dict[str, Any] = {
        "courier": "yto",
        "waybill": waybill,
        "order_id": order,
        "goods_value": D("268.50"),
        "order_created_at": ORDER,
        "shipped_at": ORDER + timedelta(hours=5),
        **kw,
    }
    repo.upsert_parcels(engine, [ParcelFacts(**facts)], now=ORDER)
    with engine.begin() as conn:
        conn.execute(PARCEL.update().where(PARCEL.c.waybill == waybill).values(status=status))
        return int(conn.execute(select(PARCEL.c.id).where(PARCEL.c.waybill == waybill)).scalar_one())


def _flag(engine: Engine, parcel_id: int, kind: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(FlagRow).values(
                parcel_id=parcel_id, courier="yto", kind=kind, severity="warn", state="open", opened_at=NOW
            )
        )


def _claims(engine: Engine) -> dict[str, tuple[str, str, D | None]]:
    """waybill -> (claim type, scenario, amount)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(PARCEL.c.waybill, CLAIM.c.claim_type, CLAIM.c.scenario, CLAIM.c.amount).join(
                PARCEL, PARCEL.c.id == CLAIM.c.parcel_id
            )
        ).all()
    return {r.waybill: (r.claim_type, r.scenario, r.amount) for r in rows}


def test_the_refusal_scenario_once_whichever_flag_speaks(engine: Engine, tables: ClaimTables) -> None:
    """拒签场景 is the buyer's refusal: a refused parcel, or one back at the shop whose history holds the refusal,
    claims it once; one back for another reason (out of area) proposes none: a wrong claim would take the
    order's one claim (一个订单只能理赔一次)."""
    refused = _parcel(engine, "YT7600000000001", "O1", "returned", **FRIDGE)
    back_refused = _parcel(engine, "YT7600000000002", "O2", "returned", **FRIDGE)
    back_out_of_area = _parcel(engine, "YT7600000000003", "O3", "returned", **FRIDGE)
    _flag(engine, refused, "refused")
    _flag(engine, refused, "returned")
    _flag(engine, back_refused, "returned")  # back at the shop: the refusal was never flagged
    _flag(engine, back_out_of_area, "returned")
    with engine.begin() as conn:
        conn.execute(insert(TrackingEventRow), [
            {"parcel_id": pid, "event_time": ORDER + timedelta(days=2), "status": status, "raw_code": "", "text": text,
             "text_hash": f"{pid:016d}", "location": None, "ingested_at": NOW, "source": "kuaidi100"}
            for pid, status, text in (
                (back_refused, "refused", "客户拒收，快件将退回"),
                (back_out_of_area, "out_of_area", "超出派送范围，快件将退回"),
            )
        ])  # fmt: skip
    summary = service.propose(engine, tables=tables, now=NOW)
    # 3,299.00 × 7% = 230.93 (refrigerator, refusal: between 45 and 280)
    assert _claims(engine) == {
        "YT7600000000001": ("freight_insurance", "refusal", D("230.93")),
        "YT7600000000002": ("freight_insurance", "refusal", D("230.93")),
    }
    assert any(s.startswith("YT7600000000003: insured and back, with no refusal") for s in summary.skipped)


def test_a_delivered_seven_day_return_claims_the_return_scenario_on_its_order(
    engine: Engine, tables: ClaimTables
) -> None:
    outbound = _parcel(engine, "YT7600000000011", "O11", "delivered", **FRIDGE)
    _parcel(engine, "YT7600000000012", "O11", "delivered", direction=Direction.ret)
    # the return of an order marked insured only on the return's own row (the refund export's 聚划算 column)
    _parcel(engine, "YT7600000000013", "O13", "delivered", direction=Direction.ret, **FRIDGE)
    # not yet back at the shop, and a return of an order without insurance: nothing
    _parcel(engine, "YT7600000000014", "O14", "delivered", **FRIDGE)
    _parcel(engine, "YT7600000000015", "O14", "in_transit", direction=Direction.ret)
    _parcel(engine, "YT7600000000016", "O16", "delivered")
    _parcel(engine, "YT7600000000017", "O16", "delivered", direction=Direction.ret)
    summary = service.propose(engine, tables=tables, now=NOW)
    # 3,299.00 × 7% × 1.3 = 300.21 (refrigerator, return: between 58.5 and 364)
    assert _claims(engine) == {
        "YT7600000000011": ("freight_insurance", "return", D("300.21")),
        "YT7600000000013": ("freight_insurance", "return", D("300.21")),
    }
    assert dict(summary.proposed) == {"freight_insurance": 2}
    assert service.propose(engine, tables=tables, now=NOW).proposed == {}  # one per order
    # the packets: the claim on the outbound parcel shows its order's return too; the one on the return itself not
    # again (its timeline is the claim's own)
    from claims.export import returns_of

    by_waybill = {c["waybill"]: c["id"] for c in service.list_claims(engine)}
    shown = returns_of(engine, service.list_claims(engine))
    assert (len(shown[by_waybill["YT7600000000011"]]), shown[by_waybill["YT7600000000013"]]) == (1, [])
    with engine.connect() as conn:
        assert (
            conn.execute(select(CLAIM.c.parcel_id).where(CLAIM.c.scenario == "return")).scalars().all().count(outbound)
            == 1
        )


def test_a_return_the_courier_says_the_shop_signed_for_claims_the_return_scenario(
    engine: Engine, tables: ClaimTables
) -> None:
    """From the courier's words to the claim: a buyer's return whose last event reads "您的退货已由商家签收"
    (read `returned` without its direction) is ingested as delivered to the shop, so the order's insured
    parcel gets the return scenario; one signed for by the sender, the buyer, gets nothing."""
    from tracker.domain import TrackingEvent
    from tracker.ingest import ingest
    from tracker.phrases import default_phrasebook
    from tracker.providers.base import ParsedWaybill

    _parcel(engine, "YT7600000000041", "O41", "delivered", **FRIDGE)
    _parcel(engine, "YT7600000000042", "O41", "in_transit", direction=Direction.ret)
    _parcel(engine, "YT7600000000043", "O43", "delivered", **FRIDGE)
    _parcel(engine, "YT7600000000044", "O43", "in_transit", direction=Direction.ret)
    book = default_phrasebook()

    def reply(waybill: str, last: str) -> ParsedWaybill:
        said = [(NOW - timedelta(hours=30), "【杭州市萧山区公司】的王师傅已揽收"), (NOW - timedelta(hours=2), last)]
        events = tuple(TrackingEvent(at, book.classify(text), "", text, None) for at, text in said)  # type: ignore[arg-type]
        return ParsedWaybill("kuaidi100", waybill, "yuantong", "yto", events, None)

    ingest(
        engine,
        [
            reply("YT7600000000042", "您的退货已由商家签收，退货签收完成"),
            reply("YT7600000000044", "退回件已签收，签收人：寄件人"),
        ],
        now=NOW,
        source="kuaidi100",
        phrases=book,
    )
    service.propose(engine, tables=tables, now=NOW)
    assert _claims(engine) == {"YT7600000000041": ("freight_insurance", "return", D("300.21"))}


def test_a_return_refused_or_sent_back_to_the_buyer_claims_nothing(engine: Engine, tables: ClaimTables) -> None:
    _parcel(engine, "YT7600000000021", "O21", "delivered", **FRIDGE)
    refused = _parcel(engine, "YT7600000000022", "O21", "refused", direction=Direction.ret, **FRIDGE)
    back = _parcel(engine, "YT7600000000023", "O23", "returned", direction=Direction.ret, **FRIDGE)
    _flag(engine, refused, "refused")
    _flag(engine, back, "returned")
    summary = service.propose(engine, tables=tables, now=NOW)
    assert _claims(engine) == {}
    assert "YT7600000000022: a return parcel refused: it goes back to the buyer, nothing to claim" in summary.skipped
    assert (
        "YT7600000000023: a return parcel returned: nothing to claim by itself; if the shop signed for it, open the "
        "claim by hand"
    ) in summary.skipped


def test_two_refused_parcels_of_one_order_claim_once(engine: Engine, tables: ClaimTables) -> None:
    """大运险 pays per order (seed 002, 订单金额; 一个订单只能理赔一次): the order's second refused parcel drafts nothing."""
    first = _parcel(engine, "YT7600000000031", "O31", "refused", **FRIDGE)
    second = _parcel(engine, "YT7600000000032", "O31", "refused", **FRIDGE)
    for parcel_id in (first, second):
        _flag(engine, parcel_id, "refused")
    summary = service.propose(engine, tables=tables, now=NOW)
    assert list(_claims(engine)) == ["YT7600000000031"]
    assert "YT7600000000032: freight insurance is claimed once per order (YT7600000000031)" in summary.skipped
    again = service.propose(engine, tables=tables, now=NOW)
    assert again.proposed == {} and list(_claims(engine)) == ["YT7600000000031"]


def test_a_person_cannot_open_a_second_insurance_claim_for_the_order(engine: Engine, tables: ClaimTables) -> None:
    """一个订单只能理赔一次 (seed 002) holds for claims opened by hand too, not only for propose's: by type
    (claims open) and from the parcel's flags (the board's 发起理赔), and the preview leaves it out."""
    out = _parcel(engine, "YT7600000000031", "O31", "refused", **FRIDGE)
    _flag(engine, out, "refused")
    service.propose(engine, tables=tables, now=NOW)
    back = _parcel(engine, "YT7600000000032", "O31", "delivered", direction=Direction.ret, **FRIDGE)
    with pytest.raises(TrackerError) as err:
        service.open_claim(
            engine,
            parcel_id=back,
            claim_type="freight_insurance",
            scenario="return",
            tables=tables,
            actor="lead",
            now=NOW,
        )
    assert err.value.code == "insurance_claimed"
    assert "YT7600000000032" in str(err.value) and "YT7600000000031" in str(err.value)
    # the order's second parcel (a split shipment), refused too: its flag calls for the claim the order has
    split = _parcel(engine, "YT7600000000033", "O31", "refused", **FRIDGE)
    _flag(engine, split, "refused")
    assert service.preview_claims(engine, parcel_id=split, tables=tables, now=NOW) == []
    with pytest.raises(TrackerError) as err:
        service.open_claims(engine, parcel_ids=[split], tables=tables, actor="lead", now=NOW)
    assert err.value.code == "insurance_claimed"
    assert _claims(engine) == {"YT7600000000031": ("freight_insurance", "refusal", D("230.93"))}


def test_a_claim_opened_without_a_scenario_is_the_return(engine: Engine, tables: ClaimTables) -> None:
    """`claims open --type freight_insurance` without --scenario is the buyer's return, as `claims compute`
    reads it; a scenario that is neither return nor refusal is refused, not stored as a claim missing its
    category (set-input could never mend it)."""
    back = _parcel(engine, "YT7600000000041", "O41", "delivered", direction=Direction.ret, **FRIDGE)
    claim_id = service.open_claim(
        engine, parcel_id=back, claim_type="freight_insurance", scenario="default", tables=tables, actor="lead", now=NOW
    )
    claim = service.get_claim(engine, claim_id)
    # 3,299.00 × 7% × 1.3 = 300.209 -> 300.21 (refrigerator, return)
    assert (claim["scenario"], claim["state"], claim["amount"], claim["missing"]) == (
        "return",
        "draft",
        D("300.21"),
        None,
    )
    other = _parcel(engine, "YT7600000000042", "O42", "delivered", direction=Direction.ret, **FRIDGE)
    with pytest.raises(TrackerError) as err:
        service.open_claim(
            engine,
            parcel_id=other,
            claim_type="freight_insurance",
            scenario="refused",
            tables=tables,
            actor="lead",
            now=NOW,
        )
    assert "return or refusal" in str(err.value) and "YT7600000000042" in str(err.value)
    assert "YT7600000000042" not in _claims(engine)


def test_a_withdrawn_insurance_claim_leaves_the_order_to_its_right_waybill(engine: Engine, tables: ClaimTables) -> None:
    """Opened by hand on the wrong waybill of the order and withdrawn: the order's claim can be opened on the
    right one (a withdrawn claim cannot move on, so counting it would block the order for good)."""
    wrong = _parcel(engine, "YT7600000000051", "O51", "delivered", **FRIDGE)
    right = _parcel(engine, "YT7600000000052", "O51", "delivered", direction=Direction.ret, **FRIDGE)
    first = service.open_claim(
        engine, parcel_id=wrong, claim_type="freight_insurance", scenario="return", tables=tables, actor="lead", now=NOW
    )
    service.withdraw_claim(engine, claim_id=first, note="wrong waybill", actor="lead", now=NOW)
    service.open_claim(
        engine, parcel_id=right, claim_type="freight_insurance", scenario="return", tables=tables, actor="lead", now=NOW
    )
    assert _claims(engine)["YT7600000000052"] == ("freight_insurance", "return", D("300.21"))


def test_a_return_claims_packet_shows_the_returns_tracking(engine: Engine, tables: ClaimTables, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The insurer pays a return once the shop received it (卖家确认收到退货); the claim is on the outbound parcel,
    so its packet showed the shipment's tracking only. The return's timeline follows it, in the XLSX and the CSV."""
    from zoneinfo import ZoneInfo

    from openpyxl import load_workbook

    from claims.export import export_claims

    _parcel(engine, "YT7600000000061", "O61", "delivered", **FRIDGE)
    back = _parcel(engine, "YT7600000000062", "O61", "delivered", direction=Direction.ret)
    with engine.begin() as conn:
        conn.execute(insert(TrackingEventRow).values(
            parcel_id=back, event_time=NOW - timedelta(days=1), status="delivered", raw_code="", text="已签收, 签收人: 仓库",
            text_hash="b" * 16, location=None, ingested_at=NOW, source="kuaidi100",
        ))  # fmt: skip
    service.propose(engine, tables=tables, now=NOW)
    claims = service.list_claims(engine)
    sh = ZoneInfo("Asia/Shanghai")
    book = load_workbook(export_claims(tmp_path / "p.xlsx", claims, engine=engine, tables=tables, tz=sh))
    [sheet] = [book[name] for name in book.sheetnames if name.endswith("YT7600000000061")]
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert "退货物流轨迹 YT7600000000062" in cells and "已签收, 签收人: 仓库" in cells
    csv_text = export_claims(tmp_path / "p.csv", claims, engine=engine, tables=tables, tz=sh).read_text("utf-8-sig")
    assert "退货物流轨迹 YT7600000000062:" in csv_text and "已签收, 签收人: 仓库" in csv_text
