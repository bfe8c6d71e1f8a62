"""Hostile import files (data/imports/): a bad row is rejected with its number and reason and the rows after
it are still stored; a bad file is one `error:` line, exit 2, and nothing stored changes."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from tracker.cli import app
from tracker.settings import Settings
from tracker.storage.rows import ParcelRow

FILES = Path(__file__).resolve().parent / "data" / "imports"
RUN = CliRunner()

# file, the rejected row, its field ('' = the whole row), what the reason says, the waybills stored
ROW_CASES = [
    ("unterminated_quote.csv", 2, "", "unterminated quote", {"SF1402000000002"}),
    ("unterminated_quote_closed_later.csv", 2, "", "unterminated quote", {"SF1402000000012", "SF1402000000013"}),
    ("nul_byte.csv", 2, "订单编号", "contains a NUL byte", {"SF1402000000022"}),
    ("control_character.csv", 2, "店铺名称", "contains a control character (U+001B)", {"SF1402000000032"}),
    ("overlong_field.csv", 2, "shop", "longer than 4,096 characters", {"SF1402000000042"}),
    ("overlong_line.csv", 2, "", "longer than 131,072 characters", {"SF1402000000052"}),
    ("overlong_cell.xlsx", 2, "shop", "longer than 4,096 characters", {"SF1402000000072"}),
    ("too_many_columns.xlsx", 3, "", "600 columns, more than the limit of 512", {"SF1402000000081", "SF1402000000083"}),
    # a decimal comma was read as a thousands one (18,99 stored as 1899.00); the XLSX cells stopped the import
    ("decimal_comma.csv", 2, "买家实际支付金额", "a comma only between thousands", {"SF1402000000102"}),
    ("time_only_date.xlsx", 2, "发货时间", "got 09:05:00", {"SF1402000000112"}),
    ("number_as_date.xlsx", 2, "发货时间", "format the column as a date in Excel", {"SF1402000000122"}),
    # a 19-digit 订单编号 held as a number lost its last digits in Excel: it was stored as another order's
    ("long_number_order.xlsx", 2, "订单编号", "a number of more than 15 digits", {"SF1402000000162"}),
    # a mistyped year (2062 for 2026): stored, the parcel was never flagged; shipped before it was ordered
    ("shipped_in_the_future.csv", 2, "发货时间", "a time after the import", {"SF1402000000202"}),
    ("shipped_before_ordered.csv", 2, "发货时间", "before the order was created", {"SF1402000000212"}),
    # a return's refund deadline before the return was agreed: the ladder said 还剩0天 from its first day
    ("refund_deadline_before_agreed.csv", 2, "超时时间", "before the return was agreed", {"SF1402000000302"}),
    # the same order number after a CSV went through Excel (a rejects file fixed there): it was stored so
    ("scientific_order_number.csv", 2, "订单编号", "Excel's scientific notation", {"SF1402000000182"}),
    # a workbook a program wrote (=12*3 with no value saved): read blank, the goods value was lost without a word;
    # row 3's unsaved formula is in a column the import does not read (备注): stored
    ("formula_without_value.xlsx", 2, "买家实际支付金额", "a formula whose value was never saved", {"SF1402000000403"}),
]

# file, what the one error line says after the file's path
FILE_CASES = [
    ("duplicate_header.csv", "row 1 (the header): duplicate column '物流单号' (columns 2 and 4)"),
    ("bomb.xlsx", "xl/worksheets/sheet1.xml expands 1,017 times (20,606 -> 20,971,799 bytes), more than the limit"),
    ("not_a_workbook.xlsx", "not a readable XLSX workbook"),
    ("header_nul_byte.csv", "row 1 (the header), 物流\ufffd公司: contains a NUL byte"),
    # what else a lead hands over: each named, with what to do, rather than a byte offset
    ("excel97.xls", "an Excel 97-2003 workbook (.xls): save it as .xlsx or as CSV"),
    ("unicode_text.csv", "UTF-16 text (Excel's 'Unicode text'): save it as CSV UTF-8 or as .xlsx"),
    ("tab_separated.csv", "no waybill column: the header is separated by tabs, not commas; save the file as CSV"),
    # two exports pasted together, UTF-8 then GBK: read as GBK the header was nonsense ("no waybill column")
    ("mixed_utf8_gbk.csv", "line 4 is not UTF-8 though the Chinese text before it is"),
]


def _imported_copy(tmp_path: Path, name: str) -> Any:
    """The CLI's import of a copy of data file `name` (its rejects file beside the copy), which exits 0."""
    source = tmp_path / name
    source.write_bytes((FILES / name).read_bytes())
    result = RUN.invoke(app, ["import", "parcels", str(source)])
    assert result.exit_code == 0, result.output
    return result


