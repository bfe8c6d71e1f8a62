"""The claim ledger on SQLite and PostgreSQL: proposals from flags, the lifecycle, expiry, packets, reconciliation."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, insert, select

from claims import service
from claims.export import export_claims
from claims.reconcile import reconcile
from claims.tables import ClaimTables, load_tables
from tracker.domain import ParcelFacts
from tracker.errors import TrackerError
from tracker.settings import PROJECT_ROOT
from tracker.status import Direction
from tracker.storage import repo
from tracker.storage.rows import AuditRow, FlagRow, ParcelRow, TrackingEventRow

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
ORDER = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def tables() -> ClaimTables:
    return load_tables(PROJECT_ROOT / "config" / "claims")


def _parcel(engine: Engine, waybill: str, *, status: str = "in_transit", **kw: Any) -> int:
    facts: dict[str, Any] = {
        "courier": "yto",
        "waybill": waybill,
        "order_id": f"O{waybill[-4:]}",
        "goods_value": D("268.50"),
        "order_created_at": ORDER,
        "issued_at": ORDER,
        "shipped_at": ORDER + timedelta(hours=5),
    }
    snapshot = {k: kw.pop(k) for k in ("last_event_at",) if k in kw}
    facts.update(kw)
    repo.upsert_parcels(engine, [ParcelFacts(**facts)], now=ORDER)
    with engine.begin() as conn:
        conn.execute(
            ParcelRow.__table__.update()
            .where(ParcelRow.__table__.c.waybill == waybill)
            .values(status=status, **snapshot)
        )
        return conn.execute(select(ParcelRow.id).where(ParcelRow.waybill == waybill)).scalar_one()


def _flag(engine: Engine, parcel_id: int, kind: str, state: str = "open") -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(FlagRow).values(
                parcel_id=parcel_id, courier="yto", kind=kind, severity="warn", state=state, opened_at=NOW
            )
        )


def _audit(engine: Engine, claim_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditRow.action)
                .where(AuditRow.entity == "claim", AuditRow.entity_id == claim_id)
                .order_by(AuditRow.id)
            ).scalars()
        )


def test_flags_propose_their_claims_once(engine: Engine, tables: ClaimTables) -> None:
    lost = _parcel(engine, "YT7500000000001")
    damaged = _parcel(engine, "YT7500000000002")
    late = _parcel(engine, "YT7500000000003")
    refused_late = _parcel(
        engine,
        "YT7500000000004",
        forward_freight=D("12.00"),
        return_freight=D("15.00"),
        last_event_at=ORDER + timedelta(hours=5 + 100),
    )
    refused_on_time = _parcel(engine, "YT7500000000005", last_event_at=ORDER + timedelta(hours=30))
    insured = _parcel(
        engine, "YT7500000000006", freight_insured=True, category="冰箱", goods_value=D("3299.00"), status="returned"
    )
    with engine.begin() as conn:  # the buyer refused it before it came back (大运险's 拒签场景)
        conn.execute(insert(TrackingEventRow).values(
            parcel_id=insured, event_time=ORDER + timedelta(days=2), status="refused", raw_code="", text="客户拒收",
            text_hash="r" * 16, location=None, ingested_at=NOW, source="kuaidi100",
        ))  # fmt: skip
    resolved = _parcel(engine, "YT7500000000007")
    for pid, kind in [
        (lost, "lost"),
        (damaged, "damaged"),
        (late, "late_shipment"),
        (refused_late, "refused"),
        (refused_on_time, "refused"),
        (insured, "returned"),
        (resolved, "lost"),
    ]:
        _flag(engine, pid, kind, state="resolved" if pid == resolved else "open")
    summary = service.propose(engine, tables=tables, now=NOW)
    assert dict(summary.proposed) == {"goods_lost": 2, "freight": 1, "freight_insurance": 1}
    assert any("YT7500000000005: refused on time" in s for s in summary.skipped)
    # a late shipment is claimable once the shop was penalised for it, which the data does not say: by hand
    assert not any(s.startswith("YT7500000000003") for s in summary.skipped)  # not even read
    claims = {(c["waybill"], c["claim_type"]): c for c in service.list_claims(engine)}
    assert claims[("YT7500000000001", "goods_lost")]["amount"] == D("268.50")
    assert ("YT7500000000003", "ship_delay") not in claims
    (opened,) = service.open_claims(engine, parcel_ids=[late], tables=tables, actor="lead.wang", now=NOW)
    assert (opened["claim_type"], opened["amount"]) == ("ship_delay", D("80.55"))  # 30% of 268.50 = 80.55
    assert claims[("YT7500000000004", "freight")]["amount"] == D("27.00")
    insurance = claims[("YT7500000000006", "freight_insurance")]
    # an outbound parcel back at the shop after the buyer refused it is 大运险's refusal scenario (拒签): 3,299 × 7%
    assert insurance["amount"] == D("230.93") and insurance["scenario"] == "refusal"
    assert insurance["table_version"] == "002-2026.1"
    # a damaged parcel: the claim table pays damage only as accessories' (配件类货品破损按照供货商货值进行赔偿), at the
    # supplier's value, which the data does not hold: the claim asks for it (not the whole goods value of a loss)
    broken = claims[("YT7500000000002", "goods_lost")]
    assert (broken["scenario"], broken["state"], broken["amount"]) == ("accessory_damaged", "needs_config", None)
    assert service.inputs_missing(broken["formula"]) == {"supplier_value": "supplier_value"}
    assert service.propose(engine, tables=tables, now=NOW).proposed == {}  # one claim per parcel and type
    assert _audit(engine, claims[("YT7500000000001", "goods_lost")]["id"]) == ["claim.draft"]


def test_missing_goods_value_drafts_a_needs_config_claim(engine: Engine, tables: ClaimTables) -> None:
    pid = _parcel(engine, "YT7500000000010", goods_value=None)
    _flag(engine, pid, "lost")
    service.propose(engine, tables=tables, now=NOW)
    (claim,) = service.list_claims(engine)
    assert (
        claim["state"] == "needs_config" and claim["amount"] is None and claim["missing"] == "goods payment"
    )  # 货款金额 (seed 002)

    # without an amount it can be neither filed nor paid: one line naming the claim and what is missing
    for act in (
        lambda: service.file_claim(engine, claim_id=claim["id"], reference_no="YTC-1", actor="agent.li", now=NOW),
        lambda: service.pay_claim(engine, claim_id=claim["id"], amount=D("100"), actor="agent.li", now=NOW),
    ):
        with pytest.raises(TrackerError) as err:
            act()
        message = str(err.value)
        assert "\n" not in message and f"claim {claim['id']}: no amount yet (missing: goods payment)" in message
    assert service.get_claim(engine, claim["id"])["state"] == "needs_config"


def _draft(
    engine: Engine, tables: ClaimTables, waybill: str = "YT7500000000020", claim_type: str = "goods_lost"
) -> int:
    pid = _parcel(engine, waybill)
    return service.open_claim(
        engine, parcel_id=pid, claim_type=claim_type, scenario="default", tables=tables, actor="lead.wang", now=NOW
    )


def test_lifecycle_file_then_pay_with_a_differing_payout(engine: Engine, tables: ClaimTables) -> None:
    claim_id = _draft(engine, tables)
    opens = service.get_claim(engine, claim_id)["filing_opens_at"]
    assert opens == ORDER + timedelta(days=7)
    shanghai = ZoneInfo("Asia/Shanghai")
    local = f"{opens.astimezone(shanghai):%Y-%m-%d %H:%M} (Asia/Shanghai)"  # the shop's clock, not UTC
    with pytest.raises(TrackerError, match=re.escape(f"claim {claim_id}: filing opens {local}")):
        service.file_claim(
            engine,
            claim_id=claim_id,
            reference_no="TS-1",
            actor="lead.wang",
            now=NOW,
            filed_at=opens - timedelta(minutes=1),
            tz=shanghai,
        )
    filed = service.file_claim(
        engine, claim_id=claim_id, reference_no="TS-1", actor="lead.wang", now=NOW, filed_at=opens
    )
    assert filed["state"] == "filed" and filed["reference_no"] == "TS-1" and filed["filed_at"] == opens
    # a payout dated before the filing is a typo (money comes after the asking): refused, in the shop's zone
    with pytest.raises(TrackerError, match=r"the payout date .* is before the claim was filed") as early:
        service.pay_claim(
            engine,
            claim_id=claim_id,
            amount=D("200.00"),
            actor="lead.wang",
            now=NOW,
            paid_at=opens - timedelta(days=1),
            tz=shanghai,
        )
    assert early.value.code == "payout_before_filing" and "(Asia/Shanghai)" in str(early.value)
    # dated by its day, as the board's date picker and --date 2026-11-20 give it: the filing day itself is fine,
    # whatever the hour of the filing
    filing_day = datetime.combine(opens.astimezone(shanghai).date(), datetime.min.time(), tzinfo=shanghai)
    paid = service.pay_claim(
        engine, claim_id=claim_id, amount=D("200.00"), actor="lead.wang", now=NOW, paid_at=filing_day, tz=shanghai
    )
    assert paid["state"] == "paid" and paid["paid_amount"] == D("200.00")
    assert _audit(engine, claim_id) == ["claim.draft", "claim.filed", "claim.paid"]
    (line,) = reconcile(engine, tz=SHANGHAI)
    assert (line.courier, line.month, line.expected, line.paid, line.short) == (
        "yto",
        "2026-11",
        D("268.50"),
        D("200.00"),
        D("68.50"),
    )
    assert line.mismatches[0]["claim_id"] == claim_id

    # a second claim of the month paid over (a typed 5000 for 80.55): its excess is not netted against the
    # first one's shortfall, which stays owed
    over_id = _draft(engine, tables, waybill="YT7500000000021", claim_type="ship_delay")
    service.file_claim(engine, claim_id=over_id, reference_no="TS-2", actor="lead.wang", now=NOW, filed_at=opens)
    service.pay_claim(engine, claim_id=over_id, amount=D("5000.00"), actor="lead.wang", now=NOW)
    (line,) = reconcile(engine, tz=SHANGHAI)
    assert (line.expected, line.paid, line.short, line.over) == (
        D("349.05"),
        D("5200.00"),
        D("68.50"),
        D("4919.45"),
    )
    assert [m["claim_id"] for m in line.mismatches] == [claim_id, over_id]


def test_a_filing_date_without_a_time_counts_if_the_window_is_open_that_day(
    engine: Engine, tables: ClaimTables
) -> None:
    """The lead knows the day, not the hour: the opening day (window opens at 10:00 Shanghai) is accepted and
    recorded at the opening; the day before is refused; the closing day is accepted from its start."""

    def day_of(at: datetime) -> tuple[datetime, datetime]:
        local = at.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
        return local.astimezone(UTC), (local + timedelta(days=1)).astimezone(UTC)

    first = _draft(engine, tables, waybill="YT7500000000031")
    opens = service.get_claim(engine, first)["filing_opens_at"]
    with pytest.raises(TrackerError, match="filing opens"):
        service.file_claim(
            engine, claim_id=first, reference_no="R", actor="a", now=NOW, filed_on=day_of(opens - timedelta(days=1))
        )
    filed = service.file_claim(engine, claim_id=first, reference_no="R", actor="a", now=NOW, filed_on=day_of(opens))
    assert filed["state"] == "filed" and filed["filed_at"] == opens
    late = _draft(engine, tables, waybill="YT7500000000032", claim_type="ship_delay")
    closes = service.get_claim(engine, late)["filing_closes_at"]
    later = closes + timedelta(days=2)  # entered afterwards: a filing is recorded once it is made
    filed = service.file_claim(engine, claim_id=late, reference_no="R", actor="a", now=later, filed_on=day_of(closes))
    assert filed["filed_at"] == day_of(closes)[0] <= closes
    with pytest.raises(TrackerError, match="filing window closed"):
        service.file_claim(
            engine,
            claim_id=_draft(engine, tables, waybill="YT7500000000033", claim_type="ship_delay"),
            reference_no="R",
            actor="a",
            now=later,
            filed_on=day_of(closes + timedelta(days=1)),
        )


@pytest.mark.parametrize(
    ("moves", "error"),
    [
        (["pay"], "claim \\d+ is draft; it cannot become paid"),
        (["file", "file"], "is filed; it cannot become filed"),
        (["withdraw", "file"], "is withdrawn; it cannot become filed"),
        (["file", "reject", "pay"], "is rejected; it cannot become paid"),
    ],
)
def test_invalid_transitions_are_clear_errors(
    engine: Engine, tables: ClaimTables, moves: list[str], error: str
) -> None:
    claim_id = _draft(engine, tables)
    at = ORDER + timedelta(days=8)
    actions = {
        "file": lambda: service.file_claim(engine, claim_id=claim_id, reference_no="R", actor="a", now=at),
        "pay": lambda: service.pay_claim(engine, claim_id=claim_id, amount=D(1), actor="a", now=at),
        "reject": lambda: service.reject_claim(engine, claim_id=claim_id, reason="超时", actor="a", now=at),
        "withdraw": lambda: service.withdraw_claim(engine, claim_id=claim_id, actor="a", now=at),
    }
    for move in moves[:-1]:
        actions[move]()
    with pytest.raises(TrackerError, match=error):
        actions[moves[-1]]()


def test_unfiled_claims_expire_when_the_window_closes(engine: Engine, tables: ClaimTables) -> None:
    claim_id = _draft(engine, tables, claim_type="ship_delay")  # window: order + 180 days
    closes = service.get_claim(engine, claim_id)["filing_closes_at"]
    assert closes == ORDER + timedelta(days=180)
    assert [c["id"] for c in service.closing_soon(engine, tables=tables, now=closes - timedelta(days=2))] == [claim_id]
    assert service.expire_due(engine, now=closes) == 0  # inclusive: still open at closing
    with pytest.raises(TrackerError, match="filing window closed"):
        service.file_claim(engine, claim_id=claim_id, reference_no="R", actor="a", now=closes + timedelta(minutes=1))
    assert service.expire_due(engine, now=closes + timedelta(minutes=1)) == 1
    assert service.get_claim(engine, claim_id)["state"] == "expired"
    assert _audit(engine, claim_id)[-1] == "claim.expired"

    # the lead filed it with the courier the day before it closed and enters it three days later: the filing
    # date decides, so the expired claim becomes filed; a date after it closed, or after now, is refused
    entered = closes + timedelta(days=3)
    with pytest.raises(TrackerError, match="after now"):
        service.file_claim(engine, claim_id=claim_id, reference_no="R", actor="a", now=entered, filed_at=entered + HOUR)
    with pytest.raises(TrackerError, match="filing window closed"):
        service.file_claim(engine, claim_id=claim_id, reference_no="R", actor="a", now=entered, filed_at=closes + HOUR)
    filed = service.file_claim(
        engine, claim_id=claim_id, reference_no="YTC-9", actor="a", now=entered, filed_at=closes - timedelta(days=1)
    )
    assert filed["state"] == "filed" and filed["filed_at"] == closes - timedelta(days=1)
    assert _audit(engine, claim_id)[-1] == "claim.filed"


def test_packet_xlsx_read_back_cell_by_cell(engine: Engine, tables: ClaimTables, tmp_path: Path) -> None:
    from tracker.flags.facts import record_fact
    from tracker.labels import state_label
    from tracker.masking import mask_address, mask_name, mask_phone
    from tracker.settings import load_settings
    from tracker.status import FactKind

    couriers = load_settings().couriers
    pid = _parcel(
        engine,
        "YT7500000000020",
        recipient=mask_name("张三丰"),
        phone_masked=mask_phone("13812341234"),
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address_detail=mask_address("文三路100号3幢"),
        goods_title="羊毛围巾 灰色",
        forward_freight=D("8.00"),
        shop="旗舰店",
    )
    _flag(engine, pid, "lost")
    claim_id = service.open_claim(
        engine, parcel_id=pid, claim_type="goods_lost", scenario="default", tables=tables, actor="lead.wang", now=NOW
    )
    with engine.begin() as conn:
        conn.execute(insert(TrackingEventRow), [
            {"parcel_id": pid, "event_time": ORDER + timedelta(hours=8), "status": "picked_up", "raw_code": "1",
             "text": "【杭州市萧山区公司】已揽收", "text_hash": "a" * 16, "location": "杭州市", "ingested_at": NOW,
             "source": "kuaidi100"},
            {"parcel_id": pid, "event_time": ORDER + timedelta(days=1), "status": "in_transit", "raw_code": "0",
             "text": "【杭州转运中心】已发出", "text_hash": "b" * 16, "location": None, "ingested_at": NOW,
             "source": ""},
        ])  # fmt: skip
    record_fact(
        engine,
        waybill="YT7500000000020",
        kind=FactKind.loss_confirmed,
        actor="王芳",
        now=NOW,
        data={"note": "网点确认遗失", "photos": ["外包装.jpg", "面单.jpg"]},
    )
    service.file_claim(
        engine, claim_id=claim_id, reference_no="YT-LP-0815", actor="lead.wang", now=ORDER + timedelta(days=8)
    )
    from dataclasses import replace

    from claims.tables import Filing

    filing = Filing(
        merchant="悦家旗舰店",
        address="浙江省杭州市余杭区仓前街道1号仓",
        contact="王经理",
        phone="0571-88886666",
        accounts={"yto": "YT0571000123"},
    )
    tables = replace(tables, contracts=tables.contracts.model_copy(update={"filing": filing}))
    out = export_claims(
        tmp_path / "packet.xlsx",
        service.list_claims(engine),
        engine=engine,
        tables=tables,
        tz=SHANGHAI,
        couriers=couriers,
    )
    book = load_workbook(out)
    summary = book["索赔清单"]
    header = [c.value for c in summary[1]]
    row = dict(zip(header, [c.value for c in summary[2]], strict=True))
    assert row["运单号"] == "YT7500000000020" and row["快递公司"] == "圆通速递" and row["理赔类型"] == "货物丢失"
    assert row["收件人"] == "张**" and row["收件人电话"] == "138****1234"
    assert row["收件地址"] == "浙江省 杭州市 西湖区 文三路****" and row["托寄物(商品)"] == "羊毛围巾 灰色"
    assert row["索赔金额"] == 268.5 and row["货值"] == 268.5 and row["正向运费"] == 8
    assert row["计算方式"] == "货款金额 268.50"  # the engine's Chinese rendering, not the stored English
    assert row["状态"] == state_label("filed", "zh") == "已提交" and row["理赔单号"] == "YT-LP-0815"
    assert row["可申请日期"] == "2026-11-08 10:00" and row["申请截止"] == "2027-11-01 10:00"  # Shanghai time
    assert row["索赔原因"] == "货物丢失 (一般情形); 异常: 丢件; 已记录: 快递确认丢件"
    assert row["附件清单"] == "外包装.jpg、面单.jpg" and row["币种"] == "人民币"
    assert row["情形"] == "一般情形" and "#" in row["证据"]
    assert (row["寄件人(商家)"], row["月结账号"], row["联系人"], row["联系电话"]) == (
        "悦家旗舰店",
        "YT0571000123",
        "王经理",
        "0571-88886666",
    )
    assert row["下单时间"] == "2026-11-01 10:00" and row["保价金额"] is None  # 保价 is left for the lead
    money = summary.cell(row=2, column=header.index("索赔金额") + 1)
    assert money.data_type == "n" and "¥" in money.number_format
    evidence = book[f"#{claim_id} YT7500000000020"]
    lines = [[c for c in r if c is not None] for r in evidence.iter_rows(values_only=True)]
    form = {r[0]: r[1] for r in lines if len(r) == 2}
    assert form["快递公司"] == "圆通速递" and form["收件人"] == "张**" and form["状态"] == "已提交"
    timeline = lines[lines.index(["物流轨迹"]) + 1 :][:3]
    assert timeline == [
        ["时间", "物流状态", "快递描述", "地点", "来源"],
        ["2026-11-01 18:00", "已揽收", "【杭州市萧山区公司】已揽收", "杭州市", "快递100"],
        ["2026-11-02 10:00", "运输中", "【杭州转运中心】已发出"],
    ]
    facts = lines[lines.index(["记录的事实"]) + 1 :][:2]
    assert facts[1] == ["2026-11-23 12:00", "快递确认丢件", "王芳", "备注: 网点确认遗失"]
    assert lines[lines.index(["附件清单"]) + 2 :][:2] == [["外包装.jpg"], ["面单.jpg"]]
    for sheet in book.worksheets:
        assert not [c.coordinate for r in sheet.iter_rows() for c in r if c.data_type == "f"]
    csv_text = export_claims(
        tmp_path / "packet.csv",
        service.list_claims(engine),
        engine=engine,
        tables=tables,
        tz=SHANGHAI,
        couriers=couriers,
    ).read_text(encoding="utf-8-sig")
    assert "物流轨迹" in csv_text and "2026-11-01 18:00 [已揽收] 【杭州市萧山区公司】已揽收 (杭州市)" in csv_text
    assert "圆通速递" in csv_text and "2026-11-23 12:00 快递确认丢件 (王芳): 备注: 网点确认遗失" in csv_text


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (
            lambda e, i: service.file_claim(e, claim_id=i, reference_no="  ", actor="a", now=NOW),
            "needs the courier's reference number",
        ),
        (
            lambda e, i: service.pay_claim(e, claim_id=i, amount=D("-1.00"), actor="a", now=NOW),
            "a payout is not negative",
        ),
        (
            lambda e, i: service.reject_claim(e, claim_id=i, reason="", actor="a", now=NOW),
            "a rejection needs the courier's reason",
        ),
        (  # a page pasted for the reason (tracker/notes.py)
            lambda e, i: service.reject_claim(e, claim_id=i, reason="超时" * 501, actor="a", now=NOW),
            "the reason is longer than 1000 characters",
        ),
        (
            lambda e, i: service.withdraw_claim(e, claim_id=i, note="重复" * 501, actor="a", now=NOW),
            "the note is longer than 1000 characters",
        ),
        (lambda e, i: service.get_claim(e, 999_999), "no claim with id 999999"),
    ],
)
def test_bad_ledger_input_is_refused_and_changes_nothing(
    engine: Engine, tables: ClaimTables, action, error: str
) -> None:  # type: ignore[no-untyped-def]
    claim_id = _draft(engine, tables)
    with pytest.raises(TrackerError, match=error):
        action(engine, claim_id)
    assert service.get_claim(engine, claim_id)["state"] == "draft"
    assert _audit(engine, claim_id) == ["claim.draft"]


def test_open_claim_twice_for_one_type_is_refused(engine: Engine, tables: ClaimTables) -> None:
    claim_id = _draft(engine, tables)
    parcel_id = service.get_claim(engine, claim_id)["parcel_id"]
    with pytest.raises(TrackerError, match="YT7500000000020 already has a goods_lost claim"):
        service.open_claim(
            engine, parcel_id=parcel_id, claim_type="goods_lost", scenario="default", tables=tables, actor="a", now=NOW
        )


def test_reconciliation_before_anything_was_filed_is_empty(engine: Engine, tables: ClaimTables) -> None:
    _draft(engine, tables)  # a draft is not filed: nothing to reconcile yet
    assert reconcile(engine, tz=SHANGHAI) == []


def test_a_claim_type_of_the_other_direction_is_refused(engine: Engine, tables: ClaimTables) -> None:
    """The claim table files 退货延迟 against the return's 退货入库单 and 发货延迟 against the shipment's 交易出库单
    (config/claims/courier_claims.toml documents): opened on a parcel of the other direction it is refused in
    one line naming the documents; 货物丢失 is filed against both and opens on either."""
    shipped = _parcel(engine, "YT7500000000031")
    returned = _parcel(engine, "YT7500000000032", direction=Direction.ret)

    def open_on(pid: int, claim_type: str) -> int:
        return service.open_claim(
            engine, parcel_id=pid, claim_type=claim_type, scenario="default", tables=tables, actor="lead.wang", now=NOW
        )

    with pytest.raises(TrackerError) as err:
        open_on(shipped, "return_delay")
    assert (
        str(err.value) == "waybill YT7500000000031 is a shipment: return_delay (退货延迟) is filed against 退货入库单"
    )
    assert (err.value.code, err.value.params["direction"]) == ("claim_direction", "outbound")
    with pytest.raises(TrackerError, match="is a buyer's return: ship_delay .发货延迟. is filed against 交易出库单"):
        open_on(returned, "ship_delay")
    assert service.list_claims(engine) == []
    assert open_on(returned, "return_delay") and open_on(returned, "goods_lost") and open_on(shipped, "goods_lost")


def test_which_documents_fit_which_direction(tables: ClaimTables) -> None:
    (table,) = tables.courier_tables
    fits = {code: (kind.fits("outbound"), kind.fits("return")) for code, kind in table.types.items()}
    assert fits["ship_delay"] == (True, False) and fits["return_delay"] == (False, True)
    assert fits["goods_lost"] == (True, True) and fits["unbox_check"] == (True, True)  # no documents: any parcel
    own = table.types["ship_delay"].model_copy(update={"documents": ("交易出库单", "售后单")})
    assert own.fits("return")  # a document the table does not know (a contract's own) holds nobody back


def test_a_claim_lacking_an_input_is_completed_by_a_later_import(engine: Engine, tables: ClaimTables) -> None:
    """A loss drafted without a goods value (缺参数) becomes a draft with its amount once an export brings the value
    (the next propose, with the claim's own table version); the inputs a person gave a claim are kept when it is
    computed again. Nothing new: nothing written."""
    pid = _parcel(engine, "YT7500000000041", goods_value=None)
    _flag(engine, pid, "lost")
    service.propose(engine, tables=tables, now=NOW)
    (claim,) = service.list_claims(engine)
    assert claim["state"] == "needs_config"
    assert service.propose(engine, tables=tables, now=NOW).inputs_filled == 0  # nothing new yet

    _parcel(engine, "YT7500000000041", goods_value=D("268.50"))  # the order export imported again, with the value
    assert service.propose(engine, tables=tables, now=NOW).inputs_filled == 1
    claim = service.get_claim(engine, claim["id"])
    assert (claim["state"], claim["amount"], claim["missing"]) == ("draft", D("268.50"), None)
    assert _audit(engine, claim["id"]) == ["claim.draft", "claim.recomputed"]

    # a freight claim: the forward freight given by a person, the reverse one by a courier bill imported later
    late = _parcel(engine, "YT7500000000042", status="returned", last_event_at=ORDER + timedelta(hours=5 + 100))
    freight = service.open_claim(
        engine, parcel_id=late, claim_type="freight", scenario="default", tables=tables, actor="lead.wang", now=NOW
    )
    service.set_input(engine, claim_id=freight, tables=tables, actor="lead.wang", now=NOW, forward_freight=D("12"))
    assert service.get_claim(engine, freight)["state"] == "needs_config"
    _parcel(engine, "YT7500000000042", status="returned", return_freight=D("15.00"))
    assert service.propose(engine, tables=tables, now=NOW).inputs_filled == 1
    assert service.get_claim(engine, freight)["amount"] == D("27.00")


def test_a_damaged_parcels_claim_takes_the_supplier_value_an_import_brings(
    engine: Engine, tables: ClaimTables, tmp_path: Path
) -> None:
    """A damaged parcel's claim asks for the supplier's value (配件类货品破损按照供货商货值); a cost export imported
    later (供货商货值 on the parcel) completes it at the next propose. A value a person gives one claim overrides
    the parcel's for that claim only."""
    pid = _parcel(engine, "YT7500000000051")
    _flag(engine, pid, "damaged")
    service.propose(engine, tables=tables, now=NOW)
    (claim,) = service.list_claims(engine)
    assert (claim["state"], service.inputs_missing(claim["formula"])) == (
        "needs_config",
        {"supplier_value": "supplier_value"},
    )

    _parcel(engine, "YT7500000000051", supplier_value=D("85.40"))
    assert service.propose(engine, tables=tables, now=NOW).inputs_filled == 1
    claim = service.get_claim(engine, claim["id"])
    assert (claim["state"], claim["amount"], claim["missing"]) == ("draft", D("85.40"), None)

    service.set_input(engine, claim_id=claim["id"], tables=tables, actor="lead.wang", now=NOW, supplier_value=D("90"))
    assert service.get_claim(engine, claim["id"])["amount"] == D("90.00")
    with engine.connect() as conn:  # the parcel's own value is the export's
        assert conn.execute(select(ParcelRow.supplier_value).where(ParcelRow.id == pid)).scalar_one() == D("85.40")
    # the claim packet names the base the courier pays by, as the claim was computed
    book = load_workbook(export_claims(tmp_path / "packet.xlsx", service.list_claims(engine), engine=engine,
                                       tables=tables, tz=ZoneInfo("Asia/Shanghai")))  # fmt: skip
    header, values = ([c.value for c in r] for r in list(book["索赔清单"].iter_rows(max_row=2)))
    row = dict(zip(header, values, strict=True))
    # the value the claim was computed with, the person's (it showed the parcel's 85.40 beside 索赔金额 90)
    assert (row["供货商货值"], row["货值"], row["索赔金额"]) == (90, 268.5, 90)


def test_a_late_returns_window_counts_from_the_return_not_from_the_buyers_order(
    engine: Engine, tables: ClaimTables
) -> None:
    """退货延迟 is filed against the 退货入库单 within 14 days of it (投诉时效 订单产生之后的14天). A return of an order placed
    on 11-01, agreed on 11-20: its window runs to 12-04 (it closed 11-15, before the return existed)."""
    agreed = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    returned = _parcel(engine, "YT7500000000041", direction=Direction.ret, return_agreed_at=agreed)
    claim_id = service.open_claim(
        engine,
        parcel_id=returned,
        claim_type="return_delay",
        scenario="default",
        tables=tables,
        actor="lead.wang",
        now=NOW,
    )
    [claim] = [c for c in service.list_claims(engine) if c["id"] == claim_id]
    assert claim["state"] != "expired"
    closes = claim["filing_closes_at"].astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert closes == date(2026, 12, 4), claim["filing_closes_at"]


def test_a_loss_after_a_damage_claim_is_named_not_dropped(engine: Engine, tables: ClaimTables) -> None:
    """A damaged parcel got its 配件破损 claim (goods_lost, accessory_damaged); then the courier confirms it lost,
    which seed 002 pays by the goods' value. A parcel has one claim of a type, so the loss is not drafted: the
    daily run says so (it dropped it without a word); the same proposal again is no news."""
    pid = _parcel(engine, "YT7500000000061")
    _flag(engine, pid, "damaged")
    service.propose(engine, tables=tables, now=NOW)
    (damage,) = service.list_claims(engine)
    service.set_input(engine, claim_id=damage["id"], tables=tables, actor="lead.wang", now=NOW, supplier_value=D("90"))
    _flag(engine, pid, "lost")
    summary = service.propose(engine, tables=tables, now=NOW)
    (claim,) = service.list_claims(engine)
    assert [s for s in summary.skipped if s.startswith("YT7500000000061")] == [
        f"YT7500000000061: Goods lost is already claimed as Accessory damaged (claim #{claim['id']}, Draft); "
        "Standard is not drafted (a parcel has one claim of a type: withdraw it, then open the claim again)"
    ]
    # withdrawn, the claim opens again as the loss (it was refused: the parcel already had a goods_lost claim)
    service.withdraw_claim(engine, claim_id=claim["id"], actor="lead.wang", now=NOW, note="配件破损 -> 丢失")
    again = service.open_claim(
        engine, parcel_id=pid, claim_type="goods_lost", scenario="default", tables=tables, actor="lead.wang", now=NOW
    )
    claim = service.get_claim(engine, again)
    assert (again, claim["scenario"], claim["state"], claim["amount"]) == (claim["id"], "default", "draft", D("268.50"))
    # what was given to the withdrawn claim is not the new one's (a supplier value for a scenario it no longer is)
    assert service.with_inputs_given(engine, [claim])[0]["inputs_given"] == frozenset()
    # the board's way: the parcel's flags open their claims, a withdrawn one among them (shown first, then drafted)
    service.withdraw_claim(engine, claim_id=again, actor="lead.wang", now=NOW)
    assert [r["claim_type"] for r in service.preview_claims(engine, parcel_id=pid, tables=tables, now=NOW)] == [
        "goods_lost"
    ]
    [opened] = service.open_claims(engine, parcel_ids=[pid], tables=tables, actor="lead.wang", now=NOW)
    assert (opened["id"], opened["state"]) == (again, "draft")
    with pytest.raises(TrackerError, match="already has a goods_lost claim"):  # open, it still holds the type
        service.open_claim(
            engine, parcel_id=pid, claim_type="goods_lost", scenario="default", tables=tables, actor="a", now=NOW
        )


def test_a_parcel_in_another_currency_is_claimed_in_the_tables(
    engine: Engine, tables: ClaimTables, tmp_path: Path
) -> None:
    """A Tmall Global parcel's goods value is 500.00 HKD; the claim tables pay CNY. Its loss lacks the goods value
    (it was claimed as 500.00 CNY) until a lead gives it in CNY."""
    pid = _parcel(engine, "YT7500000000071", goods_value=D("500.00"), currency="HKD")
    _flag(engine, pid, "lost")
    service.propose(engine, tables=tables, now=NOW)
    (claim,) = service.list_claims(engine)
    assert (claim["state"], claim["amount"], claim["currency"]) == ("needs_config", None, "CNY")
    service.set_input(engine, claim_id=claim["id"], tables=tables, actor="lead.wang", now=NOW, goods_value=D("458.00"))
    claim = service.get_claim(engine, claim["id"])
    assert (claim["state"], claim["amount"], claim["currency"]) == ("draft", D("458.00"), "CNY")
    # its packet writes the parcel's own amounts with their currency, the one given in CNY as a yuan number
    from openpyxl import load_workbook

    book = load_workbook(export_claims(tmp_path / "hkd.xlsx", service.list_claims(engine), engine=engine,
                                       tables=tables, tz=ZoneInfo("Asia/Shanghai")))  # fmt: skip
    header, values = ([c.value for c in r] for r in list(book["索赔清单"].iter_rows(max_row=2)))
    row = dict(zip(header, values, strict=True))
    assert (row["货值"], row["索赔金额"]) == (458, 458)
    _parcel(engine, "YT7500000000071", forward_freight=D("12.00"), currency="HKD")
    book = load_workbook(export_claims(tmp_path / "hkd2.xlsx", service.list_claims(engine), engine=engine,
                                       tables=tables, tz=ZoneInfo("Asia/Shanghai")))  # fmt: skip
    header, values = ([c.value for c in r] for r in list(book["索赔清单"].iter_rows(max_row=2)))
    assert dict(zip(header, values, strict=True))["正向运费"] == "12.00 HKD"
