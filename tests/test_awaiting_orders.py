"""Orders paid and not shipped yet (买家已付款，等待卖家发货) are watched for 延迟发货: a full Taobao order export's
rows without a waybill were counted and skipped, so late_shipment never fired for the orders a warehouse is
late with, only for parcels with a pre-printed label and no 发货时间. Such an order is kept as the parcel it
will become (no courier yet, the order number in the waybill's place, never polled), raises late_shipment
alone, and becomes its parcel when a file brings the waybill; a closed order stops waiting. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from tests.test_importer import TAOBAO_FULL, _write_csv
from tracker.alerts.store import load_flags
from tracker.couriers.detect import CourierIndex
from tracker.domain import AWAITING_COURIER, awaiting_waybill
from tracker.flags import evaluate_all
from tracker.flags.views import load_views
from tracker.importer import ImportReport, import_parcels
from tracker.labels import courier_name
from tracker.poller import select_due
from tracker.rules import evaluate_parcel
from tracker.rules.policy import resolve_policy
from tracker.settings import Settings
from tracker.storage.tables import FLAG, PARCEL

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _row(order: str, status: str, *, paid: str = "2026-11-19 10:00:00", waybill: str = "", courier: str = "") -> list:
    """A row of Taobao's full order export (已卖出的宝贝) in its own column order."""
    row = dict.fromkeys(TAOBAO_FULL, "")
    row.update({
        "订单编号": order, "买家会员名": "tb_li", "买家应付货款": "200.00", "买家实际支付金额": "200.00",
        "订单状态": status, "收货人姓名": "李雷", "收货地址": "浙江省 杭州市 西湖区 文三路1号", "联系手机": "13812345678",
        "订单创建时间": "2026-11-19 09:58:00", "订单付款时间": paid, "宝贝标题": "保温杯", "物流单号": waybill,
        "物流公司": courier,
    })  # fmt: skip
    return [row[h] for h in TAOBAO_FULL]


def _import(path: Path, settings: Settings, engine: Engine, now: datetime = NOW, **kw: Any) -> ImportReport:
    """As `tracker import parcels` does, with import.toml's [orders] words."""
    return import_parcels(
        path,
        engine=engine,
        couriers=CourierIndex(settings.couriers, settings.detection),
        aliases=settings.headers,
        tz=settings.tz,
        now=now,
        not_shipped=settings.not_shipped_statuses,
        awaiting=settings.awaiting_shipment_statuses,
        closed=settings.closed_order_statuses,
        shipped=settings.shipped_order_statuses,
        **kw,
    )


def _parcels(engine: Engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["waybill"]: dict(r) for r in conn.execute(select(PARCEL)).mappings()}


def _flags(engine: Engine) -> dict[tuple[int, str], dict]:
    with engine.connect() as conn:
        return {(r["parcel_id"], r["kind"]): dict(r) for r in conn.execute(select(FLAG)).mappings()}


@pytest.fixture
def waiting(tmp_path: Path, settings: Settings, engine: Engine) -> tuple[Engine, ImportReport]:
    rows = [
        _row("4101", "买家已付款，等待卖家发货"),  # paid 4 days ago: past the 72 hours
        _row("4102", "买家已付款，等待卖家发货", paid="2026-11-22 10:00:00"),  # paid yesterday: not late yet
        _row("4103", "等待买家付款", paid=""),  # unpaid: nothing owed yet
        _row("4104", "卖家已发货，等待买家确认", waybill="SF1402000000191", courier="顺丰速运"),
    ]
    report = _import(_write_csv(tmp_path / "ExportOrderList.csv", TAOBAO_FULL, rows), settings, engine)
    return engine, report


