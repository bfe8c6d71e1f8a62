"""`tracker claims ...` through the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

from sqlalchemy import insert, select
from typer.testing import CliRunner

from tracker.cli import app
from tracker.domain import ParcelFacts
from tracker.settings import Settings
from tracker.storage import repo
from tracker.storage.db import make_engine
from tracker.storage.rows import AuditRow, ClaimRow, FlagRow, ParcelRow

RUN = CliRunner()


def test_compute_at_the_desk() -> None:
    result = RUN.invoke(app, ["claims", "compute", "--type", "ship_delay", "--goods-value", "1899.00"])
    assert result.exit_code == 0, result.output
    assert "Late shipment (Standard): 500.00 CNY" in result.output  # words, not the codes typed
    assert "30% × 1,899.00 = 569.70, capped at 500.00" in result.output
    result = RUN.invoke(
        app,
        [
            "claims",
            "compute",
            "--type",
            "freight_insurance",
            "--category",
            "washing_machine",
            "--scenario",
            "refusal",
            "--goods-value",
            "500",
            "--format",
            "json",
        ],
    )
    assert json.loads(result.output)["amount"] == "40.00"


def test_compute_bad_input_is_one_clear_line() -> None:
    result = RUN.invoke(app, ["claims", "compute", "--type", "goods_lost", "--goods-value", "一百"])
    assert result.exit_code != 0 and "--goods-value: expected an amount" in str(result.exception or result.output)


def test_propose_list_file_pay_export_reconcile(settings: Settings, tmp_path: Path) -> None:
    engine = make_engine(settings.database_url)
    RUN.invoke(app, ["init"])
    order = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    repo.upsert_parcels(
        engine,
        [
            ParcelFacts(
                courier="sf",
                waybill="SF1234567890123",
                goods_value=D("899.00"),
                order_created_at=order,
                issued_at=order,
            )
        ],
        now=order,
    )
    with engine.begin() as conn:
        pid = conn.execute(select(ParcelRow.id)).scalar_one()
        conn.execute(
            insert(FlagRow).values(
                parcel_id=pid, courier="sf", kind="lost", severity="escalate", state="open", opened_at=order
            )
        )
    assert "proposed 1 claims" in RUN.invoke(app, ["claims", "propose", "--now", "2026-11-23 12:00"]).output
    listed = RUN.invoke(app, ["claims", "list", "--format", "json"])
    claim = json.loads(listed.output.splitlines()[0])
    assert (claim["claim_type"], claim["amount"], claim["state"]) == ("goods_lost", "899.00", "draft")
    filed = RUN.invoke(
        app,
        ["claims", "file", str(claim["id"]), "--ref", "SF-TS-0001", "--by", "lead.wang", "--now", "2026-11-23 12:00"],
    )
    assert filed.exit_code == 0, filed.output
    paid = RUN.invoke(app, ["claims", "pay", str(claim["id"]), "--amount", "850.00", "--by", "lead.wang"])
    assert paid.exit_code == 0 and "paid 850.00" in paid.output
    # the totals say what was claimed and, apart, what the courier paid (they read the claimed sum as "Paid")
    (row,) = [r for r in map(json.loads, RUN.invoke(app, ["claims", "totals", "--format", "json"]).output.splitlines())
              if r["state"] == "paid"]  # fmt: skip
    assert (row["amount"], row["paid_amount"]) == ("899.00", "850.00")
    again = RUN.invoke(app, ["claims", "withdraw", str(claim["id"])])
    assert again.exit_code != 0 and "is paid; it cannot become withdrawn" in str(again.exception)
    out = tmp_path / "packet.xlsx"
    assert RUN.invoke(app, ["claims", "export", "--out", str(out)]).exit_code == 0 and out.is_file()
    recon = RUN.invoke(app, ["claims", "reconcile", "--format", "csv"])
    assert "sf,2026-11,1,899.00,850.00,0.00,0.00,49.00,0.00,#1 SF1234567890123" in recon.output  # paid short
    with engine.connect() as conn:
        actors = set(conn.execute(select(AuditRow.actor).where(AuditRow.entity == "claim")).scalars())
    assert {"lead.wang", "claims"} <= actors


def test_export_bad_input_is_one_clear_line(settings: Settings, tmp_path: Path) -> None:
    RUN.invoke(app, ["init"])
    bad_ids = RUN.invoke(app, ["claims", "export", "--ids", "1,x", "--out", str(tmp_path / "p.xlsx")])
    assert bad_ids.exit_code != 0 and "--ids: expected comma-separated numbers" in str(bad_ids.exception)
    none = RUN.invoke(app, ["claims", "export", "--state", "paid", "--out", str(tmp_path / "p.xlsx")])
    assert none.exit_code != 0 and "no claims match" in str(none.exception)


def test_a_date_that_is_not_a_date_is_one_clear_line(settings: Settings) -> None:
    RUN.invoke(app, ["init"])
    for command in (["file", "1", "--ref", "SF-1"], ["pay", "1", "--amount", "10"]):
        result = RUN.invoke(app, ["claims", *command, "--date", "明天"])
        assert result.exit_code != 0
        assert "--date: expected a date and time such as 2026-11-01 09:00:00, got '明天'" in str(
            result.exception or result.output
        )


def test_listings_name_codes_in_words_as_xlsx_and_as_a_table(settings: Settings) -> None:
    import io

    from openpyxl import load_workbook

    RUN.invoke(app, ["init"])
    _lost_and_proposed(settings, "zto", "78312345678902")
    claims = RUN.invoke(app, ["claims", "list", "--format", "xlsx"])
    assert claims.exit_code == 0, claims.output
    sheet = load_workbook(io.BytesIO(claims.stdout_bytes)).worksheets[0]
    rows = [
        dict(zip([c.value for c in sheet[1]], r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)
    ]
    assert [(r["快递"], r["理赔类型"], r["状态"], r["金额"]) for r in rows] == [("中通快递", "货物丢失", "草稿", 899)]
    assert sheet.cell(row=2, column=7).number_format.startswith('"¥"')
    flags = RUN.invoke(app, ["flags", "--format", "xlsx"])
    assert flags.exit_code == 0, flags.output
    sheet = load_workbook(io.BytesIO(flags.stdout_bytes)).worksheets[0]
    assert [c.value for c in sheet[1]][:6] == ["编号", "运单号", "快递", "异常类型", "级别", "状态"]
    assert [c.value for c in sheet[2]][2:7] == ["中通快递", "丢件", "升级", "待处理", "2026-11-01 10:00"]
    # the same listings as a table: English headers, codes in words, the waybill whole
    flags = RUN.invoke(app, ["flags"])
    assert flags.exit_code == 0, flags.output
    assert [row[:7] for row in _table(flags.output)[:2]] == [
        ["ID", "Waybill", "Courier", "Kind", "Severity", "State", "Opened"],
        ["1", "78312345678902", "ZTO Express", "Lost", "Escalated", "Open", "2026-11-01 10:00"],
    ]
    claims = RUN.invoke(app, ["claims", "list"])
    assert claims.exit_code == 0, claims.output
    assert [row[1:7] for row in _table(claims.output)[:2]] == [
        ["Waybill", "Courier", "Claim type", "Scenario", "State", "Amount"],
        ["78312345678902", "ZTO Express", "Goods lost", "Standard", "Draft", "899.00"],
    ]
    parcels = RUN.invoke(app, ["parcels"])
    assert [row[:3] + row[9:10] for row in _table(parcels.output)[:2]] == [
        ["Courier", "Waybill", "Direction", "Status"],
        ["ZTO Express", "78312345678902", "Outbound", "Awaiting pickup"],
    ]


def _table(output: str) -> list[list[str]]:
    """A rich table's header and rows as cells (each row on one line here)."""
    lines = [line for line in output.splitlines() if line[:1] in "┃│"]
    return [[cell.strip() for cell in line[1:-1].replace("┃", "│").split("│")] for line in lines]


