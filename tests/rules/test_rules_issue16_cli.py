"""Issue 16 through the command line on a real database (SQLite; PostgreSQL under TRACKER_TEST_DB=postgresql):
`tracker fact reached|signed|return-weight|trade-succeeded|complaint|complaint-change`, `tracker timers`,
`tracker claims set-input`, and a returns export whose rows have no return waybill yet."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from claims import service
from claims.formula import show
from claims.tables import load_tables
from tracker.cli import app
from tracker.commands.context import error_line
from tracker.errors import TrackerError
from tracker.storage.repo import AUDIT, PARCEL
from tracker.storage.rows import ParcelFactRow

FACT = ParcelFactRow.__table__


@pytest.fixture
def run(settings):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["--config", str(settings.config_dir), *args])
        if isinstance(result.exception, TrackerError):
            return 2, error_line(result.exception)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    return invoke


def _flags(run, waybill: str) -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    code, out = run("flags", "--format", "json", "--waybill", waybill, "--state", "open")
    assert code == 0, out
    return {r["kind"]: r for r in map(json.loads, out.splitlines())}


def _timers(run, waybill: str, now: str) -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    code, out = run("timers", waybill, "--now", now, "--format", "json")
    assert code == 0, out
    return {r["timer"]: r for r in map(json.loads, out.splitlines()) if "timer" in r}


def test_timers_from_signing_trade_success_and_a_complaint(run, sqlite_db) -> None:  # type: ignore[no-untyped-def]
    signed = datetime(2026, 11, 3, 7, 20, tzinfo=UTC)  # 15:20 in Shanghai
    sqlite_db.parcel(
        created=signed,
        waybill="SF1000000000001",
        courier="sf",
        order_id="T1",
        status="delivered",
        is_open=False,
        first_scan_at=signed,
        last_event_at=signed,
        delivered_at=signed,
    )
    # the 7-day window: 2026-11-04 00:00 +08:00 + 168 h = 2026-11-11 00:00 +08:00 (= 11-10 16:00 UTC)
    timers = _timers(run, "SF1000000000001", "2026-11-11T00:00:00+08:00")
    assert timers["seven_day_return"]["until"] == "2026-11-10T16:00:00Z"
    assert timers["seven_day_return"]["state"] == "open"
    assert _timers(run, "SF1000000000001", "2026-11-11T00:00:01+08:00")["seven_day_return"]["state"] == "closed"

    by = ("--by", "agent.li", "--now", "2026-11-20 12:00")
    assert run("fact", "trade-succeeded", "SF1000000000001", "--at", "2026-11-12 08:00", *by)[0] == 0
    assert run("fact", "complaint", "SF1000000000001", "--at", "2026-11-20 09:00", *by)[0] == 0
    timers = _timers(run, "SF1000000000001", "2026-11-27T08:00:00+08:00")
    assert timers["complaint_window"]["until"] == "2026-11-27T00:00:00Z"
    assert timers["complaint_window"]["state"] == "open"
    assert timers["negotiation"]["until"] == "2026-11-23T01:00:00Z"  # 72 h
    # a change at 48 h exactly keeps it; one in the last 24 h moves it to the change + 24 h
    later = ("--by", "agent.li", "--now", "2026-11-23 08:00")
    run("fact", "complaint-change", "SF1000000000001", "--at", "2026-11-22 09:00", *later)
    assert (
        _timers(run, "SF1000000000001", "2026-11-23T08:00:00+08:00")["negotiation"]["until"] == "2026-11-23T01:00:00Z"
    )
    run("fact", "complaint-change", "SF1000000000001", "--at", "2026-11-22 21:30", *later)
    timer = _timers(run, "SF1000000000001", "2026-11-23T08:00:00+08:00")["negotiation"]
    assert timer["until"] == "2026-11-23T13:30:00Z" and timer["extended"] is True
    # JSON keeps the codes; the table names the timers, their state and the extension (tracker.labels)
    code, out = run("timers", "SF1000000000001", "--now", "2026-11-23T08:00:00+08:00")
    assert code == 0, out
    assert "Not-received complaint negotiation" in out and "Extended" in out and "Timer" in out
    assert "complaint_window" not in out and "seven_day_return" not in out and "True" not in out
    # time left in days and hours (JSON keeps the hours); a closed timer has none
    assert "Time left" in out and "│ 13 h " in out and "│ 4 d " in out and "0 h" not in out
    code, out = run("timers", "SF1000000000001", "--now", "2026-12-30T08:00:00+08:00")
    assert "Closed" in out and "Open" not in out
    # a time after --now is one clear line
    code, out = run("fact", "complaint", "SF1000000000001", "--at", "2026-11-25 09:00", *by)
    assert code == 2 and out.startswith("error: --at: ") and "later than now" in out
    assert "2026-11-25 09:00 is later than now (2026-11-20 12:00, Asia/Shanghai)" in out, out  # the shop's clock


def test_late_shipment_exposure_on_the_cli_and_the_flag(run, sqlite_db) -> None:  # type: ignore[no-untyped-def]
    paid = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    sqlite_db.parcel(
        created=paid, waybill="YT2000000000001", order_id="L1", paid_at=paid, goods_value=Decimal("899.00")
    )
    code, out = run("timers", "YT2000000000001", "--now", "2026-11-23 12:00")
    assert "30% x 899.00 = 269.70 CNY (26,970 Tmall points)" in out
    code, out = run("timers", "YT2000000000001", "--now", "2026-11-23 12:00", "--format", "json")
    assert json.loads(out.splitlines()[-1]) == {
        "late_shipment_exposure_cny": "269.70",
        "tmall_points": 26970,
        "price": "899.00",
        "capped": False,
    }
    # 72 h after payment (72小时后: inclusive) the flag opens with the amount
    assert run("evaluate", "--now", "2026-11-23T08:59:59+08:00")[0] == 0
    assert "late_shipment" not in _flags(run, "YT2000000000001")
    run("evaluate", "--now", "2026-11-23T09:00:00+08:00")
    flag = _flags(run, "YT2000000000001")["late_shipment"]
    assert "269.70元(26,970天猫积分)" in flag["next_action_zh"]
    assert flag["details"]["exposure_cny"] == "269.70" and flag["details"]["exposure_points"] == 26970


def test_facts_on_the_cli_drive_the_rules(run, sqlite_db) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    sqlite_db.parcel(
        created=at,
        waybill="SF3000000000001",
        courier="sf",
        order_id="F1",
        status="delivered",
        is_open=False,
        first_scan_at=at,
        last_event_at=at,
        delivered_at=at,
    )
    sqlite_db.parcel(created=at, waybill="YT3000000000002", order_id="F2", return_agreed_at=at)
    sqlite_db.parcel(created=at, waybill="ZT3000000000003", courier="zto", order_id="F3", direction="return")
    by = ("--by", "agent.li", "--now", "2026-11-23 12:00")

    # a third party signed without the buyer's consent: delivered_disputed with the seed's action
    code, out = run("fact", "signed", "SF3000000000001", "--no-consent", "--signer", "门卫", *by)
    assert code == 0 and "signature without the buyer's consent" in out
    # the buyer had not been reachable twice, then answered: not abandoned
    for _ in range(2):
        run("fact", "unreachable", "YT3000000000002", *by)
    run("fact", "reached", "YT3000000000002", *by)
    # the return weighs 0.80 kg against 1.20 kg shipped
    assert run("fact", "return-weight", "ZT3000000000003", "--shipped", "1.20", "--returned", "0.80kg", *by)[0] == 0
    run("evaluate", "--now", "2026-11-23 12:00")
    disputed = _flags(run, "SF3000000000001")["delivered_disputed"]
    assert "未经买家同意代签" in disputed["next_action_zh"] and disputed["details"]["signer"] == "门卫"
    assert "return_abandoned" not in _flags(run, "YT3000000000002")
    partial = _flags(run, "ZT3000000000003")["return_partial"]
    assert partial["details"]["shipped_g"] == 1200 and partial["details"]["returned_g"] == 800

    # two further failed attempts after the contact count again
    for _ in range(2):
        run("fact", "unreachable", "YT3000000000002", *by)
    run("evaluate", "--now", "2026-11-23 12:00")
    assert "return_abandoned" in _flags(run, "YT3000000000002")

    # the buyer had asked for it after all: the newest signature fact decides; with no complaint it resolves
    code, out = run("fact", "signed", "SF3000000000001", "--consent", "--locker", *by)
    assert "signature the buyer asked for" in out
    run("evaluate", "--now", "2026-11-23 12:00")
    assert "delivered_disputed" not in _flags(run, "SF3000000000001")

    code, out = run("fact", "return-weight", "ZT3000000000003", "--shipped", "heavy", "--returned", "1", *by)
    assert code == 2 and out == "error: --shipped: expected a weight in kg such as 1.25, got 'heavy'"
    code, out = run("fact", "signed", "SF3000000000001", *by)
    assert code != 0  # --consent or --no-consent must be said


def test_set_input_completes_a_needs_config_claim_keeping_its_table(run, settings, sqlite_db) -> None:  # type: ignore[no-untyped-def]
    order = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    pid = sqlite_db.parcel(
        created=order,
        waybill="SF4000000000001",
        courier="sf",
        order_id="C1",
        order_created_at=order,
        goods_value=Decimal("500.00"),
    )
    tables = load_tables(settings.config_dir / "claims")
    now = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
    claim_id = service.open_claim(
        sqlite_db.engine,
        parcel_id=pid,
        claim_type="not_to_door",
        scenario="refused",
        tables=tables,
        actor="lead.wang",
        now=now,
    )
    claim = service.get_claim(sqlite_db.engine, claim_id)
    assert claim["state"] == "needs_config" and claim["amount"] is None
    version = claim["table_version"]

    at = ("--by", "lead.wang", "--now", "2026-11-10 12:00")
    code, out = run("claims", "set-input", str(claim_id), "--forward-freight", "12.00", *at)
    assert code == 0 and "still needs" in out
    code, out = run("claims", "set-input", str(claim_id), "--fixed-amount", "100", "--reverse-freight", "15.00", *at)
    assert code == 0, out
    claim = service.get_claim(sqlite_db.engine, claim_id)
    # the forward freight given first is kept: fixed 100 + 12 + 15
    assert claim["state"] == "draft" and claim["amount"] == Decimal("127.00") and claim["missing"] is None
    assert claim["table_version"] == version and "fixed 100.00 (set on the claim)" in show(claim["formula"])
    assert "固定金额 100.00(理赔单上填写)" in show(claim["formula"], "zh")
    assert "127.00 CNY" in out and f"table {version}" in out
    # now it can be filed; a filed claim takes no new input
    assert run("claims", "file", str(claim_id), "--ref", "SF-TS-9", *at)[0] == 0
    code, out = run("claims", "set-input", str(claim_id), "--fixed-amount", "50", *at)
    assert code == 2 and out == f"error: claim {claim_id} is filed: only an unfiled claim takes new inputs"
    code, out = run("claims", "set-input", str(claim_id), *at)
    assert code == 2 and "give at least one input" in out
    with sqlite_db.engine.connect() as conn:
        actions = conn.execute(select(AUDIT.c.action).where(AUDIT.c.entity == "claim", AUDIT.c.entity_id == claim_id))
        assert list(actions.scalars()).count("claim.set_input") == 2


def test_claimable_total_excludes_a_closed_window_without_propose(run, settings, sqlite_db) -> None:  # type: ignore[no-untyped-def]
    order = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
    pid = sqlite_db.parcel(
        created=order,
        waybill="SF5000000000001",
        courier="sf",
        order_id="C2",
        order_created_at=order,
        issued_at=order,
        goods_value=Decimal("268.50"),
    )
    tables = load_tables(settings.config_dir / "claims")
    claim_id = service.open_claim(
        sqlite_db.engine,
        parcel_id=pid,
        claim_type="ship_delay",
        scenario="default",
        tables=tables,
        actor="lead.wang",
        now=order,
    )
    closes = service.get_claim(sqlite_db.engine, claim_id)["filing_closes_at"]
    from claims.money import claimable

    assert claimable(sqlite_db.engine, now=closes).amount == Decimal("80.55")  # the last second: inside
    assert claimable(sqlite_db.engine, now=closes + timedelta(seconds=1)).amount == Decimal("0.00")
    assert service.get_claim(sqlite_db.engine, claim_id)["state"] == "draft"  # nobody ran propose
    # the claims page's totals by state read it the same way: an expired draft at read time
    from dashboard.data import claims_by_state

    by_state = {r["state"]: (r["n"], Decimal(r["amount"])) for r in claims_by_state(sqlite_db.engine, now=closes)}
    assert by_state == {"draft": (1, Decimal("80.55"))}
    later = claims_by_state(sqlite_db.engine, now=closes + timedelta(seconds=1))
    assert {r["state"]: r["n"] for r in later} == {"expired": 1}


RETURNS = [
    "退款编号",
    "订单编号",
    "买家会员名",
    "买家退款金额",
    "卖家同意退货时间",
    "超时时间",
    "退货物流公司",
    "退货物流单号",
]


def test_returns_rows_without_a_waybill_become_return_agreed_cases(run, tmp_path: Path, sqlite_db) -> None:  # type: ignore[no-untyped-def]
    shipped = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    sqlite_db.parcel(
        created=shipped,
        waybill="YT6000000000001",
        order_id="6001",
        shipped_at=shipped,
        status="delivered",
        is_open=False,
        first_scan_at=shipped,
        last_event_at=shipped,
    )
    path = tmp_path / "refunds.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(RETURNS)
        writer.writerow(["R1", "6001", "tb_zhou", "99.00", "2026-11-20 10:00:00", "2026-11-30 10:00:00", "", ""])
        writer.writerow(["R2", "6999", "tb_wu", "59.00", "2026-11-20 10:00:00", "", "", ""])  # no such order
        writer.writerow(["R3", "", "tb_zheng", "59.00", "2026-11-20 10:00:00", "", "", ""])  # nothing to key on
    code, out = run("import", "parcels", str(path), "--now", "2026-11-21 09:00")
    assert "6999" in out and "import the order export first" in out and "no order id" in out
    assert "1 return(s) agreed without a return waybill yet" in out
    with sqlite_db.engine.connect() as conn:
        parcel = conn.execute(select(PARCEL).where(PARCEL.c.waybill == "YT6000000000001")).one()
        facts = conn.execute(select(FACT.c.kind, FACT.c.recorded_by).where(FACT.c.parcel_id == parcel.id)).all()
    assert parcel.return_agreed_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert parcel.refund_deadline == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    assert facts == [("return_agreed", "import")]
    # 超过2天没有物流单: strictly after 48 h
    run("evaluate", "--now", "2026-11-22 10:00:00")
    assert "return_no_waybill" not in _flags(run, "YT6000000000001")
    run("evaluate", "--now", "2026-11-22 10:00:01")
    assert "return_no_waybill" in _flags(run, "YT6000000000001")
    # importing the same file again records nothing twice
    run("import", "parcels", str(path), "--now", "2026-11-22 09:00")
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(select(FACT.c.id).where(FACT.c.parcel_id == parcel.id)).all().__len__() == 1


def test_a_signature_recorded_after_a_complaint_rewrites_the_open_flag(run, sqlite_db) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    sqlite_db.parcel(
        created=at,
        waybill="SF3100000000001",
        courier="sf",
        order_id="G1",
        status="delivered",
        is_open=False,
        first_scan_at=at,
        last_event_at=at,
        delivered_at=at,
    )
    by = ("--by", "agent.li", "--now", "2026-11-23 12:00")
    run("fact", "not-received", "SF3100000000001", *by)
    run("evaluate", "--now", "2026-11-23 12:00")
    assert "核对签收人" in _flags(run, "SF3100000000001")["delivered_disputed"]["next_action_zh"]
    run("fact", "signed", "SF3100000000001", "--no-consent", "--signer", "快递柜", "--locker", *by)
    run("evaluate", "--now", "2026-11-23 12:05")
    flag = _flags(run, "SF3100000000001")["delivered_disputed"]
    assert "未经买家同意代签" in flag["next_action_zh"] and flag["details"]["signer"] == "快递柜"
    run("fact", "signed", "SF3100000000001", "--consent", *by)
    run("evaluate", "--now", "2026-11-23 12:10")
    flag = _flags(run, "SF3100000000001")["delivered_disputed"]  # the complaint stands, now the buyer's doing
    assert "代签是买家同意的" in flag["next_action_zh"]


def test_the_order_exports_trade_success_time_starts_the_complaint_window(run, tmp_path: Path, sqlite_db) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "orders.csv"
    path.write_text(
        "订单编号,物流公司,物流单号,买家实际支付金额,确认收货时间\n"
        "8001,圆通速递,YT8000000000001,99.00,2026-11-12 08:00:00\n"
        "8002,圆通速递,YT8000000000002,99.00,昨天\n",
        encoding="utf-8",
    )
    code, out = run("import", "parcels", str(path), "--now", "2026-11-20 09:00")
    assert "1 交易成功 time(s) recorded" in out and "确认收货时间 = '昨天'" in out  # the file's own header
    timer = _timers(run, "YT8000000000001", "2026-11-27T08:00:00+08:00")["complaint_window"]
    assert timer["until"] == "2026-11-27T00:00:00Z" and timer["state"] == "open"
    assert _timers(run, "YT8000000000001", "2026-11-27T08:00:01+08:00")["complaint_window"]["state"] == "closed"
    run("import", "parcels", str(path), "--now", "2026-11-21 09:00")  # again: nothing recorded twice
    with sqlite_db.engine.connect() as conn:
        assert len(conn.execute(select(FACT.c.id).where(FACT.c.kind == "trade_succeeded")).all()) == 1