def test_an_order_awaiting_shipment_is_kept_and_raises_late_shipment_alone(waiting, settings: Settings) -> None:
    engine, report = waiting
    assert (report.awaiting, report.not_shipped, report.rejected_rows, report.errors) == (2, 1, 0, [])
    parcels = _parcels(engine)
    kept = parcels[awaiting_waybill("4101")]
    assert kept["courier"] == AWAITING_COURIER and kept["order_id"] == "4101" and kept["is_open"]
    assert kept["next_poll_at"] is None and kept["shipped_at"] is None  # never polled: nothing to ask
    assert kept["paid_at"] == datetime(2026, 11, 19, 2, 0, tzinfo=UTC) and kept["recipient"] == "李*"
    assert courier_name(settings.couriers, kept["courier"], "zh") == "未发货"
    # the poller asks for the shipped parcel only
    assert [p.waybill for p in select_due(engine, now=NOW + timedelta(days=1), limit=100)] == ["SF1402000000191"]
    evaluate_all(engine, now=NOW, settings=settings)
    flags = _flags(engine)
    mine = {kind for (pid, kind) in flags if pid in (kept["id"], parcels[awaiting_waybill("4102")]["id"])}
    assert mine == {"late_shipment"}  # the late one, and nothing else on either order
    assert (kept["id"], "late_shipment") in flags
    assert flags[kept["id"], "late_shipment"]["courier"] == AWAITING_COURIER
    # an agent's alert names it as the board does (it said "运单号: 订单4101 ()")
    (alerted,) = (
        f for f in load_flags(engine, settings, lead_kinds=[], since=NOW, now=NOW) if f.parcel_id == kept["id"]
    )
    assert (alerted.courier_name, alerted.courier_name_en) == ("未发货", "Not shipped yet")
    # the pure rules say the same of it (the parcel page's and the CLI's reading)
    view = load_views(engine, [kept["id"]])[kept["id"]]
    policy = resolve_policy(settings.rules, courier=view.courier, province=view.province, city=view.city)
    assert [str(f.kind) for f in evaluate_parcel(view, now=NOW, policy=policy)] == ["late_shipment"]


def test_the_file_with_its_waybill_makes_the_order_its_parcel(waiting, settings: Settings, tmp_path: Path) -> None:
    engine, _ = waiting
    evaluate_all(engine, now=NOW, settings=settings)
    before = _parcels(engine)[awaiting_waybill("4101")]
    rows = [
        _row("4101", "卖家已发货，等待买家确认", waybill="YT7512345670101", courier="圆通速递"),
        # an older export imported after: the order is not kept waiting again
        _row("4104", "买家已付款，等待卖家发货"),
    ]
    later = NOW + timedelta(hours=2)
    report = _import(_write_csv(tmp_path / "shipped.csv", TAOBAO_FULL, rows), settings, engine, later)
    assert report.errors == []
    parcels = _parcels(engine)
    assert awaiting_waybill("4101") not in parcels and awaiting_waybill("4104") not in parcels
    shipped = parcels["YT7512345670101"]
    assert shipped["id"] == before["id"] and shipped["courier"] == "yto"  # the same row: its history kept
    assert shipped["next_poll_at"] is not None and shipped["paid_at"] == before["paid_at"]
    assert shipped["recipient"] == "李*" and shipped["order_id"] == "4101"
    evaluate_all(engine, now=later, settings=settings)
    flag = _flags(engine)[shipped["id"], "late_shipment"]
    assert flag["state"] == "resolved" and flag["courier"] == "yto"  # shipped: 延迟发货 resolves by itself


def test_merged_orders_become_one_parcel_and_the_others_stop_waiting(waiting, settings: Settings, tmp_path: Path):
    engine, _ = waiting
    rows = [  # two orders of one buyer shipped in one parcel (合并发货): two rows, one waybill
        _row("4101", "卖家已发货，等待买家确认", waybill="YT7512345670202", courier="圆通速递"),
        _row("4102", "卖家已发货，等待买家确认", waybill="YT7512345670202", courier="圆通速递"),
    ]
    _import(_write_csv(tmp_path / "merged.csv", TAOBAO_FULL, rows), settings, engine, NOW + timedelta(hours=1))
    parcels = _parcels(engine)
    assert parcels["YT7512345670202"]["order_id"] == "4101,4102"
    assert not parcels[awaiting_waybill("4102")]["is_open"]  # the second order's waiting closed, not a parcel
    assert awaiting_waybill("4101") not in parcels


