"""Hostile text never becomes a formula in a file a person opens: claim packets (XLSX, CSV), the import's
rejects CSV and `--format csv` listings. The texts come in the way they do in production (a Kuaidi100 reply
ingested, a filing reference typed at the desk, an order export imported)."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import insert, select
from typer.testing import CliRunner

from tracker.cli import app
from tracker.domain import ParcelFacts
from tracker.exports import CELL_UNITS, FORMULA_STARTS, safe_cell, within_cell
from tracker.ingest import ingest
from tracker.providers.base import parse_reply
from tracker.settings import Settings
from tracker.storage import repo
from tracker.storage.db import make_engine
from tracker.storage.rows import FlagRow, ParcelRow

DATA = Path(__file__).resolve().parent / "data"
RUN = CliRunner()
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def _unsafe(text: object) -> bool:
    """A cell a spreadsheet could run: one starting with a formula character, but a tab before digits alone
    (exports.kept_whole: a long number kept whole, as Taobao's exports write it) runs nothing."""
    return isinstance(text, str) and text.startswith(FORMULA_STARTS) and not re.fullmatch(r"\t\d+", text)


def _packet_claim(settings: Settings, reply: str = "kuaidi100_formula_events.json", events: int = 6) -> list[str]:
    """A lost ZTO parcel whose timeline came from a hostile Kuaidi100 reply (`reply`, of `events` events),
    proposed and filed with a hostile reference. Returns the event texts as stored."""
    engine = make_engine(settings.database_url)
    assert RUN.invoke(app, ["init"]).exit_code == 0
    order = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    facts = ParcelFacts(
        courier="zto",
        waybill="78312345678902",
        order_id="=1+1",
        shop="@shop",
        issued_at=order,
        order_created_at=order,
        goods_value=D("899.00"),
    )
    repo.upsert_parcels(engine, [facts], now=order)
    body = (DATA / reply).read_text(encoding="utf-8")
    parsed = parse_reply("kuaidi100", body, tz=settings.tz, couriers=settings.couriers)
    assert not parsed.problems
    assert ingest(engine, parsed.waybills, now=NOW, source="kuaidi100").new_events == events
    with engine.begin() as conn:
        pid = conn.execute(select(ParcelRow.id)).scalar_one()
        conn.execute(
            insert(FlagRow).values(
                parcel_id=pid, courier="zto", kind="lost", severity="escalate", state="open", opened_at=order
            )
        )
    assert "proposed 1 claims" in RUN.invoke(app, ["claims", "propose", "--now", "2026-11-23 12:00"]).output
    claim = json.loads(RUN.invoke(app, ["claims", "list", "--format", "json"]).output.splitlines()[0])
    filed = RUN.invoke(
        app, ["claims", "file", str(claim["id"]), "--ref", '=HYPERLINK("http://x","y")', "--now", "2026-11-23 12:00"]
    )
    assert filed.exit_code == 0, filed.output
    texts = [e.text for w in parsed.waybills for e in w.events]
    engine.dispose()
    return texts


def test_the_xlsx_packet_holds_strings_never_formulas(settings: Settings, tmp_path: Path) -> None:
    texts = _packet_claim(settings)
    assert '=HYPERLINK("http://x","y")' in texts
    out = tmp_path / "packet.xlsx"
    result = RUN.invoke(app, ["claims", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)  # not read-only: formulas would show as data_type "f"
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]
    assert not [c.value for c in cells if _unsafe(c.value)]
    values = {c.value for c in cells}
    assert '\'=HYPERLINK("http://x","y")' in values  # the event text, and the filing reference
    assert "'=1+1" in values  # the order id
    assert {c.value for c in book.worksheets[1]["C"]} >= {safe_cell(t) for t in texts}  # the courier's texts
    header = [c.value for c in book.worksheets[0][1]]
    amounts = [r[header.index("索赔金额")] for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert amounts == [899]  # the amount stays a number
    assert all(isinstance(c.value, int | float) for c in book.worksheets[0]["A"][1:])  # claim id stays a number


def test_the_boards_download_holds_strings_never_formulas(settings: Settings) -> None:
    import io

    from claims.export import packets_xlsx
    from claims.tables import load_tables

    _packet_claim(settings)
    engine = make_engine(settings.database_url)
    claim_id = json.loads(RUN.invoke(app, ["claims", "list", "--format", "json"]).output.splitlines()[0])["id"]
    data = packets_xlsx(
        engine, claim_ids=[claim_id], tables=load_tables(settings.config_dir / "claims"), tz=settings.tz
    )
    engine.dispose()
    book = load_workbook(io.BytesIO(data))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"] and not [c.value for c in cells if _unsafe(c.value)]
    assert '\'=HYPERLINK("http://x","y")' in {c.value for c in cells}


def test_the_csv_packet_guards_every_formula_cell(settings: Settings, tmp_path: Path) -> None:
    _packet_claim(settings)
    out = tmp_path / "packet.csv"
    assert RUN.invoke(app, ["claims", "export", "--out", str(out)]).exit_code == 0
    rows = list(csv.reader(out.open(encoding="utf-8-sig", newline="")))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if _unsafe(c)]
    assert '\'=HYPERLINK("http://x","y")' in rows[1] and "'=1+1" in rows[1]


def test_listings_in_csv_guard_text_and_keep_numbers(settings: Settings) -> None:
    _packet_claim(settings)
    listed = RUN.invoke(app, ["parcels", "--format", "csv"])
    assert listed.exit_code == 0, listed.output
    rows = list(csv.DictReader(listed.output.splitlines()))
    assert rows[0]["order_id"] == "'=1+1" and rows[0]["shop"] == "'@shop"
    claims = list(csv.DictReader(RUN.invoke(app, ["claims", "list", "--format", "csv"]).output.splitlines()))
    assert claims and not [v for row in claims for v in row.values() if _unsafe(v)]


def test_the_rejects_csv_guards_the_original_row(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(
        "waybill,courier,order_id,shop\n=cmd|calc,sf,-1+1,@x\nSF1234567890123,sf,+1,=shop\n", encoding="utf-8"
    )
    assert RUN.invoke(app, ["init"]).exit_code == 0
    result = RUN.invoke(app, ["import", "parcels", str(source)])
    assert result.exit_code == 1
    rows = list(csv.reader((tmp_path / "orders.rejects.csv").open(encoding="utf-8-sig", newline="")))
    assert rows[1][0] == "2" and rows[1][4:] == ["'=cmd|calc", "sf", "'-1+1", "'@x"]
    assert not [c for row in rows for c in row if _unsafe(c)]
    # the good row is stored as it was written, the guard a rejects file adds is taken off on re-import
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        stored = conn.execute(select(ParcelRow.order_id, ParcelRow.shop)).one()
    assert tuple(stored) == ("+1", "=shop")


def test_safe_cell_keeps_numbers_and_guards_text() -> None:
    assert safe_cell(D("-5.00")) == D("-5.00") and safe_cell(-3) == -3 and safe_cell(-1.5) == -1.5
    assert safe_cell("-5") == "'-5" and safe_cell("\t=1") == "'\t=1" and safe_cell("顺丰") == "顺丰"
    assert safe_cell(None) is None and safe_cell(True) == "True"


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_courier_text_longer_than_a_cell_holds_is_cut_and_says_so(settings: Settings, tmp_path: Path) -> None:
    """Excel holds 32,767 characters in a cell: an XLSX with a longer text opens as a damaged file, a CSV's is cut
    without a word. A provider that echoed a page into an event's words (41,611 characters) reaches the claim
    packet's timeline sheet, and the CSV packet's one timeline cell holds every event: each cut, its start kept
    (and guarded), and saying how long it was."""
    texts = _packet_claim(settings, "kuaidi100_long_context.json", 2)
    long = max(texts, key=len)
    assert len(long) > CELL_UNITS
    xlsx, csv_out = tmp_path / "packet.xlsx", tmp_path / "packet.csv"
    for out in (xlsx, csv_out):
        assert RUN.invoke(app, ["claims", "export", "--out", str(out)]).exit_code == 0
    book = load_workbook(xlsx)
    cells = [c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    rows = list(csv.reader(csv_out.open(encoding="utf-8-sig", newline="")))
    for found in (cells, [cell for row in rows for cell in row]):
        assert max(_units(c) for c in found) <= CELL_UNITS
        cut = [c for c in found if "…(已截断,原文" in c]
        assert cut and all("=快件异常，网点反馈：<div>系统繁忙" in c and c.endswith("字)") for c in cut)
    # the event's own cell (the timeline sheet): its start guarded, its length said; the other event whole
    assert safe_cell(long) in cells
    assert safe_cell(long).startswith("'=快件异常") and safe_cell(long).endswith(f"…(已截断,原文{len(long)}字)")
    assert "【杭州市萧山区公司】已揽收" in cells


def test_a_cut_cell_says_so_in_the_readers_language() -> None:
    """The board's English exports say a cut in English, its Chinese ones and the claim packets in Chinese."""
    long = "=" + "记录" * 20_000
    english, chinese = safe_cell(long, lang="en"), safe_cell(long)
    assert english.endswith(f"…(cut: {len(long)} characters in the original)") and english.startswith("'=记录")
    assert chinese.endswith(f"…(已截断,原文{len(long)}字)") and "已截断" not in english
    assert _units(english) == CELL_UNITS and _units(chinese) == CELL_UNITS


def test_within_cell_counts_what_excel_counts() -> None:
    """The limit is in UTF-16 units: a character beyond the BMP (an emoji in a buyer's note) is two."""
    assert within_cell("x" * CELL_UNITS) == "x" * CELL_UNITS  # no guard to add: it fits
    assert _units(safe_cell("=" * CELL_UNITS)) == CELL_UNITS  # the guard counted
    cut = within_cell("😀" * CELL_UNITS)
    assert _units(cut) <= CELL_UNITS and cut.endswith(f"…(已截断,原文{CELL_UNITS}字)") and cut.startswith("😀")
