"""`tracker import parcels`: encodings, XLSX, Chinese headers, idempotent re-import, every bad-row kind."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from tracker.cli import app
from tracker.couriers.detect import CourierIndex
from tracker.importer import ImportFileError, ImportReport, import_parcels
from tracker.settings import Settings
from tracker.storage import repo

TAOBAO = [
    "订单编号",
    "买家会员名",
    "买家实际支付金额",
    "收货地址",
    "联系手机",
    "订单创建时间",
    "订单付款时间",
    "物流单号",
    "物流公司",
    "店铺名称",
    "发货时间",
]
GOOD = [
    [
        "3901",
        "tb_wang",
        "268.50",
        "浙江省 杭州市 西湖区 文三路100号(310000)",
        "13812345678",
        "2026-11-01 09:00:00",
        "2026-11-01 09:05:00",
        "No:YT7512345678901",
        "圆通速递",
        "悦家旗舰店",
        "2026-11-01 18:30:00",
    ],
    [
        "3902",
        "tb_li",
        "￥1,899.00",
        "广东省 深圳市 南山区 科技园1号",
        "139****4321",
        "2026/11/2 10:00",
        "2026/11/2 10:01",
        "SF1234567890123",
        "顺丰速运",
        "悦家旗舰店",
        "2026/11/3 8:00",
    ],
]


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _import_returns(path: Path, settings: Settings, engine: Engine) -> ImportReport:
    """A returns export imported as the CLI does (its return waybill headers known)."""
    return _import(path, settings, engine, return_headers=settings.return_waybill_headers)


def _import(path: Path, settings: Settings, engine: Engine, **kw: object) -> ImportReport:
    return import_parcels(
        path,
        engine=engine,
        couriers=CourierIndex(settings.couriers, settings.detection),
        aliases=settings.headers,
        tz=settings.tz,
        now=kw.pop("now", datetime(2026, 11, 23, 4, 0, tzinfo=UTC)),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def _by_waybill(engine: Engine) -> dict[str, dict]:  # type: ignore[type-arg]
    return {row["waybill"]: row for row in repo.list_parcels(engine, limit=1000)}


def test_taobao_export_with_chinese_headers(tmp_path: Path, settings: Settings, sqlite_engine: Engine) -> None:
    report = _import(_write_csv(tmp_path / "orders.csv", TAOBAO, GOOD), settings, sqlite_engine)
    assert (report.rows, report.inserted, report.updated, report.errors) == (2, 2, 0, [])
    parcels = _by_waybill(sqlite_engine)
    yto = parcels["YT7512345678901"]
    assert yto["courier"] == "yto" and yto["order_id"] == "3901" and yto["buyer_id"] == "tb_wang"
    assert (yto["province"], yto["city"], yto["district"]) == ("浙江省", "杭州市", "西湖区")
    assert yto["goods_value"] == Decimal("268.50") and yto["phone_last4"] == "5678"
    # 18:30 in Shanghai is 10:30 UTC
    assert yto["shipped_at"] == datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    sf = parcels["SF1234567890123"]
    assert sf["courier"] == "sf" and sf["goods_value"] == Decimal("1899.00")
    assert sf["paid_at"] == datetime(2026, 11, 2, 2, 1, tzinfo=UTC)


# Taobao's order export (已卖出的宝贝) in its own column order, as public importers of it list the header
TAOBAO_FULL = [
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "买家支付积分", "总金额", "返点积分",
    "买家实际支付金额", "买家实际支付积分", "订单状态", "买家留言", "收货人姓名", "收货地址", "运送方式", "联系电话",
    "联系手机", "订单创建时间", "订单付款时间", "宝贝标题", "宝贝种类", "物流单号", "物流公司",
]  # fmt: skip


def test_the_goods_payment_and_the_mobile_are_read_wherever_the_export_puts_them(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    """Taobao's full order export has 买家应付货款 (the goods' payment, what a loss claim pays) before 买家实际支付金额
    (the goods plus postage, less red packets and points), and a landline 联系电话, mostly blank, before 联系手机.
    The names listed first in import.toml are read, wherever they stand: goods 100.00, not the 103.00 paid."""
    row = dict.fromkeys(TAOBAO_FULL, "")
    row.update({
        "订单编号": "3912", "买家会员名": "tb_zhao", "买家应付货款": "100.00", "买家应付邮费": "8.00", "总金额": "108.00",
        "买家实际支付金额": "103.00", "订单状态": "卖家已发货，等待买家确认", "收货地址": "浙江省 杭州市 西湖区 文三路1号",
        "联系电话": "", "联系手机": "'13812348888", "订单创建时间": "2026-11-01 09:00:00", "物流单号": "YT7512345670912",
        "物流公司": "圆通速递",
    })  # fmt: skip
    source = _write_csv(tmp_path / "ExportOrderList.csv", TAOBAO_FULL, [[row[h] for h in TAOBAO_FULL]])
    report = _import(source, settings, sqlite_engine)
    assert (report.inserted, report.errors) == (1, [])
    parcel = _by_waybill(sqlite_engine)["YT7512345670912"]
    assert parcel["goods_value"] == Decimal("100.00") and parcel["phone_last4"] == "8888"
    reordered = [TAOBAO_FULL[8], *TAOBAO_FULL[:8], *TAOBAO_FULL[9:]]  # 买家实际支付金额 first: the same reading
    again = _write_csv(tmp_path / "again.csv", reordered, [[row[h] for h in reordered]])
    assert _import(again, settings, sqlite_engine).unchanged == 1


def test_gbk_encoded_export(tmp_path: Path, settings: Settings, sqlite_engine: Engine) -> None:
    path = _write_csv(tmp_path / "orders_gbk.csv", TAOBAO, GOOD, encoding="gbk")
    assert path.read_bytes().find("物流单号".encode("gbk")) >= 0
    report = _import(path, settings, sqlite_engine)
    assert report.inserted == 2 and not report.errors
    assert _by_waybill(sqlite_engine)["YT7512345678901"]["shop"] == "悦家旗舰店"


def test_xlsx_with_chinese_headers(tmp_path: Path, settings: Settings, sqlite_engine: Engine) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["订单编号", "物流单号", "物流公司", "买家实际支付金额", "发货时间", "聚划算"])
    sheet.append([3904, "JT1234567890123", "极兔速递", 100, "2026-11-06 08:00:00", "否"])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    report = _import(path, settings, sqlite_engine)
    assert report.errors == [] and report.inserted == 1
    jt = _by_waybill(sqlite_engine)["JT1234567890123"]
    assert jt["courier"] == "jt" and jt["order_id"] == "3904"
    assert jt["goods_value"] == Decimal("100.00") and jt["freight_insured"] is False
    assert jt["shipped_at"] == datetime(2026, 11, 6, 0, 0, tzinfo=UTC)


def test_an_export_without_the_insurance_column_keeps_what_an_earlier_one_said(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    """A 聚划算 export says 大运险 是; the next day's plain order export has no such column. The parcel stays insured
    (the import cleared it, and its freight-insurance claim was never proposed); a file with the column says
    否 or leaves it blank, and that is stored."""
    insured = _write_csv(
        tmp_path / "ju.csv", ["物流单号", "物流公司", "大运险"], [["JT1234567890141", "极兔速递", "是"]]
    )
    plain = _write_csv(tmp_path / "plain.csv", ["物流单号", "物流公司", "买家实际支付金额"],
                       [["JT1234567890141", "极兔速递", "99.00"], ["JT1234567890142", "极兔速递", "10.00"]])  # fmt: skip
    _import(insured, settings, engine)
    report = _import(plain, settings, engine)
    assert (report.inserted, report.updated) == (1, 1)
    parcels = _by_waybill(engine)
    assert parcels["JT1234567890141"]["freight_insured"] is True and parcels["JT1234567890141"]["goods_value"] == 99
    assert parcels["JT1234567890142"]["freight_insured"] is False  # new, and nothing said: not insured
    blank = _write_csv(
        tmp_path / "blank.csv", ["物流单号", "物流公司", "大运险"], [["JT1234567890141", "极兔速递", ""]]
    )
    _import(blank, settings, engine)
    assert _by_waybill(engine)["JT1234567890141"]["freight_insured"] is False


def test_a_file_without_amounts_keeps_the_currency_of_the_stored_ones(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    """A Tmall Global export gives 货值 in HKD; a later file of addresses (no amounts, no 币种) keeps HKD (it rewrote
    it to the file's default CNY, and 500.00 HKD read as 500.00 CNY), so does a courier bill of 运费 (a parcel has
    one currency, its goods value's); a file with a goods value and no 币种 gives it in its default currency."""
    global_ = _write_csv(tmp_path / "global.csv", ["物流单号", "物流公司", "买家实际支付金额", "币种"],
                         [["JT1234567890151", "极兔速递", "500.00", "HKD"]])  # fmt: skip
    addresses = _write_csv(tmp_path / "addresses.csv", ["物流单号", "物流公司", "收货地址"],
                           [["JT1234567890151", "极兔速递", "浙江省杭州市西湖区文三路 1 号"]])  # fmt: skip
    _import(global_, settings, engine)
    _import(addresses, settings, engine)
    parcel = _by_waybill(engine)["JT1234567890151"]
    assert (parcel["goods_value"], parcel["currency"]) == (Decimal("500.00"), "HKD")
    assert parcel["province"] == "浙江省"
    bill = _write_csv(
        tmp_path / "bill.csv", ["物流单号", "物流公司", "运费"], [["JT1234567890151", "极兔速递", "12.00"]]
    )
    _import(bill, settings, engine)  # a courier bill's freight: the goods value, and its currency, stay
    parcel = _by_waybill(engine)["JT1234567890151"]
    assert (parcel["goods_value"], parcel["currency"], parcel["forward_freight"]) == (Decimal("500.00"), "HKD", 12)
    priced = _write_csv(tmp_path / "priced.csv", ["物流单号", "物流公司", "买家实际支付金额"],
                        [["JT1234567890151", "极兔速递", "64.00"]])  # fmt: skip
    _import(priced, settings, engine)
    parcel = _by_waybill(engine)["JT1234567890151"]
    assert (parcel["goods_value"], parcel["currency"]) == (Decimal("64.00"), "CNY")


def test_a_courier_bill_keeps_a_return_parcel_a_return(tmp_path: Path, settings: Settings, engine: Engine) -> None:
    """A courier's monthly bill (物流单号, 物流公司, 运费) lists the shop's shipments and the buyers' returns it
    picked up alike, and says nothing of direction: a return stays a return (it was made outbound, and its
    return case lost its logistics), a new waybill is outbound, and both get the charge."""
    returns = _write_csv(tmp_path / "refunds.csv", ["订单编号", "退货物流公司", "退货物流单号"],
                         [["3901", "中通快递", "73100012345680"]])  # fmt: skip
    _import_returns(returns, settings, engine)
    bill = _write_csv(tmp_path / "bill.csv", ["物流单号", "物流公司", "运费"],
                      [["73100012345680", "中通快递", "6.50"], ["73100012345681", "中通快递", "5.00"]])  # fmt: skip
    report = _import(bill, settings, engine)
    assert (report.inserted, report.updated, report.errors) == (1, 1, [])
    parcels = _by_waybill(engine)
    assert (parcels["73100012345680"]["direction"], parcels["73100012345680"]["forward_freight"]) == ("return", 6.5)
    assert parcels["73100012345681"]["direction"] == "outbound"


def test_an_order_export_says_its_parcels_are_shipments_and_a_bill_imported_again_marks_nothing(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    """An order export's rows are the shop's shipments: a waybill an earlier file made a return is outbound again
    (the order export corrects it). A courier bill says nothing of direction: imported twice, the second time
    leaves every parcel unchanged and marks none for the rules."""
    from tracker.storage.tables import RULE_MARK

    returns = _write_csv(tmp_path / "refunds.csv", ["订单编号", "退货物流公司", "退货物流单号"],
                         [["3901", "中通快递", "73100012345690"]])  # fmt: skip
    _import_returns(returns, settings, sqlite_engine)
    orders = _write_csv(tmp_path / "orders.csv", ["订单编号", "物流公司", "物流单号"],
                        [["3902", "中通快递", "73100012345690"], ["3903", "中通快递", "73100012345691"]])  # fmt: skip
    _import(orders, settings, sqlite_engine)
    assert {p["direction"] for p in _by_waybill(sqlite_engine).values()} == {"outbound"}
    bill = _write_csv(tmp_path / "bill.csv", ["物流单号", "物流公司", "运费"],
                      [["73100012345690", "中通快递", "6.50"], ["73100012345691", "中通快递", "5.00"]])  # fmt: skip
    assert _import(bill, settings, sqlite_engine).updated == 2
    with sqlite_engine.begin() as conn:
        conn.execute(RULE_MARK.delete())
    later = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # (an import at the same held time reads as the same writer)
    assert _import(bill, settings, sqlite_engine, now=later).unchanged == 2
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(RULE_MARK)).all() == []


def test_xlsx_datetime_cells_are_shanghai_time(tmp_path: Path, settings: Settings, sqlite_engine: Engine) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["waybill", "courier", "order_id", "goods_value", "shipped_at", "freight_insured"])
    sheet.append(["73100012345678", "zto", 3903, 59.9, datetime(2026, 11, 5, 20, 0), "是"])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    report = _import(path, settings, sqlite_engine)
    assert report.errors == [] and report.inserted == 1
    zto = _by_waybill(sqlite_engine)["73100012345678"]
    assert zto["order_id"] == "3903" and zto["goods_value"] == Decimal("59.90")
    assert zto["shipped_at"] == datetime(2026, 11, 5, 12, 0, tzinfo=UTC) and zto["freight_insured"] is True