def test_an_order_closed_before_it_shipped_stops_waiting(waiting, settings: Settings, tmp_path: Path) -> None:
    engine, _ = waiting
    evaluate_all(engine, now=NOW, settings=settings)
    rows = [_row("4101", "交易关闭")]
    report = _import(_write_csv(tmp_path / "closed.csv", TAOBAO_FULL, rows), settings, engine, NOW)
    assert (report.awaiting_closed, report.not_shipped) == (1, 1)
    kept = _parcels(engine)[awaiting_waybill("4101")]
    assert not kept["is_open"]
    evaluate_all(engine, now=NOW + timedelta(minutes=5), settings=settings)
    assert _flags(engine)[kept["id"], "late_shipment"]["state"] == "resolved"


def test_an_awaiting_order_with_a_wrong_payment_time_is_refused_by_name(tmp_path, settings, engine) -> None:  # type: ignore[no-untyped-def]
    """Its 延迟发货 clock would run from that time: the row is refused, the field named (it was skipped)."""
    rows = [_row("4105", "买家已付款，等待卖家发货", paid="2026-13-40 10:00:00"), _row("4106", "等待买家付款", paid="")]
    report = _import(_write_csv(tmp_path / "bad.csv", TAOBAO_FULL, rows), settings, engine)
    assert [(e.row, e.field) for e in report.errors] == [(2, "paid_at")]
    assert (report.awaiting, report.not_shipped, report.rejected_rows) == (0, 1, 1)
    assert _parcels(engine) == {}


def test_an_order_export_without_shipping_times_shipped_its_orders_by_the_import(tmp_path, settings, engine) -> None:  # type: ignore[no-untyped-def]
    """The classic 已卖出的宝贝 export has no 发货时间: every order it says shipped (卖家已发货, 交易成功) and paid more
    than 72 hours before read as a late shipment. Its shipping time is the import's now (the first import's: a
    later one does not move it); a pre-printed waybill on an order still 等待卖家发货 has not shipped."""
    rows = [
        _row("4201", "卖家已发货，等待买家确认", waybill="SF1402000004201", courier="顺丰速运"),
        _row("4202", "交易成功", waybill="YT7512345674202", courier="圆通速递"),
        _row("4203", "买家已付款，等待卖家发货", waybill="ZT7800000004203", courier="中通快递"),  # label printed
    ]
    path = _write_csv(tmp_path / "ExportOrderList.csv", TAOBAO_FULL, rows)
    report = _import(path, settings, engine)
    assert (report.shipped_by_import, report.errors) == (2, [])
    parcels = _parcels(engine)
    assert parcels["SF1402000004201"]["shipped_at"] == parcels["YT7512345674202"]["shipped_at"] == NOW
    assert parcels["ZT7800000004203"]["shipped_at"] is None
    evaluate_all(engine, now=NOW, settings=settings)
    late = {pid for (pid, kind) in _flags(engine) if kind == "late_shipment"}
    assert late == {parcels["ZT7800000004203"]["id"]}
    # the same file a day later, and through the second process's writer: the first import's time stays
    _import(path, settings, engine, NOW + timedelta(days=1), second_process=True)
    assert _parcels(engine)["SF1402000004201"]["shipped_at"] == NOW


def test_an_order_with_a_label_printed_but_not_shipped_stays_late(tmp_path, settings, engine) -> None:  # type: ignore[no-untyped-def]
    """An order awaiting its parcel whose next export shows a pre-printed waybill, still 等待卖家发货, becomes that
    parcel without a shipping time: its 延迟发货 stays open."""
    _import(_write_csv(tmp_path / "a.csv", TAOBAO_FULL, [_row("4301", "买家已付款，等待卖家发货")]), settings, engine)
    labelled = [_row("4301", "买家已付款，等待卖家发货", waybill="ZT7800000004301", courier="中通快递")]
    _import(_write_csv(tmp_path / "b.csv", TAOBAO_FULL, labelled), settings, engine, NOW + timedelta(hours=1))
    parcel = _parcels(engine)["ZT7800000004301"]
    assert parcel["shipped_at"] is None and parcel["next_poll_at"] is not None
    evaluate_all(engine, now=NOW + timedelta(hours=2), settings=settings)
    assert _flags(engine)[parcel["id"], "late_shipment"]["state"] != "resolved"


