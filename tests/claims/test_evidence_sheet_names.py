"""Issue 16: a second evidence sheet of the same parcel gets a name that cannot be read as another waybill."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import Engine

from claims import service
from claims.export import export_claims, sheet_title
from claims.tables import load_tables
from tests.claims.test_claims_service import NOW, _parcel
from tracker.settings import PROJECT_ROOT

SHEET_TITLE_MAX = 31  # Excel's limit on a sheet name


def test_a_sheet_is_named_by_its_claim_first() -> None:
    # the claim number leads, so two claims on one parcel never read alike, nor as another waybill
    assert sheet_title(7, "YT123456") == "#7 YT123456" and sheet_title(8, "YT123456") == "#8 YT123456"
    assert len(sheet_title(123456, "A" * 40)) == SHEET_TITLE_MAX


def test_two_claims_on_one_parcel_get_two_named_sheets(engine: Engine, tmp_path: Path) -> None:
    tables = load_tables(PROJECT_ROOT / "config" / "claims")
    pid = _parcel(engine, "YT7500000000030", forward_freight=D("12.00"), return_freight=D("15.00"))
    for claim_type in ("goods_lost", "freight"):
        service.open_claim(
            engine, parcel_id=pid, claim_type=claim_type, scenario="default", tables=tables, actor="lead.wang", now=NOW
        )
    out = export_claims(
        tmp_path / "packet.xlsx",
        service.list_claims(engine),
        engine=engine,
        tables=tables,
        tz=ZoneInfo("Asia/Shanghai"),
    )
    first, second = (c["id"] for c in service.list_claims(engine))
    names = load_workbook(out).sheetnames
    assert names[0] == "索赔清单" and sorted(names[1:]) == sorted(
        [f"#{first} YT7500000000030", f"#{second} YT7500000000030"]
    )