def _stored(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(ParcelRow.__table__)).all())


def _waybills(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(ParcelRow.waybill)).scalars())


@pytest.mark.parametrize(("name", "row", "field", "reason", "stored"), ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_a_bad_row_is_rejected_and_the_rest_is_read(
    name: str,
    row: int,
    field: str,
    reason: str,
    stored: set[str],
    settings: Settings,
    sqlite_engine: Engine,
    tmp_path: Path,
) -> None:
    source = tmp_path / name
    source.write_bytes((FILES / name).read_bytes())
    result = RUN.invoke(app, ["import", "parcels", str(source)])
    assert result.exit_code == 1, result.output
    assert "1 rejected" in result.output
    lines = [line.strip() for line in result.output.splitlines() if line.strip().startswith(f"row {row}")]
    assert len(lines) == 1 and reason in lines[0], result.output
    assert lines[0].startswith(f"row {row}, {field} = " if field else f"row {row}: ")
    assert _waybills(sqlite_engine) == stored
    rejects = list(csv.reader((tmp_path / f"{source.stem}.rejects.csv").open(encoding="utf-8-sig", newline="")))
    assert [(r[0], r[1]) for r in rejects[1:]] == [(str(row), field)] and reason in rejects[1][3]
    assert all("\x00" not in cell for r in rejects for cell in r)


@pytest.mark.parametrize(("name", "message"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_a_bad_file_is_one_line_and_changes_nothing(
    name: str, message: str, settings: Settings, sqlite_engine: Engine, tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text("waybill,courier,order_id\nSF1402000000099,sf,ORD-99\n", encoding="utf-8")
    assert RUN.invoke(app, ["import", "parcels", str(good)]).exit_code == 0
    before = _stored(sqlite_engine)
    source = tmp_path / name
    source.write_bytes((FILES / name).read_bytes())
    env = {**os.environ, "TRACKER_DATABASE_URL": settings.database_url}
    proc = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "import", "parcels", str(source)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: {source}: "), proc.stderr
    assert message in proc.stderr
    assert _stored(sqlite_engine) == before
    assert not (tmp_path / f"{source.stem}.rejects.csv").exists()


def test_a_zip_bomb_is_refused_before_it_expands() -> None:
    import tracemalloc

    import openpyxl  # noqa: F401  (imported before measuring: its modules are not the file's memory)

    from tracker.tablefile import ImportFileError, ReadLimits, read_table

    tracemalloc.start()
    with pytest.raises(ImportFileError, match="refused as a zip bomb"):
        read_table(FILES / "bomb.xlsx")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2_000_000  # the 20 MB part was never inflated
    # the parts together over the limit: refused by the total, whatever the ratio
    with pytest.raises(ImportFileError, match="expands to 20,973,162 bytes, more than the limit of 1,048,576"):
        read_table(FILES / "bomb.xlsx", ReadLimits(max_xlsx_unzipped_bytes=1 << 20, max_xlsx_ratio=10**6))


def test_the_limits_are_configuration(settings: Settings, sqlite_engine: Engine, tmp_path: Path) -> None:
    import re
    import shutil

    config = tmp_path / "config"
    shutil.copytree(settings.config_dir, config)
    toml = (config / "tracker.toml").read_text(encoding="utf-8")
    (config / "tracker.toml").write_text(re.sub(r"(?m)^max_field_chars = \d+", "max_field_chars = 15", toml), "utf-8")
    source = tmp_path / "orders.csv"
    source.write_text(
        "waybill,courier,order_id\nSF1402000000101,sf,ORD-101-TOO-LONG\nSF1402000000102,sf,ORD-102\n", "utf-8"
    )
    result = RUN.invoke(app, ["--config", str(config), "import", "parcels", str(source)])
    assert result.exit_code == 1 and "row 2, order_id = 'ORD-101-TOO-LONG': longer than 15 characters" in result.output
    assert _waybills(sqlite_engine) == {"SF1402000000102"}


def test_a_waybill_under_two_couriers_is_named(settings: Settings, sqlite_engine: Engine, tmp_path: Path) -> None:
    """One waybill under 中通 in one row and 圆通 in another (a courier mistyped): both rows are stored, as the file
    says, and the import names the waybill and its couriers; the parcel under the wrong courier would otherwise
    sit as 发货无揽收 with nothing to say why. A later export naming it under a third courier is named too."""
    result = _imported_copy(tmp_path, "same_waybill_two_couriers.csv")
    assert "3 new" in result.output
    named = [line.strip() for line in result.output.splitlines() if "couriers (" in line]
    assert named == [
        "waybill 773000000000201 is now stored under 2 couriers (YTO Express, ZTO Express): one is likely mistyped, and the "
        "parcel under the wrong courier will never be scanned (发货无揽收); check the courier in the export"
    ]
    later = tmp_path / "later.csv"
    later.write_text("物流单号,物流公司\n773000000000203,申通快递\n773000000000203,中通快递\n", encoding="utf-8")
    result = RUN.invoke(app, ["import", "parcels", str(later)])
    assert "waybill 773000000000203 is now stored under 2 couriers (STO Express, ZTO Express)" in result.output
    again = _imported_copy(tmp_path, "same_waybill_two_couriers.csv")  # the same file again: 201 is still under two
    assert "waybill 773000000000201 is now stored under 2 couriers" in again.output


def test_the_rejects_file_keeps_long_numbers_whole_for_excel(
    settings: Settings, sqlite_engine: Engine, tmp_path: Path
) -> None:
    """The rejects file is for fixing in Excel and importing again: a 19-digit order number in it is written with
    a tab before it (as Taobao's exports do), so Excel keeps it as text; read as a number, it came back as
    3.91235E+18. Imported again, the fixed row stores the number itself."""
    source = tmp_path / "orders.csv"
    source.write_text("物流单号,物流公司,订单编号\nSF1402000000191,飞鸽快递,3912345678901234591\n", encoding="utf-8")
    assert RUN.invoke(app, ["import", "parcels", str(source)]).exit_code == 1
    rejects = tmp_path / "orders.rejects.csv"
    rows = list(csv.reader(rejects.open(encoding="utf-8-sig", newline="")))
    assert rows[1][4:] == ["SF1402000000191", "飞鸽快递", "\t3912345678901234591"]  # letters: no tab needed
    fixed = tmp_path / "fixed.csv"  # the courier corrected, the row and its problems' columns taken off
    with fixed.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([rows[0][4:], [rows[1][4], "顺丰速运", rows[1][6]]])
    assert RUN.invoke(app, ["import", "parcels", str(fixed)]).exit_code == 0
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(ParcelRow.order_id)).scalar_one() == "3912345678901234591"


def test_a_number_of_another_courier_is_named(settings: Settings, sqlite_engine: Engine, tmp_path: Path) -> None:
    """A row naming 中通快递 for an SF number (or a 15-digit 77... number, 申通's format) is stored as the export
    says, and the import names the row, both couriers and the pattern: under the wrong courier the parcel is
    never scanned. A number that the named courier's patterns also match (韵达's older 13 digits, which EMS shares)
    is no contradiction."""
    result = _imported_copy(tmp_path, "courier_contradicts_number.csv")
    assert "6 new" in result.output
    said = [line.strip() for line in result.output.splitlines() if "reads as" in line]
    assert said == [
        "row 2: waybill SF1402000000301 is stored under ZTO Express as the export says, but its number reads as "
        r"SF Express's (95%, ^SF\d{12,13}$): check the courier, or the parcel is never scanned (发货无揽收)",
        "row 4: waybill 773277027280336 is stored under ZTO Express as the export says, but its number reads as "
        r"STO Express's (95%, ^77\d{13}$): check the courier, or the parcel is never scanned (发货无揽收)",
        "row 7: waybill SF1402000000306 is stored under ZTO Express as the export says, but its number reads as "
        r"SF Express's (95%, ^SF\d{12,13}$): check the courier, or the parcel is never scanned (发货无揽收)",
    ]
    with sqlite_engine.connect() as conn:
        stored = dict(conn.execute(select(ParcelRow.waybill, ParcelRow.courier)).all())
    assert stored["SF1402000000301"] == "zto" and stored["773277027280336"] == "zto"  # as the export says


def test_a_waybill_with_two_buyers_orders_is_named(settings: Settings, sqlite_engine: Engine, tmp_path: Path) -> None:
    """Two rows of one waybill are merged shipping (合并发货) when they are one buyer's orders; two buyers' orders
    on one waybill mean a waybill mistyped on one of them. Stored merged as before, and named by its orders."""
    result = _imported_copy(tmp_path, "waybill_two_buyers.csv")
    said = [line.strip() for line in result.output.splitlines() if "two buyers" in line]
    assert said == [
        "waybill YT7512345670953 carries orders of two buyers (3953, 3954): merged shipping joins one buyer's "
        "orders, so one of these waybills is likely mistyped (the parcel keeps the later row's buyer)"
    ]
    with sqlite_engine.connect() as conn:
        orders = dict(conn.execute(select(ParcelRow.waybill, ParcelRow.order_id)).all())
    assert orders == {"YT7512345670951": "3951,3952", "YT7512345670953": "3953,3954"}


def test_an_export_of_product_lines_is_named(settings: Settings, sqlite_engine: Engine, tmp_path: Path) -> None:
    """An ERP's cost export lists an order's products one per row (蓝牙耳机 85.40, 耳机充电盒 32.00 on order 3961):
    the parcel keeps the later row's 成本金额, so a damaged accessory's claim would be paid on one product's cost.
    Stored as before, and named with both values."""
    result = _imported_copy(tmp_path, "product_lines_cost.csv")
    said = [line.strip() for line in result.output.splitlines() if "two rows of the same order" in line]
    assert said == [
        "waybill YT7512345670961: two rows of the same order give 成本金额 85.40 and 32.00; 32.00 is stored (an "
        "export of product lines? sum them per order first, or a claim is paid on one product's value)"
    ]
    with sqlite_engine.connect() as conn:
        values = dict(conn.execute(select(ParcelRow.waybill, ParcelRow.supplier_value)).all())
    assert values == {"YT7512345670961": 32, "YT7512345670962": 12.5}


def test_an_address_written_without_spaces_is_split_into_its_levels_and_its_street_masked(
    settings: Settings, sqlite_engine: Engine, tmp_path: Path
) -> None:
    """An ERP export writes 收货地址 in one piece (浙江省杭州市西湖区文三路100号...), or half spaced: the first three
    words were read as the levels, so the whole address, street and number, was stored as the province, unmasked,
    and no province filter, route or rule override found the parcel."""
    _imported_copy(tmp_path, "unspaced_address.csv")
    columns = (ParcelRow.waybill, ParcelRow.province, ParcelRow.city, ParcelRow.district, ParcelRow.address_detail)
    with sqlite_engine.connect() as conn:
        stored = {row[0]: tuple(row[1:]) for row in conn.execute(select(*columns))}
    assert stored == {
        "YT7512345670971": ("浙江省", "杭州市", "西湖区", "文三路****"),
        "YT7512345670972": ("上海", "上海市", "浦东新区", "张江路****"),
        "YT7512345670973": ("广东省", "深圳市", "南山区", "科技园南区高****"),
        "YT7512345670974": ("新疆维吾尔自治区", "乌鲁木齐市", "天山区", "解放北路****"),
    }
    everything = " ".join(str(cell) for row in _stored(sqlite_engine) for cell in row)
    assert not any(word in everything for word in ("100号", "88弄", "高新南一道", "解放北路12号")), everything