def test_cli_mistakes_found_by_a_lead_are_one_line(settings: Settings, tmp_path: Path) -> None:
    """Each of these printed "unexpected failure" with a crash file, or a misleading figure, before."""
    RUN.invoke(app, ["init"])
    compute = RUN.invoke(
        app, ["claims", "compute", "--type", "ship_delay", "--goods-value", "100", "--order-time", "garbage"]
    )
    assert compute.exit_code != 0
    assert "--order-time: expected a date and time such as 2026-11-01 09:00:00, got 'garbage'" in str(compute.exception)
    _lost_and_proposed(settings, "sf", "SF1234567890123")
    missing = tmp_path / "no such folder" / "packet.xlsx"
    export = RUN.invoke(app, ["claims", "export", "--out", str(missing)])
    assert export.exit_code != 0 and f"--out: cannot write {missing}: No such file or directory" in str(
        export.exception
    )
    RUN.invoke(app, ["claims", "file", "1", "--ref", "SF-1", "--now", "2026-11-23 12:00"])
    paid = RUN.invoke(app, ["claims", "pay", "1", "--amount", "0"])  # a payout of nothing is 0.00, as any amount
    assert paid.exit_code == 0 and "claim 1: paid 0.00 (expected 899.00: differs)" in paid.output, paid.output