def test_a_return_does_not_take_the_waiting_order_and_a_refund_before_shipping_closes_it(tmp_path, settings, engine):  # type: ignore[no-untyped-def]
    """A buyer's return parcel names the order too, but is not its shipment; a refund agreed before the order
    shipped (no return waybill: 仅退款) records no return on it (nothing was sent to come back) and closes its
    waiting: the order will not ship."""
    _import(_write_csv(tmp_path / "a.csv", TAOBAO_FULL, [_row("4401", "买家已付款，等待卖家发货")]), settings, engine)
    returns = tmp_path / "returns.csv"
    returns.write_text(
        "订单编号,退货物流单号,退货物流公司,买家会员名,同意退货时间\n"
        "4401,YT7512345674401,圆通速递,tb_li,2026-11-22 10:00:00\n"
        "4401,,,tb_li,2026-11-22 10:00:00\n",
        encoding="utf-8",
    )
    report = _import(returns, settings, engine, return_headers=settings.return_waybill_headers)
    parcels = _parcels(engine)
    waiting = parcels[awaiting_waybill("4401")]
    assert waiting["courier"] == AWAITING_COURIER and waiting["return_agreed_at"] is None
    assert parcels["YT7512345674401"]["direction"] == "return" and parcels["YT7512345674401"]["id"] != waiting["id"]
    # the refund agreed with no parcel sent (仅退款): the order will not ship, its waiting closed (it was rejected
    # as "no outbound parcel of this order: import the order export first")
    assert (report.refunded_before_shipping, report.errors) == (1, []) and not waiting["is_open"]


def test_an_erps_merged_orders_wait_under_the_first_and_a_number_too_long_is_refused(tmp_path, settings, engine):  # type: ignore[no-untyped-def]
    """An ERP writes two orders of one parcel in one cell (4501,4502): they wait under the first (订单4501,4502
    was longer than a waybill may be: PostgreSQL refused the whole batch), and the file that ships either makes
    it that parcel; an order number that cannot fit is refused, named."""
    rows = [
        _row("4501,4502", "买家已付款，等待卖家发货"),
        _row("9" * 39, "买家已付款，等待卖家发货"),
        _row("3.90123E+18", "买家已付款，等待卖家发货"),  # Excel's: the order it names would never meet its parcel
    ]
    report = _import(_write_csv(tmp_path / "erp.csv", TAOBAO_FULL, rows), settings, engine)
    # Excel's number is refused by the row's own reading (parse), before the row is read as waiting
    assert [(e.row, e.field) for e in report.errors] == [(3, "order_id"), (4, "waybill"), (4, "order_id")]
    assert "at most 38 characters" in report.errors[0].reason
    assert report.errors[2].value == "3.90123E+18"
    waiting = _parcels(engine)[awaiting_waybill("4501")]
    assert waiting["order_id"] == "4501,4502"
    shipped = [_row("4501", "卖家已发货，等待买家确认", waybill="YT7512345674501", courier="圆通速递")]
    _import(_write_csv(tmp_path / "shipped.csv", TAOBAO_FULL, shipped), settings, engine, NOW + timedelta(hours=1))
    assert _parcels(engine)["YT7512345674501"]["id"] == waiting["id"]