def test_a_return_freight_column_is_not_juhuasuan_insurance(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    """运费险 in an export is Taobao's 退货运费险 (the buyer's return freight, settled by the platform: seed 002
    第十五条), not 聚划算大运险, which the shop claims: only the Juhuasuan columns set freight_insured."""
    book = Workbook()
    sheet = book.active
    sheet.append(["订单编号", "物流单号", "物流公司", "买家实际支付金额", "发货时间", "运费险"])
    sheet.append([3905, "JT1234567890124", "极兔速递", 100, "2026-11-06 08:00:00", "是"])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    assert _import(path, settings, sqlite_engine).inserted == 1
    assert _by_waybill(sqlite_engine)["JT1234567890124"]["freight_insured"] is False
    sheet.delete_rows(1, 2)
    sheet.append(["订单编号", "物流单号", "物流公司", "买家实际支付金额", "发货时间", "大运险"])
    sheet.append([3906, "JT1234567890125", "极兔速递", 100, "2026-11-06 08:00:00", "是"])
    book.save(path)
    assert _import(path, settings, sqlite_engine).inserted == 1
    assert _by_waybill(sqlite_engine)["JT1234567890125"]["freight_insured"] is True


def test_reimport_updates_and_creates_no_duplicates(tmp_path: Path, settings: Settings, engine: Engine) -> None:
    path = _write_csv(tmp_path / "orders.csv", TAOBAO, GOOD)
    first = _import(path, settings, engine)
    rows = [list(r) for r in GOOD]
    rows[0][2] = "300.00"
    second = _import(_write_csv(path, TAOBAO, rows), settings, engine)
    third = _import(path, settings, engine)
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    # the parcel whose goods value changed is updated, the other one is counted as it is: unchanged
    assert (second.inserted, second.updated, second.unchanged, second.stored) == (0, 1, 1, 2)
    assert (third.inserted, third.updated, third.unchanged) == (0, 0, 2)
    parcels = _by_waybill(engine)
    assert len(parcels) == 2 and parcels["YT7512345678901"]["goods_value"] == Decimal("300.00")


@pytest.mark.parametrize(
    ("column", "value", "field", "reason"),
    [
        ("物流单号", "", "waybill", "missing waybill number"),
        ("物流单号", "YT75-?", "waybill", "not a waybill number"),
        ("物流公司", "飞鸽快递", "courier", "unknown courier '飞鸽快递'"),
        ("发货时间", "昨天下午", "shipped_at", "expected a date and time"),
        ("订单付款时间", "2026-13-45 10:00", "paid_at", "expected a date and time"),
        ("买家实际支付金额", "一百元", "goods_value", "expected an amount"),
        ("买家实际支付金额", "-20.00", "goods_value", "expected a non-negative amount"),
        ("买家实际支付金额", "12.345", "goods_value", "at most 2 decimals"),
    ],
)
def test_bad_row_is_rejected_with_row_field_and_reason_and_the_rest_stored(
    tmp_path: Path,
    settings: Settings,
    sqlite_engine: Engine,
    column: str,
    value: str,
    field: str,
    reason: str,
) -> None:
    bad = list(GOOD[1])
    bad[TAOBAO.index(column)] = value
    path = _write_csv(tmp_path / "orders.csv", TAOBAO, [GOOD[0], bad])
    report = _import(path, settings, sqlite_engine)
    assert report.inserted == 1 and report.rejected_rows == 1
    (error,) = report.errors
    assert (error.row, error.field) == (3, field) and reason in error.reason
    assert set(_by_waybill(sqlite_engine)) == {"YT7512345678901"}
    assert report.rejects_path == tmp_path / "orders.rejects.csv"
    with report.rejects_path.open(encoding="utf-8-sig", newline="") as fh:
        rejects = list(csv.reader(fh))
    assert rejects[0][:5] == ["row", "field", "value", "reason", "订单编号"]
    assert rejects[1][:2] == ["3", column] and reason in rejects[1][3] and rejects[1][4] == "3902"  # its header


def test_nothing_already_stored_is_lost_by_a_bad_reimport(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    path = _write_csv(tmp_path / "orders.csv", TAOBAO, GOOD)
    _import(path, settings, sqlite_engine)
    bad = list(GOOD[0])
    bad[TAOBAO.index("买家实际支付金额")] = "abc"
    report = _import(_write_csv(path, TAOBAO, [bad]), settings, sqlite_engine)
    assert report.rejected_rows == 1
    assert _by_waybill(sqlite_engine)["YT7512345678901"]["goods_value"] == Decimal("268.50")


def test_blank_courier_is_detected_from_the_waybill(tmp_path: Path, settings: Settings, sqlite_engine: Engine) -> None:
    rows = [
        ["4001", "JT5261988016578", ""],
        ["4002", "773277027280336", ""],  # 15-digit STO
        ["4003", "'sf1385628716739", ""],  # lower case behind the export's text guard
        ["4004", "668123456789", ""],  # old 12-digit number: ZTO or STO
        ["4005", "98765", ""],
        ["4006", "12345678", ""],  # an old Deppon-like number: too weak alone
    ]
    path = _write_csv(tmp_path / "orders.csv", ["订单编号", "物流单号", "物流公司"], rows)
    report = _import(path, settings, sqlite_engine)
    parcels = _by_waybill(sqlite_engine)
    assert parcels["JT5261988016578"]["courier"] == "jt"
    assert parcels["773277027280336"]["courier"] == "sto"
    assert parcels["SF1385628716739"]["courier"] == "sf"
    notes = {row: note for row, _, note in report.detected}
    assert notes[2].startswith("极兔速递 (95%") and "^JT" in notes[2]
    assert notes[3].startswith("申通快递 (95%")
    reasons = {e.row: (e.field, e.reason) for e in report.errors}
    assert reasons[5] == (
        "courier",
        "courier is blank and waybill '668123456789' could be 中通快递 (50%) or 申通快递 (40%); fill in the courier",
    )
    assert "not a waybill number" in reasons[6][1]
    assert reasons[7][1] == "courier is blank and waybill '12345678' could be 德邦快递 (35%); fill in the courier"
    assert report.rejects_path is not None
    with report.rejects_path.open(encoding="utf-8-sig", newline="") as fh:
        rejects = list(csv.DictReader(fh))
    ambiguous = next(r for r in rejects if r["row"] == "5")
    # a tab before the 12-digit number keeps it whole in Excel (exports.kept_whole); the import strips it
    assert ambiguous["field"] == "物流公司" and ambiguous["物流单号"] == "\t668123456789"
    assert "中通快递 (50%) or 申通快递 (40%)" in ambiguous["reason"]


def test_ambiguous_number_asks_kuaidi100_only_when_switched_on(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    rows = [["4101", "668123456789", ""], ["4102", "12345678", ""]]
    path = _write_csv(tmp_path / "orders.csv", ["订单编号", "物流单号", "物流公司"], rows)
    asked: list[str] = []

    def autonumber(number: str) -> list[str]:  # Kuaidi100's order: its best guess first
        asked.append(number)
        return {"668123456789": ["shentong", "zhongtong"]}.get(number, [])

    report = _import(path, settings, sqlite_engine, autonumber=autonumber)
    assert asked == ["668123456789", "12345678"]
    assert _by_waybill(sqlite_engine)["668123456789"]["courier"] == "sto"
    assert report.detected[0][2].startswith("申通快递 (67%, Kuaidi100 autonumber suggestion 1)")
    # no suggestion: the row is rejected with the patterns' candidates
    assert [(e.row, e.reason) for e in report.errors] == [
        (3, "courier is blank and waybill '12345678' could be 德邦快递 (35%); fill in the courier")
    ]


def test_merged_shipping_folds_orders_into_one_parcel(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    header = ["订单编号", "物流单号", "物流公司", "买家实际支付金额"]
    rows = [["5001", "YT7500000000001", "圆通", "100.00"], ["5002", "YT7500000000001", "圆通", "50.50"]]
    report = _import(_write_csv(tmp_path / "m.csv", header, rows), settings, sqlite_engine)
    assert (report.inserted, report.merged) == (1, 1)
    parcel = _by_waybill(sqlite_engine)["YT7500000000001"]
    assert parcel["order_id"] == "5001,5002" and parcel["goods_value"] == Decimal("150.50")


def test_two_buyers_orders_on_one_waybill_are_named_across_batches(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    header = ["订单编号", "买家会员名", "物流单号", "物流公司"]
    rows = [["4001", "tb_li", "YT7512345674001", "圆通速递"], ["4002", "tb_wang", "YT7512345674002", "圆通速递"],
            ["4003", "tb_zhao", "YT7512345674001", "圆通速递"], ["4004", "tb_zhao", "YT7512345674001", "圆通速递"]]  # fmt: skip
    report = _import(_write_csv(tmp_path / "o.csv", header, rows), settings, sqlite_engine, batch_size=1)
    assert report.two_buyers == {"YT7512345674001": ("4001", "4003")} and report.two_buyers_count == 1
    assert _by_waybill(sqlite_engine)["YT7512345674001"]["order_id"] == "4001,4003,4004"


def test_merged_shipping_split_across_batches_and_repeated_rows_keeps_every_order(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    """Batches of two rows: the shipment's second order comes in a later batch than its first, then its
    first row again (a repeated row): the parcel keeps both orders and their summed value."""
    header = ["订单编号", "物流单号", "物流公司", "买家实际支付金额"]
    rows = [
        ["5101", "YT7500000000011", "圆通", "100.00"],
        ["5102", "YT7500000000012", "圆通", "10.00"],
        ["5103", "YT7500000000011", "圆通", "50.50"],
        ["5101", "YT7500000000011", "圆通", "100.00"],
    ]
    report = _import(_write_csv(tmp_path / "m.csv", header, rows), settings, sqlite_engine, batch_size=2)
    # the parcel stored by the first batch and written again merged is still one new parcel, not an update
    assert (report.inserted, report.updated, report.merged) == (2, 0, 2)
    parcel = _by_waybill(sqlite_engine)["YT7500000000011"]
    assert parcel["order_id"] == "5101,5103" and parcel["goods_value"] == Decimal("150.50")


def test_one_order_in_several_parcels_leaves_goods_value_unknown(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    header = ["订单编号", "物流单号", "物流公司", "买家实际支付金额"]
    rows = [["6001", "YT7500000000002,YT7500000000003", "圆通速递", "300.00"]]
    report = _import(_write_csv(tmp_path / "s.csv", header, rows), settings, sqlite_engine)
    assert report.inserted == 2
    parcels = _by_waybill(sqlite_engine)
    assert parcels["YT7500000000002"]["order_id"] == parcels["YT7500000000003"]["order_id"] == "6001"
    assert parcels["YT7500000000002"]["goods_value"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        ("订单编号,买家会员名\n1,x\n".encode(), "no waybill column"),
        (b"\x81\xfe\x00\x81\xff\xff", "not UTF-8 or GBK"),
        (b"\xff\xfe\x00\x81\xff\xff", "UTF-16 text"),  # its byte-order mark: Excel's "Unicode text"
    ],
)
def test_unusable_file_is_a_clear_error(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        _import(path, settings, sqlite_engine)


def test_not_a_workbook(tmp_path: Path, settings: Settings, sqlite_engine: Engine) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_text("not a zip")
    with pytest.raises(ImportFileError, match="not a readable XLSX"):
        _import(path, settings, sqlite_engine)


# --- through the command line ------------------------------------------------------------------------


def test_cli_exit_status_and_summary(tmp_path: Path, settings: Settings, sqlite_engine: Engine) -> None:
    runner = CliRunner()
    good = _write_csv(tmp_path / "good.csv", TAOBAO, GOOD)
    result = runner.invoke(app, ["import", "parcels", str(good)])
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 new, 0 updated" in result.output
    bad_row = list(GOOD[1])
    bad_row[TAOBAO.index("物流公司")] = "飞鸽快递"
    bad = _write_csv(tmp_path / "bad.csv", TAOBAO, [GOOD[0], bad_row])
    result = runner.invoke(app, ["import", "parcels", str(bad)])
    assert result.exit_code == 1
    assert "row 3, 物流公司 = '飞鸽快递': unknown courier" in result.output  # the column as the file names it
    assert (tmp_path / "bad.rejects.csv").is_file()


def test_cli_mapping_file_adds_a_header_set(tmp_path: Path, settings: Settings, sqlite_engine: Engine) -> None:
    mapping = tmp_path / "erp.toml"
    mapping.write_text('[headers]\nwaybill = ["面单号"]\ncourier = ["承运公司"]\n', encoding="utf-8")
    path = _write_csv(tmp_path / "erp.csv", ["面单号", "承运公司"], [["YT7500000000009", "圆通"]])
    result = CliRunner().invoke(app, ["import", "parcels", str(path), "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    out = CliRunner().invoke(app, ["parcels", "--format", "json", "--waybill", "YT7500000000009"])
    assert '"courier": "yto"' in out.output


def test_cli_user_error_is_one_line_without_traceback(tmp_path: Path, settings: Settings) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "import", "parcels", str(tmp_path / "missing.csv")],
        capture_output=True,
        text=True,
        env={**__import__("os").environ},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {tmp_path / 'missing.csv'}: file not found"


def test_a_group_without_its_command_shows_its_help_and_no_empty_error_line(tmp_path: Path, settings: Settings) -> None:
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "claims"], capture_output=True, text=True, env={**os.environ}
    )
    assert proc.returncode == 2 and "Usage:" in proc.stdout and proc.stderr == "", proc.stderr


def test_a_folder_given_for_the_file_is_named_so(tmp_path: Path, settings: Settings) -> None:
    result = CliRunner().invoke(app, ["import", "parcels", str(tmp_path)])
    assert result.exit_code != 0 and f"{tmp_path}: a folder, not a file" in str(result.exception)


@pytest.mark.parametrize(
    ("args", "line", "command"),
    [
        (
            ["claims", "pay", "abc", "--amount", "1"],
            "error: Invalid value for 'claim_id': Input should be",
            "claims pay",
        ),
        (["flag", "assign", "1"], "error: Missing option '--to'. (see: ", "flag assign"),
        (["fact", "bogus", "X"], "error: No such command 'bogus'. (see: ", "fact"),
    ],
)
def test_a_usage_mistake_is_one_line_too(
    args: list[str], line: str, command: str, tmp_path: Path, settings: Settings
) -> None:
    """Click's boxed usage text was several lines; the README promises one `error:` line and exit 2, here
    naming the help to read."""
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "tracker.cli", *args], capture_output=True, text=True, env={**os.environ}
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(line), proc.stderr
    assert proc.stderr.rstrip().endswith(f" {command} --help)") and proc.stdout == "", proc.stderr


def test_returns_export_holds_return_parcels(tmp_path: Path, settings: Settings, sqlite_engine: Engine) -> None:
    header = [
        "退款编号",
        "订单编号",
        "买家会员名",
        "买家退款金额",
        "卖家同意退货时间",
        "超时时间",
        "退货物流公司",
        "退货物流单号",
    ]
    rows = [
        [
            "21001",
            "3901",
            "tb_wang",
            "268.50",
            "2026-11-10 10:00:00",
            "2026-11-20 10:00:00",
            "中通快递",
            "73100012345678",
        ]
    ]
    report = _import_returns(_write_csv(tmp_path / "refunds.csv", header, rows), settings, sqlite_engine)
    assert report.inserted == 1 and not report.errors
    parcel = _by_waybill(sqlite_engine)["73100012345678"]
    assert parcel["direction"] == "return" and parcel["courier"] == "zto"
    assert parcel["refund_deadline"] == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert parcel["return_agreed_at"] == datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


def test_a_returns_export_that_also_names_the_shipment_reads_the_return(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    """A returns export carrying the order's shipment too (物流单号, 物流公司 before 退货物流单号, 退货物流公司) holds
    the return parcels: the return's columns are read, though import.toml lists the shipment's names first."""
    header = ["订单编号", "物流公司", "物流单号", "买家会员名", "退货物流公司", "退货物流单号"]
    rows = [["3901", "圆通速递", "YT7512345678901", "tb_wang", "中通快递", "73100012345679"]]
    report = _import_returns(_write_csv(tmp_path / "refunds.csv", header, rows), settings, sqlite_engine)
    assert report.inserted == 1 and not report.errors
    assert {(p["waybill"], p["courier"], p["direction"]) for p in _by_waybill(sqlite_engine).values()} == {
        ("73100012345679", "zto", "return")
    }


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


def _return_row(refund: str, order: str, buyer: str, waybill: str) -> list[str]:
    return [refund, order, buyer, "99.00", "2026-11-18 10:00:00", "2026-11-28 10:00:00", "中通快递", waybill]


def _import_returns(path: Path, settings: Settings, engine: Engine, **kw: object) -> ImportReport:
    return _import(path, settings, engine, return_headers=settings.return_waybill_headers, **kw)


def _shared_flags(engine: Engine, settings: Settings) -> dict[str, int]:
    """Waybills flagged return_waybill_shared by the set-based evaluation -> the buyers the per-parcel view
    counts for them (the two paths read the same return_buyer rows)."""
    from sqlalchemy import select

    from tracker.flags import evaluate_all
    from tracker.flags.views import load_views
    from tracker.storage.repo import PARCEL
    from tracker.storage.tables import FLAG

    evaluate_all(engine, now=datetime(2026, 11, 23, 4, 0, tzinfo=UTC), settings=settings)
    stmt = (
        select(PARCEL.c.id, PARCEL.c.waybill)
        .join(FLAG, FLAG.c.parcel_id == PARCEL.c.id)
        .where(FLAG.c.kind == "return_waybill_shared", FLAG.c.state != "resolved")
    )
    with engine.connect() as conn:
        flagged = dict(conn.execute(stmt).all())
    views = load_views(engine, flagged)
    return {waybill: views[pid].waybill_buyers for pid, waybill in flagged.items()}


def test_one_return_waybill_named_by_two_buyers_is_flagged_shared(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    """Two buyers' refunds give the same return waybill (000 §23.3): the rows fold into one parcel, and both
    buyers are kept, in one file, across batches, or across two files. One buyer returning two orders on one
    waybill is legitimate."""
    rows = [
        _return_row("R1", "4001", "tb_zhao", "73100000000001"),
        _return_row("R2", "4002", "tb_qian", "73100000000001"),  # another buyer, same waybill
        _return_row("R3", "4003", "tb_sun", "73100000000002"),
        _return_row("R4", "4004", "tb_sun", "73100000000002"),  # the same buyer's second order
        _return_row("R5", "4005", "tb_li", "73100000000003"),
    ]
    report = _import_returns(_write_csv(tmp_path / "refunds.csv", RETURNS, rows), settings, engine, batch_size=1)
    assert report.inserted == 3 and not report.errors
    assert _shared_flags(engine, settings) == {"73100000000001": 2}

    later = [_return_row("R6", "4006", "tb_zhou", "73100000000003")]  # a later export names another buyer
    _import_returns(_write_csv(tmp_path / "refunds2.csv", RETURNS, later), settings, engine)
    _import_returns(_write_csv(tmp_path / "refunds.csv", RETURNS, rows), settings, engine)  # re-import: no change
    assert _shared_flags(engine, settings) == {"73100000000001": 2, "73100000000003": 2}


def test_seen_keys_hold_every_key_across_merges() -> None:
    from tracker.importer import SeenKeys

    seen = SeenKeys(merge_at=7)
    keys = [("sf", f"SF{n:013d}") for n in range(0, 300, 3)]
    for key in keys:
        seen.add(key)
    assert all(key in seen for key in keys)
    assert not [n for n in range(1, 300, 3) if ("sf", f"SF{n:013d}") in seen]
    assert ("zto", "SF0000000000000") not in seen  # the courier is part of the key


def test_recipient_phone_street_stored_masked_and_the_goods_title_kept(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    header = [*TAOBAO, "收货人姓名", "宝贝标题"]
    rows = [GOOD[0] + ["张三丰", "羊毛围巾 灰色 180cm"], GOOD[1] + ["李四", "=cmd|' /C calc'!A0"]]
    report = _import(_write_csv(tmp_path / "orders.csv", header, rows), settings, sqlite_engine)
    assert report.errors == [] and report.inserted == 2
    parcels = _by_waybill(sqlite_engine)
    yto, sf = parcels["YT7512345678901"], parcels["SF1234567890123"]
    assert (yto["recipient"], yto["phone_masked"], yto["address_detail"]) == ("张**", "138****5678", "文三路****")
    assert yto["goods_title"] == "羊毛围巾 灰色 180cm" and yto["phone_last4"] == "5678"
    assert (sf["recipient"], sf["phone_masked"], sf["address_detail"]) == ("李*", "139****4321", "科技园****")
    assert sf["goods_title"] == "=cmd|' /C calc'!A0"  # stored as given; every export guards it
    with sqlite_engine.connect() as conn:  # the clear name, number and street are nowhere in the database
        dump = "\n".join(str(v) for line in conn.exec_driver_sql("SELECT * FROM parcel") for v in line)
    assert "张三丰" not in dump and "13812345678" not in dump and "文三路100号" not in dump


# --- cells people's files hold that used to stop the import or be misread ---------------------------------


def test_an_xlsx_date_column_holding_a_time_or_a_number_rejects_only_that_row(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    """A time of day alone, or a date Excel shows as a number (General format), used to stop the import with
    AttributeError and store nothing; each is now its row's problem, named by the file's header."""
    book = Workbook()
    sheet = book.active
    sheet.append(["订单编号", "物流单号", "物流公司", "买家实际支付金额", "发货时间"])
    sheet.append([3910, "JT1234567890130", "极兔速递", 100, datetime(2026, 11, 6, 8, 0)])
    sheet.append([3911, "JT1234567890131", "极兔速递", 100, time(9, 5)])
    sheet.append([3912, "JT1234567890132", "极兔速递", 100, 46327.375])
    sheet.append([3913, "JT1234567890133", "极兔速递", 100, "2026-11-06 08:00:00"])
    path = tmp_path / "typed.xlsx"
    book.save(path)
    report = _import(path, settings, sqlite_engine)
    assert set(_by_waybill(sqlite_engine)) == {"JT1234567890130", "JT1234567890133"}
    assert [(e.row, e.field) for e in report.errors] == [(3, "shipped_at"), (4, "shipped_at")]
    assert "got 09:05:00" in report.errors[0].reason and "format the column as a date" in report.errors[1].reason
    result = CliRunner().invoke(app, ["import", "parcels", str(path)])
    assert result.exit_code == 1 and "row 3, 发货时间 = '09:05:00'" in result.output, result.output


def test_a_decimal_comma_rejects_its_row_instead_of_a_hundred_times_the_amount(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    rows = [list(GOOD[0]), list(GOOD[1])]
    rows[1][TAOBAO.index("买家实际支付金额")] = "18,99"  # 18.99 in a European-set Excel: it was stored as 1899.00
    report = _import(_write_csv(tmp_path / "comma.csv", TAOBAO, rows), settings, sqlite_engine)
    assert set(_by_waybill(sqlite_engine)) == {"YT7512345678901"}
    (error,) = report.errors
    assert (error.row, error.field, error.value) == (3, "goods_value", "18,99")
    assert "a comma only between thousands" in error.reason


def test_a_row_with_several_problems_is_in_the_rejects_file_once(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    """The rejects file is for fixing and importing again: a row with two bad cells was written twice."""
    rows = [list(GOOD[0]), list(GOOD[1])]
    rows[1][TAOBAO.index("买家实际支付金额")] = "一百元"
    rows[1][TAOBAO.index("发货时间")] = "昨天下午"
    report = _import(_write_csv(tmp_path / "two.csv", TAOBAO, rows), settings, sqlite_engine)
    assert report.rejected_rows == 1 and report.error_count == 2
    assert report.rejects_path is not None
    with report.rejects_path.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    assert len(lines) == 2  # the header and the one row
    assert lines[1][:3] == ["3", "买家实际支付金额; 发货时间", "一百元; 昨天下午"]
    assert lines[1][4] == "3902"


def test_a_rejects_file_that_cannot_be_written_keeps_the_good_rows(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    """The last rejects file still open in Excel (here: a folder in its place) used to stop the import with a
    traceback, and the good rows read before the bad one were not stored."""
    rows = [list(GOOD[0]), list(GOOD[1]), list(GOOD[0])]
    rows[1][TAOBAO.index("物流单号")] = ""
    rows[2][TAOBAO.index("物流单号")] = "YT7512345678902"
    rows[2][TAOBAO.index("订单编号")] = "3903"
    path = _write_csv(tmp_path / "n.csv", TAOBAO, rows)
    (tmp_path / "n.rejects.csv").mkdir()
    report = _import(path, settings, sqlite_engine)
    assert set(_by_waybill(sqlite_engine)) == {"YT7512345678901", "YT7512345678902"}
    assert report.rejected_rows == 1 and report.rejects_path is None
    assert report.rejects_problem is not None and "n.rejects.csv" in report.rejects_problem
    result = CliRunner().invoke(app, ["import", "parcels", str(path)])
    assert result.exit_code == 1, result.output
    assert "row 3, 物流单号 = '': missing waybill number" in result.output
    assert "could not write the rejected rows to" in result.output and "the good rows are stored" in result.output
    assert "Traceback" not in result.output and "unexpected failure" not in result.output


def test_full_width_headers_numbers_and_courier_names_read_as_ascii(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    """A Chinese keyboard in full-width mode types ｗａｙｂｉｌｌ, ＳＦ７６… and Ｊ＆Ｔ; amounts were read so
    already, headers, waybills and couriers were refused (no waybill column, not a waybill number, unknown)."""
    path = tmp_path / "fullwidth.csv"
    path.write_text(
        "ｗａｙｂｉｌｌ,物流公司,订单编号,买家实际支付金额\n"
        "ＳＦ７６００００００００００１,ｓｆ,ORD-1,１２.５０\n"
        "JT1234567890150,Ｊ＆Ｔ,ORD-2,10\n",
        encoding="utf-8",
    )
    report = _import(path, settings, sqlite_engine)
    assert report.errors == [] and report.inserted == 2
    parcels = _by_waybill(sqlite_engine)
    assert parcels["SF7600000000001"]["courier"] == "sf" and parcels["JT1234567890150"]["courier"] == "jt"
    assert parcels["SF7600000000001"]["goods_value"] == Decimal("12.50")


def test_a_blank_time_of_spaces_is_blank_and_a_misspelt_mapping_field_is_named(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    path = tmp_path / "spaces.csv"
    path.write_text("物流单号,物流公司,发货时间,买家实际支付金额\nSF1402000000171,顺丰速运,  ,  \n", encoding="utf-8")
    report = _import(path, settings, sqlite_engine)  # a blank amount was blank already; a blank time was refused
    assert report.errors == [] and _by_waybill(sqlite_engine)["SF1402000000171"]["shipped_at"] is None
    mapping = tmp_path / "erp.toml"
    mapping.write_text('[headers]\nwaybil = ["面单号"]\n', encoding="utf-8")  # waybill, misspelt
    result = CliRunner().invoke(app, ["import", "parcels", str(path), "--mapping", str(mapping)])
    assert result.exit_code != 0 and f"{mapping}: no such field waybil (fields: waybill, " in str(result.exception)


def test_a_full_order_export_skips_the_orders_not_shipped_yet(
    tmp_path: Path, settings: Settings, sqlite_engine: Engine
) -> None:
    """The seller center's order export lists every order: one waiting for the warehouse, unpaid or closed has no
    waybill, and was rejected as 'missing waybill number' (exit 1, a rejects file full of them). A blank waybill
    on an order whose 订单状态 says it has shipped is still a bad row. (The CLI keeps the order waiting for the
    warehouse as its parcel to come: tests/test_awaiting_orders.py.)"""
    path = tmp_path / "all_orders.csv"
    path.write_text(
        "订单编号,订单状态,物流单号,物流公司,买家实际支付金额,交易成功时间\n"
        "4001,卖家已发货，等待买家确认,SF1402000000191,顺丰速运,10,\n"
        "4002,买家已付款，等待卖家发货,,,20,  \n"  # spaces in a time cell are a blank cell
        "4003,等待买家付款,,,30,\n"
        "4004,交易关闭,,,40,\n"
        "4005,卖家已发货，等待买家确认,,顺丰速运,50,\n",
        encoding="utf-8",
    )
    report = _import(path, settings, sqlite_engine, not_shipped=settings.not_shipped_statuses)
    assert (report.inserted, report.not_shipped, report.rejected_rows) == (1, 3, 1)
    assert [(e.row, e.field, e.reason) for e in report.errors] == [(6, "waybill", "missing waybill number")]
    result = CliRunner().invoke(app, ["import", "parcels", str(path)])
    assert "2 order(s) not shipped (unpaid or closed, 订单状态), no waybill: skipped" in result.output, result.output
    assert "1 order(s) paid and awaiting shipment (订单状态), no waybill yet: kept as orders" in result.output


def test_a_returns_row_without_a_waybill_gets_the_same_date_and_number_checks(settings) -> None:  # type: ignore[no-untyped-def]
    """A return agreed in 2062, or on an order number Excel turned into 3.91235E+18, was recorded as a case (and the
    2-day rule never fired for it); a row with a waybill was refused for the same."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from tracker.couriers.detect import CourierIndex
    from tracker.importer import RowParser, parse_return_case
    from tracker.status import Direction

    columns = {"order_id": 0, "waybill": 1, "return_agreed_at": 2, "refund_deadline": 3}
    parser = RowParser(
        columns,
        CourierIndex(settings.couriers, settings.detection),
        ZoneInfo("Asia/Shanghai"),
        direction=Direction.ret,
        now=datetime(2026, 11, 23, 4, tzinfo=UTC),
    )
    future = parse_return_case(parser, 2, ["3800000000000000001", "", "2062-11-20 10:00:00", ""])
    assert isinstance(future, list) and future[0].field == "return_agreed_at" and "after the import" in future[0].reason
    mangled = parse_return_case(parser, 3, ["3.80000E+18", "", "2026-11-20 10:00:00", ""])
    assert isinstance(mangled, list) and mangled[0].field == "order_id" and "scientific notation" in mangled[0].reason
    fine = parse_return_case(parser, 4, ["3800000000000000001", "", "2026-11-20 10:00:00", "2026-11-27 10:00:00"])
    assert not isinstance(fine, list) and fine is not None and fine.order_id == "3800000000000000001"


def test_a_cost_export_brings_the_supplier_value_and_a_file_without_it_keeps_it(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    """An ERP's cost export (物流单号, 物流公司, 供货商货值 or 成本金额) gives a parcel the supplier's value a damaged
    accessory's claim is paid by; an order export without the column keeps it; merged orders on one waybill add
    up; a value that is not an amount is named by row and field, and the other rows are stored."""
    costs = _write_csv(tmp_path / "costs.csv", ["物流单号", "物流公司", "成本金额"],
                       [["JT1234567890151", "极兔速递", "85.40"], ["JT1234567890152", "极兔速递", "八十"]])  # fmt: skip
    report = _import(costs, settings, engine)
    assert report.inserted == 1
    assert [(e.row, e.field, e.value) for e in report.errors] == [(3, "supplier_value", "八十")]
    plain = _write_csv(tmp_path / "orders.csv", ["订单编号", "物流单号", "物流公司", "买家应付货款"],
                       [["3905", "JT1234567890151", "极兔速递", "120.00"]])  # fmt: skip
    _import(plain, settings, engine)
    parcel = _by_waybill(engine)["JT1234567890151"]
    assert (parcel["supplier_value"], parcel["goods_value"]) == (Decimal("85.40"), Decimal("120.00"))
    merged = _write_csv(tmp_path / "merged.csv", ["订单编号", "物流单号", "物流公司", "供货商货值"],
                        [["3906", "JT1234567890153", "极兔速递", "30.00"],
                         ["3907", "JT1234567890153", "极兔速递", "12.50"]])  # fmt: skip
    _import(merged, settings, engine)
    assert _by_waybill(engine)["JT1234567890153"]["supplier_value"] == Decimal("42.50")
    # the orders of one waybill in two batches of the file: the second merges with what the first stored
    apart = _write_csv(tmp_path / "apart.csv", ["订单编号", "物流单号", "物流公司", "供货商货值"],
                       [["3916", "JT1234567890154", "极兔速递", "30.00"], ["3917", "JT1234567890154", "极兔速递", "12.50"],
                        ["3916", "JT1234567890154", "极兔速递", "30.00"]])  # fmt: skip
    _import(apart, settings, engine, batch_size=1)
    assert _by_waybill(engine)["JT1234567890154"]["supplier_value"] == Decimal("42.50")


def test_an_xlsx_formula_reads_as_the_value_excel_saved(tmp_path: Path, settings: Settings, engine: Engine) -> None:
    """A formula Excel computed and saved (<f> with its <v>; an empty text result as t="str" with an empty <v>)
    reads as its value; a formula never computed (as a program writes it: no value), an array formula too, is
    refused with what to do (tests/hostile: formula_without_value.xlsx); rows holding only a formula filled down
    past the data are blank rows."""
    import zipfile

    from openpyxl.worksheet.formula import ArrayFormula

    book = Workbook()
    sheet = book.active
    sheet.append(["物流单号", "物流公司", "买家应付货款", "退货运费"])
    sheet.append(["SF1402000000411", "顺丰速运", "=12*3", '=IFERROR(1/0,"")'])
    sheet.append(["SF1402000000412", "顺丰速运", 20, None])
    sheet["D3"] = ArrayFormula("D3", "=SUM(C2:C3*1)")
    sheet.append([None, None, '=IF(A4="","",1)', None])  # filled down past the data
    written = tmp_path / "written.xlsx"
    book.save(written)
    saved = tmp_path / "saved.xlsx"
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(saved, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":  # as Excel saves them: each with its value
                for cell, value in ((b"C2", b"36"), (b"D3", b"56"), (b"C4", b"")):
                    data, done = re.subn(
                        rb'(<c r="' + cell + rb'"[^>]*>)(<f[^<]*</f>|<f[^>]*/>)<v></v>',
                        rb"\1\2<v>" + value + rb"</v>",
                        data,
                    )
                    assert done == 1, cell
                data, done = re.subn(rb'<c r="D2"([^>]*)>', rb'<c r="D2"\1 t="str">', data)
                assert done == 1
                data, done = re.subn(rb'<c r="C4"([^>]*)>', rb'<c r="C4"\1 t="str">', data)
                assert done == 1
            target.writestr(item, data)
    report = _import(saved, settings, engine)
    assert (report.inserted, report.errors) == (2, [])
    parcels = _by_waybill(engine)
    assert (parcels["SF1402000000411"]["goods_value"], parcels["SF1402000000411"]["return_freight"]) == (36, None)
    assert parcels["SF1402000000412"]["return_freight"] == Decimal("56.00")

    report = _import(written, settings, engine)  # as the program wrote it: no value saved
    assert [(e.row, e.field, e.value) for e in report.errors] == [
        (2, "goods_value", "=12*3"),
        (2, "return_freight", '=IFERROR(1/0,"")'),
        (3, "return_freight", "=SUM(C2:C3*1)"),
    ]
    assert report.rows == 2  # row 4 holds only the formula filled down: a blank row


def test_a_province_column_is_stored_as_the_export_writes_the_province(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    """A sheet with its own 省份 column says 浙江 where Taobao's export says 浙江省: one province, not two choices in
    the board's filter and two rows of the scorecards."""
    sheet = _write_csv(tmp_path / "regions.csv", ["物流单号", "物流公司", "省份", "收货地址"],
                       [["JT1234567890161", "极兔速递", "浙江", "文三路100号"],
                        ["JT1234567890162", "极兔速递", "西藏", "北京中路1号"]])  # fmt: skip
    _import(sheet, settings, engine)
    parcels = _by_waybill(engine)
    assert (parcels["JT1234567890161"]["province"], parcels["JT1234567890161"]["address_detail"]) == (
        "浙江省",
        "文三路****",
    )
    # a street named after a province keeps its name (it was read as the province: 中路****)
    assert (parcels["JT1234567890162"]["province"], parcels["JT1234567890162"]["address_detail"]) == (
        "西藏自治区",
        "北京中路****",
    )