def test_totals_name_every_state_and_the_claims_without_an_amount(settings: Settings) -> None:
    import io

    from openpyxl import load_workbook

    RUN.invoke(app, ["init"])
    totals = RUN.invoke(app, ["claims", "totals", "--format", "xlsx"])
    assert totals.exit_code == 0, totals.output
    sheet = load_workbook(io.BytesIO(totals.stdout_bytes)).worksheets[0]
    assert [c.value for c in sheet[1]] == ["状态", "理赔数", "金额", "赔付金额", "金额未知(未计入)"]
    assert sheet.cell(row=2, column=1).value == "可索赔(草稿, 申报期未过)"  # it showed the code, claimable
    table = RUN.invoke(app, ["claims", "totals"])
    assert "Claimable (drafts still in their filing window)" in table.output and "claimable" not in table.output


def _lost_and_proposed(settings: Settings, courier: str, waybill: str) -> None:
    """A parcel worth 899.00, ordered 2026-11-01, with an open loss flag, and the claim it proposes (a draft)."""
    engine = make_engine(settings.database_url)
    order = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    facts = ParcelFacts(
        courier=courier, waybill=waybill, goods_value=D("899.00"), order_created_at=order, issued_at=order
    )
    repo.upsert_parcels(engine, [facts], now=order)
    with engine.begin() as conn:
        pid = conn.execute(select(ParcelRow.id).where(ParcelRow.waybill == waybill)).scalar_one()
        conn.execute(
            insert(FlagRow).values(
                parcel_id=pid, courier=courier, kind="lost", severity="escalate", state="open", opened_at=order
            )
        )
    engine.dispose()
    RUN.invoke(app, ["claims", "propose", "--now", "2026-11-23 12:00"])


def test_a_reference_number_is_one_line_that_fits(settings: Settings) -> None:
    """A reference pasted with a line break, or longer than the column, was stored as given (the line break split
    the table's row in two; PostgreSQL refuses the longer one with an error)."""
    RUN.invoke(app, ["init"])
    _lost_and_proposed(settings, "sf", "SF1234567890777")
    for ref in ("AB\nCD", "R" * 65):
        filed = RUN.invoke(app, ["claims", "file", "1", "--ref", ref, "--now", "2026-11-23 12:00"])
        assert filed.exit_code != 0 and "one line of at most 64 characters" in str(filed.exception), filed.output
    filed = RUN.invoke(app, ["claims", "file", "1", "--ref", " SF-TS-0002 ", "--now", "2026-11-23 12:00"])
    assert filed.exit_code == 0 and "filed (SF-TS-0002)" in filed.output