def test_a_derived_shipping_time_is_bounded_by_the_trade_and_never_given_to_a_return(tmp_path, settings, engine):  # type: ignore[no-untyped-def]
    """交易成功 on 11-14: it shipped before that, not at the import of 11-23 (发货无揽收 would run from the import and
    the scorecards count it on the import's day); a sooner time a later file bounds it with replaces a later one.
    A returns export's 交易成功 says nothing of the return parcel's shipping."""
    header = [*TAOBAO_FULL, "交易成功时间"]
    done = [*_row("4601", "交易成功", waybill="YT7512345674601", courier="圆通速递"), "2026-11-14 10:00:00"]
    _import(_write_csv(tmp_path / "done.csv", header, [done]), settings, engine)
    assert _parcels(engine)["YT7512345674601"]["shipped_at"] == datetime(2026, 11, 14, 2, 0, tzinfo=UTC)
    late = [_row("4602", "卖家已发货，等待买家确认", waybill="YT7512345674602", courier="圆通速递")]
    _import(_write_csv(tmp_path / "late.csv", TAOBAO_FULL, late), settings, engine)
    sooner = [[*_row("4602", "交易成功", waybill="YT7512345674602", courier="圆通速递"), "2026-11-20 10:00:00"]]
    _import(_write_csv(tmp_path / "sooner.csv", header, sooner), settings, engine, NOW + timedelta(days=1))
    assert _parcels(engine)["YT7512345674602"]["shipped_at"] == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    returns = tmp_path / "returns.csv"
    returns.write_text(
        "订单编号,退货物流单号,退货物流公司,订单状态\n4603,YT7512345674603,圆通速递,交易成功\n", encoding="utf-8"
    )
    report = _import(returns, settings, engine, return_headers=settings.return_waybill_headers)
    assert report.shipped_by_import == 0 and _parcels(engine)["YT7512345674603"]["shipped_at"] is None


def test_an_older_export_does_not_keep_waiting_the_first_of_merged_orders_shipped(tmp_path, settings, engine):  # type: ignore[no-untyped-def]
    shipped = [
        _row("4701", "卖家已发货，等待买家确认", waybill="YT7512345674701", courier="圆通速递"),
        _row("4702", "卖家已发货，等待买家确认", waybill="YT7512345674701", courier="圆通速递"),
    ]
    _import(_write_csv(tmp_path / "shipped.csv", TAOBAO_FULL, shipped), settings, engine)
    assert _parcels(engine)["YT7512345674701"]["order_id"] == "4701,4702"
    older = [_row("4701", "买家已付款，等待卖家发货")]
    _import(_write_csv(tmp_path / "older.csv", TAOBAO_FULL, older), settings, engine, NOW + timedelta(hours=1))
    assert awaiting_waybill("4701") not in _parcels(engine)


def test_a_blank_shipping_time_in_a_later_row_of_the_same_parcel_keeps_the_earlier_one(tmp_path, settings, engine):  # type: ignore[no-untyped-def]
    """Two orders shipped in one parcel, the first row with its 发货时间, the second with the cell blank: the
    parcel was stored without one (the later row's values won, a blank among them)."""
    header = [*TAOBAO_FULL, "发货时间"]
    rows = [
        [
            *_row("4801", "卖家已发货，等待买家确认", waybill="YT7512345674801", courier="圆通速递"),
            "2026-11-20 09:00:00",
        ],
        [*_row("4802", "买家已付款，等待卖家发货", waybill="YT7512345674801", courier="圆通速递"), ""],
    ]
    _import(_write_csv(tmp_path / "two.csv", header, rows), settings, engine)
    assert _parcels(engine)["YT7512345674801"]["shipped_at"] == datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def test_the_courier_filters_offer_not_shipped_while_an_order_waits(
    waiting, settings: Settings, tmp_path: Path
) -> None:
    """The overview counts 未发货 among the couriers; the queue's and the ledger's courier filter offer it (the URL's
    `-`) while an order awaits its parcel, and it lists exactly those orders' flags; none waiting, none offered."""
    from dashboard import data

    engine, _ = waiting
    assert data.distinct_values(engine, "courier") == ["sf", data.NO_COURIER]
    evaluate_all(engine, now=NOW, settings=settings)
    chosen = data.QueueFilter(courier=data.NO_COURIER)
    listed = data.queue_page(engine, chosen, now=NOW)
    late = _parcels(engine)[awaiting_waybill("4101")]["id"]
    assert [(r["parcel_id"], r["kind"]) for r in listed] == [(late, "late_shipment")]
    assert data.queue_count(engine, chosen, now=NOW) == 1
    rows = [
        _row("4101", "卖家已发货，等待买家确认", waybill="YT7512345670101", courier="圆通速递"),
        _row("4102", "交易关闭"),
    ]
    report = _import(_write_csv(tmp_path / "later.csv", TAOBAO_FULL, rows), settings, engine, NOW)
    assert report.errors == []
    assert data.distinct_values(engine, "courier") == ["sf", "yto"]  # nothing waits: 未发货 not offered


