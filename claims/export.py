"""Claim packets for filing with a courier: XLSX (a summary sheet and one evidence sheet per parcel with its
tracking timeline) and CSV (one row per claim, the timeline in one column). Times in the warehouse's zone."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from claims.tables import ClaimTables
from tracker.exports import append_xlsx_row, safe_row
from tracker.storage.tables import EVENT

STATUS_ZH = {
    "draft": "草稿", "needs_config": "待配置", "filed": "已投诉", "paid": "已赔付", "rejected": "已驳回",
    "expired": "已过期", "withdrawn": "已撤回",
}  # fmt: skip
COLUMNS = [
    ("claim_id", "索赔编号"), ("waybill", "运单号"), ("courier", "快递公司"), ("order_id", "订单编号"),
    ("claim_type_zh", "索赔类型"), ("scenario", "场景"), ("amount", "索赔金额"), ("currency", "币种"),
    ("formula", "计算方式"), ("goods_value", "货值"), ("forward_freight", "正向运费"),
    ("reverse_freight", "逆向运费"),
    ("filing_opens", "可投诉日期"), ("filing_closes", "投诉截止"), ("filed_at", "投诉日期"),
    ("reference_no", "投诉单号"),
    ("state", "状态"), ("table_version", "赔付标准版本"),
]  # fmt: skip


def _local(at: datetime | None, tz: tzinfo) -> str:
    return "" if at is None else at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def timelines(engine: Engine, parcel_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each parcel's tracking events, oldest first: the evidence."""
    found: dict[int, list[dict[str, Any]]] = {pid: [] for pid in parcel_ids}
    if not parcel_ids:
        return found
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                EVENT.c.parcel_id, EVENT.c.event_time, EVENT.c.status, EVENT.c.raw_code, EVENT.c.text, EVENT.c.location
            )  # fmt: skip
            .where(EVENT.c.parcel_id.in_(list(parcel_ids)))
            .order_by(EVENT.c.parcel_id, EVENT.c.event_time)
        )
        for row in rows:
            found[row.parcel_id].append(dict(row._mapping))
    return found


def packet_rows(claims: Sequence[dict[str, Any]], tables: ClaimTables, tz: tzinfo) -> list[dict[str, Any]]:
    names = {code: t.name_zh for table in tables.courier_tables for code, t in table.types.items()}
    names["freight_insurance"] = "聚划算大运险"
    return [
        {
            "claim_id": c["id"],
            "waybill": c["waybill"],
            "courier": c["courier"],
            "order_id": c["order_id"] or "",
            "claim_type_zh": names.get(c["claim_type"], c["claim_type"]),
            "scenario": c["scenario"],
            "amount": c["amount"],
            "currency": c["currency"],
            "formula": c["formula"] or "",
            "goods_value": c["goods_value"],
            "forward_freight": c["forward_freight"],
            "reverse_freight": c["return_freight"],
            "filing_opens": _local(c["filing_opens_at"], tz),
            "filing_closes": _local(c["filing_closes_at"], tz),
            "filed_at": _local(c["filed_at"], tz),
            "reference_no": c["reference_no"] or "",
            "state": STATUS_ZH.get(c["state"], c["state"]),
            "table_version": c["table_version"],
            "parcel_id": c["parcel_id"],
        }  # fmt: skip
        for c in claims
    ]


def export_claims(
    path: Path, claims: Sequence[dict[str, Any]], *, engine: Engine, tables: ClaimTables, tz: tzinfo
) -> Path:
    """Write the packet as .xlsx or .csv (by the file's suffix)."""
    rows = packet_rows(claims, tables, tz)
    events = timelines(engine, sorted({r["parcel_id"] for r in rows}))
    if path.suffix.lower() == ".csv":
        return _write_csv(path, rows, events, tz)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"{path}: export to .xlsx or .csv")
    return _write_xlsx(path, rows, events, tz)


def packets_xlsx(engine: Engine, *, claim_ids: Sequence[int], tables: ClaimTables, tz: tzinfo) -> bytes:
    """The XLSX packet of these claims as bytes (for a download button)."""
    import tempfile

    from claims.service import list_claims

    claims = list_claims(engine, ids=list(claim_ids), limit=len(claim_ids) or 1)
    with tempfile.TemporaryDirectory(prefix="claims-") as folder:
        return export_claims(Path(folder) / "claims.xlsx", claims, engine=engine, tables=tables, tz=tz).read_bytes()


def _timeline_text(events: list[dict[str, Any]], tz: tzinfo) -> str:
    return "\n".join(f"{_local(e['event_time'], tz)} [{e['status']}] {e['text']}" for e in events)


def _write_csv(path: Path, rows: list[dict[str, Any]], events: dict[int, list[dict[str, Any]]], tz: tzinfo) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(safe_row([zh for _, zh in COLUMNS] + ["物流轨迹"]))
        for row in rows:
            values = [row[key] for key, _ in COLUMNS]
            writer.writerow(safe_row(values + [_timeline_text(events[row["parcel_id"]], tz)]))
    return path


def _write_xlsx(path: Path, rows: list[dict[str, Any]], events: dict[int, list[dict[str, Any]]], tz: tzinfo) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    summary = book.active
    summary.title = "索赔清单"
    append_xlsx_row(summary, [zh for _, zh in COLUMNS])
    for cell in summary[1]:
        cell.font = Font(bold=True)
    for row in rows:
        append_xlsx_row(summary, [row[key] for key, _ in COLUMNS])
        summary.cell(row=summary.max_row, column=7).number_format = "#,##0.00"
    for column, width in zip("ABCDEFGHIJKLMNOPQR", (8, 18, 8, 20, 14, 10, 12, 6, 48, 10, 10, 10, 17, 17, 17, 16, 8, 12),
                             strict=True):  # fmt: skip
        summary.column_dimensions[column].width = width
    for row in rows:
        sheet = book.create_sheet(title=f"轨迹 {row['waybill']}"[:31])
        append_xlsx_row(sheet, ["运单号", row["waybill"], "快递公司", row["courier"], "索赔类型", row["claim_type_zh"]])
        append_xlsx_row(sheet, ["时间", "状态", "代码", "物流信息", "地点"])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for event in events[row["parcel_id"]]:
            append_xlsx_row(sheet, [_local(event["event_time"], tz), event["status"], event["raw_code"],
                                    event["text"], event["location"] or ""])  # fmt: skip
        sheet.column_dimensions["A"].width = 17
        sheet.column_dimensions["D"].width = 60
        for line in sheet.iter_rows(min_row=3):
            line[3].alignment = Alignment(wrap_text=True)
    book.save(path)
    return path