def test_export_names_the_ids_it_did_not_find(settings: Settings, tmp_path: Path) -> None:
    """`--ids 1,99999` wrote claim 1 and said "wrote 1 claims", leaving 99999 out without a word."""
    RUN.invoke(app, ["init"])
    _lost_and_proposed(settings, "sf", "SF1234567890888")
    out = tmp_path / "p.xlsx"
    result = RUN.invoke(app, ["claims", "export", "--ids", "1,99999", "--out", str(out)])
    assert result.exit_code != 0 and "--ids: no claim 99999" in str(result.exception) and not out.exists()
    result = RUN.invoke(app, ["claims", "export", "--ids", "1", "--state", "paid", "--out", str(out)])
    assert "--ids: no claim 1 in state paid" in str(result.exception)
    assert RUN.invoke(app, ["claims", "export", "--ids", "1", "--out", str(out)]).exit_code == 0 and out.is_file()


def test_the_claims_sheet_reads_chinese_throughout(settings: Settings) -> None:
    """Under the sheet's Chinese headers the formula and what is missing read Chinese, as in the packets (they
    read "fixed 100.00" and "fixed amount not configured")."""
    import io

    from openpyxl import load_workbook

    from claims import formula

    RUN.invoke(app, ["init"])
    _lost_and_proposed(settings, "sf", "SF1234567890999")
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:  # a claim lacking its fixed amount, stored as the engine stores one
        lack = formula.part("fixed_not_configured")
        parts = [formula.part("incomplete", terms=[formula.part("fixed_unset")], known="0.00", missing=[lack])]
        conn.execute(
            ClaimRow.__table__.update().values(
                state="needs_config", amount=None, formula=formula.dumps(parts), missing=formula.render(lack)
            )
        )
    sheet = load_workbook(io.BytesIO(RUN.invoke(app, ["claims", "list", "--format", "xlsx"]).stdout_bytes)).worksheets[
        0
    ]
    header, row = (list(r) for r in sheet.iter_rows(max_row=2, values_only=True))
    cell = dict(zip(header, row, strict=True))
    assert cell["缺少参数"] == "固定金额未配置" and cell["计算方式"] == "固定金额: 已知 0.00; 缺少: 固定金额未配置"
    listed = json.loads(RUN.invoke(app, ["claims", "list", "--format", "json"]).output.splitlines()[0])
    assert listed["missing"] == "fixed amount not configured"  # JSON as stored


def test_a_payout_in_the_future_and_a_claim_of_a_billion_are_refused(settings: Settings) -> None:
    """`pay --date` a month ahead was recorded (filing a claim ahead was refused), and inputs each under the
    limit made a claim of 1,000,000,009.99 CNY that was then filed."""
    RUN.invoke(app, ["init"])
    _lost_and_proposed(settings, "sf", "SF1234567890555")
    now = ["--now", "2026-11-23 12:00"]
    assert RUN.invoke(app, ["claims", "file", "1", "--ref", "SF-1", *now]).exit_code == 0
    ahead = RUN.invoke(app, ["claims", "pay", "1", "--amount", "899", "--date", "2026-12-30", *now])
    assert ahead.exit_code != 0 and "is after now; record a payout once it came" in str(ahead.exception)
    assert RUN.invoke(app, ["claims", "pay", "1", "--amount", "899", "--date", "2026-11-23", *now]).exit_code == 0
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:  # a claim whose formula takes a fixed amount and the freight
        conn.execute(ClaimRow.__table__.update().values(state="draft", claim_type="freight", amount=None))
    huge = RUN.invoke(
        app, ["claims", "set-input", "1", "--forward-freight", "999999999.99", "--reverse-freight", "10", *now]
    )
    assert huge.exit_code != 0 and "a billion (1,000,000,000) or more" in str(huge.exception), huge.output