def test_the_cli_listings_name_not_shipped_as_their_courier(waiting, settings: Settings, monkeypatch) -> None:
    """`--courier 未发货` (or `-`) lists the orders awaiting their parcel and their 延迟发货 flags: they have no courier
    yet, and the option could not name them (an empty value is no filter)."""
    import json

    from typer.testing import CliRunner

    from tracker.cli import app

    engine, _ = waiting
    evaluate_all(engine, now=NOW, settings=settings)
    monkeypatch.setenv("TRACKER_DATABASE_URL", str(engine.url.render_as_string(hide_password=False)))
    run = CliRunner()
    for word in ("未发货", "-"):
        parcels = run.invoke(app, ["parcels", "--courier", word, "--format", "json"])
        assert parcels.exit_code == 0, parcels.output
        listed = [json.loads(line)["waybill"] for line in parcels.output.splitlines()]
        assert sorted(listed) == [awaiting_waybill("4101"), awaiting_waybill("4102")]
        flags = run.invoke(app, ["flags", "--courier", word, "--format", "json"])
        assert flags.exit_code == 0, flags.output
        assert [json.loads(line)["kind"] for line in flags.output.splitlines()] == ["late_shipment"]
    shipped = run.invoke(app, ["parcels", "--courier", "sf", "--format", "json"])
    assert [json.loads(line)["waybill"] for line in shipped.output.splitlines()] == ["SF1402000000191"]


def test_the_waiting_probe_reads_the_open_waiting_orders_alone(waiting, settings: Settings, tmp_path: Path) -> None:
    """repo.any_awaiting (each import batch, the board's courier filter) is true while an order waits and false
    once none does, however many orders closed before they shipped are kept; on SQLite it reads
    ix_parcel_awaiting, which holds the open waiting orders alone (it read every closed one's row before)."""
    from tracker.storage.repo import any_awaiting

    engine, _ = waiting
    closed = [_row(f"52{n:02d}", "买家已付款，等待卖家发货") for n in range(30)]
    _import(_write_csv(tmp_path / "more.csv", TAOBAO_FULL, closed), settings, engine)
    gone = [_row(f"52{n:02d}", "交易关闭") for n in range(30)]
    assert _import(_write_csv(tmp_path / "gone.csv", TAOBAO_FULL, gone), settings, engine).awaiting_closed == 30
    with engine.connect() as conn:
        assert any_awaiting(conn)  # 4101 and 4102 still wait
        if conn.dialect.name == "sqlite":
            assert "ix_parcel_awaiting" in _probe_plan(conn)
    shipped = [
        _row("4101", "卖家已发货，等待买家确认", waybill="YT7512345670101", courier="圆通速递"),
        _row("4102", "交易关闭"),
    ]
    _import(_write_csv(tmp_path / "last.csv", TAOBAO_FULL, shipped), settings, engine)
    with engine.connect() as conn:
        assert not any_awaiting(conn)  # 31 closed waiting orders kept, none open
        if conn.dialect.name == "sqlite":  # with statistics too (ANALYZE), which an empty index never gets
            conn.exec_driver_sql("ANALYZE")
            assert "ix_parcel_awaiting" in _probe_plan(conn)
        assert len([p for p in _parcels(engine).values() if p["courier"] == AWAITING_COURIER]) == 31


def _probe_plan(conn: Any) -> str:
    """SQLite's plan of the statement repo.any_awaiting runs, as it runs it."""
    from tracker.storage.repo import any_awaiting

    asked: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        asked.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", keep)
    try:
        any_awaiting(conn)
    finally:
        event.remove(conn, "before_cursor_execute", keep)
    statement, parameters = asked[0]
    return " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
