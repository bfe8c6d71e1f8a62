"""Issue 16: a second evidence sheet of the same parcel gets a name that cannot be read as another waybill."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import Engine

from claims import service
from claims.export import SHEET_TITLE_MAX, evidence_sheet_title, export_claims
from claims.tables import load_tables
from tests.claims.test_claims_service import NOW, _parcel
from tracker.settings import PROJECT_ROOT


def test_titles_number_a_parcels_further_sheets_with_a_space_and_parentheses() -> None:
    taken: set[str] = set()
    assert evidence_sheet_title("YT123456", taken) == "轨迹 YT123456"
    assert evidence_sheet_title("YT123456", taken) == "轨迹 YT123456 (2)"
    assert evidence_sheet_title("YT1234561", taken) == "轨迹 YT1234561"  # Excel's own renaming would give this
    assert evidence_sheet_title("YT123456", taken) == "轨迹 YT123456 (3)"
    long = "A" * 32  # a waybill too long for a sheet name is never cut into another number
    assert evidence_sheet_title(long, taken) == "轨迹 (1)" and evidence_sheet_title(long, taken) == "轨迹 (2)"
    assert all(len(t) <= SHEET_TITLE_MAX for t in taken)


def test_two_claims_on_one_parcel_get_two_named_sheets(engine: Engine, tmp_path: Path) -> None:
    tables = load_tables(PROJECT_ROOT / "config" / "claims")
    pid = _parcel(engine, "YT7500000000030", forward_freight=D("12.00"), return_freight=D("15.00"))
    for claim_type in ("goods_lost", "freight"):
        service.open_claim(engine, parcel_id=pid, claim_type=claim_type, scenario="default", tables=tables,
                           actor="lead.wang", now=NOW)  # fmt: skip
    out = export_claims(tmp_path / "packet.xlsx", service.list_claims(engine), engine=engine, tables=tables,
                        tz=ZoneInfo("Asia/Shanghai"))  # fmt: skip
    assert load_workbook(out).sheetnames == ["索赔清单", "轨迹 YT7500000000030", "轨迹 YT7500000000030 (2)"]
