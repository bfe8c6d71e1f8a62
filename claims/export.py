"""Claim packets for filing with a courier, in Chinese: XLSX (a summary sheet, one row per claim, and one
evidence sheet per claim) and CSV (one row per claim, the evidence in text columns). Times in the
configured zone (Asia/Shanghai).

A packet carries what the couriers' merchant claim forms ask for (docs/exports.md): who files (merchant,
contact, phone, monthly account with the courier: contracts.toml [filing]), the courier by name
(config/couriers.toml), waybill and order, the recipient, phone and street masked as Taobao masks them,
the goods (title, value), the freight, the claim type, reason and amount with its formula in Chinese,
the filing window, the reference, the state in the board's words (tracker/labels.py), and the evidence:
the tracking timeline with the courier's own text, the facts people recorded (who, when, what) and the
attachments a fact names.

`packet_rows` and the writers are pure over plain values; `export_claims` / `packets_xlsx` read the
database first (`evidence`).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from claims.engine import FREIGHT_INSURANCE
from claims.formula import show as show_formula
from claims.tables import ClaimTables
from tracker import labels
from tracker.exports import append_xlsx_row, kept_whole, safe_row
from tracker.sheets import YUAN
from tracker.status import Direction
from tracker.storage.tables import EVENT, FACT, FLAG, PARCEL

ZH = "zh"
NONE = "无"
# fact data keys that name attachments (photos of a damaged parcel, a signed statement): a text or a list
ATTACHMENT_KEYS = ("photos", "attachments", "files")

# (key, header): the summary sheet's columns and the evidence sheet's form, in the order the forms ask
COLUMNS = [
    ("claim_id", "索赔编号"), ("courier", "快递公司"), ("account", "月结账号"), ("waybill", "运单号"),
    ("order_id", "订单编号"), ("shop", "店铺"), ("merchant", "寄件人(商家)"), ("sender_address", "寄件地址"),
    ("contact", "联系人"), ("phone", "联系电话"), ("recipient", "收件人"), ("recipient_phone", "收件人电话"),
    ("address", "收件地址"), ("goods_title", "托寄物(商品)"), ("goods_value", "货值"),
    ("supplier_value", "供货商货值"), ("declared_value", "保价金额"),
    ("ordered_at", "下单时间"), ("paid_at_order", "付款时间"), ("forward_freight", "正向运费"),
    ("reverse_freight", "逆向运费"), ("shipped_at", "发货时间"), ("parcel_status", "物流状态"),
    ("claim_type", "理赔类型"), ("scenario", "情形"), ("reason", "索赔原因"), ("amount", "索赔金额"),
    ("currency", "币种"), ("formula", "计算方式"), ("filing_opens", "可申请日期"), ("filing_closes", "申请截止"),
    ("filed_at", "提交日期"), ("reference_no", "理赔单号"), ("state", "状态"), ("paid_amount", "赔付金额"),
    ("paid_at", "赔付日期"), ("reject_reason", "驳回原因"), ("table_version", "赔付标准版本"),
    ("attachments", "附件清单"), ("evidence", "证据"),
]  # fmt: skip
MONEY = (
    "goods_value",
    "supplier_value",
    "declared_value",
    "forward_freight",
    "reverse_freight",
    "amount",
    "paid_amount",
)
TIMELINE_HEADER = ["时间", "物流状态", "快递描述", "地点", "来源"]
FACTS_HEADER = ["记录时间", "事项", "记录人", "内容"]


@dataclass
class Evidence:
    """What the database holds about one parcel for its packets."""

    parcel: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    facts: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    flag_kinds: list[str] = field(default_factory=list)  # the parcel's exceptions, oldest first


RETURN_TIMELINE = "退货物流轨迹"  # the buyer's return parcel's timeline in a return claim's packet


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _local(at: datetime | None, tz: tzinfo) -> str:
    return "" if at is None else _aware(at).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def evidence(engine: Engine, parcel_ids: Sequence[int]) -> dict[int, Evidence]:
    """Each parcel's row, tracking events and recorded facts (oldest first) and its exception kinds."""
    ids = sorted(set(parcel_ids))
    found: dict[int, Evidence] = {}
    if not ids:
        return found
    with engine.connect() as conn:
        for row in conn.execute(select(PARCEL).where(PARCEL.c.id.in_(ids))):
            found[row.id] = Evidence(parcel=dict(row._mapping))
        columns = (
            EVENT.c.parcel_id,
            EVENT.c.event_time,
            EVENT.c.status,
            EVENT.c.text,
            EVENT.c.location,
            EVENT.c.source,
        )
        events = select(*columns).where(EVENT.c.parcel_id.in_(ids)).order_by(EVENT.c.event_time, EVENT.c.id)
        for row in conn.execute(events):
            found[row.parcel_id].events.append(dict(row._mapping))
        facts = select(FACT).where(FACT.c.parcel_id.in_(ids)).order_by(FACT.c.recorded_at, FACT.c.id)
        for row in conn.execute(facts):
            found[row.parcel_id].facts.append(dict(row._mapping))
        flags = select(FLAG.c.parcel_id, FLAG.c.kind).where(FLAG.c.parcel_id.in_(ids)).order_by(FLAG.c.opened_at)
        for row in conn.execute(flags):
            kinds = found[row.parcel_id].flag_kinds
            if row.kind not in kinds:
                kinds.append(row.kind)
    return found


def attachments(facts: Sequence[dict[str, Any]]) -> list[str]:
    """The attachments the recorded facts name (data keys photos / attachments / files), in order, once each."""
    out: list[str] = []
    for fact in facts:
        for key in ATTACHMENT_KEYS:
            value = (fact.get("data") or {}).get(key)
            for item in [value] if isinstance(value, str) else list(value or []):
                if str(item).strip() and str(item) not in out:
                    out.append(str(item).strip())
    return out


def fact_text(data: Mapping[str, Any] | None, tz: tzinfo) -> str:
    """A fact's data in words: 「签收人: 门卫; 少件: 是」 (ISO times in the configured zone)."""
    parts = []
    for key, value in (data or {}).items():
        if value in (None, "") or key in ATTACHMENT_KEYS:
            continue
        if isinstance(value, bool):
            shown = "是" if value else "否"
        elif isinstance(value, str) and _looks_iso(value):
            shown = _local(datetime.fromisoformat(value), tz)
        elif isinstance(value, str):
            shown = labels.value_label(key, value, ZH)  # a code in words (来源: 订单导出)
        else:
            shown = str(value)
        parts.append(f"{labels.pick(labels.FACT_DATA, key, ZH)}: {shown}")
    return "; ".join(parts)


def _looks_iso(text: str) -> bool:
    if len(text) < 16 or text[4] != "-" or "T" not in text:
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _address(parcel: Mapping[str, Any]) -> str:
    parts = [parcel.get(k) for k in ("province", "city", "district", "address_detail")]
    return " ".join(p for p in parts if p)


def _phone(parcel: Mapping[str, Any]) -> str:
    if parcel.get("phone_masked"):
        return parcel["phone_masked"]
    return f"*******{parcel['phone_last4']}" if parcel.get("phone_last4") else ""


def formula_text(claim: Mapping[str, Any], lang: str) -> str:
    """The claim's formula in `lang` (the one place packets and the ledger export read it): the engine's parts
    as stored, rendered in that language (claims/formula.py); a free-text formula of an older version as it was."""
    return show_formula(claim.get("formula"), lang)


def reason(claim: Mapping[str, Any], found: Evidence | None) -> str:
    """Why we claim, in words: the claim type and case, the parcel's exceptions and the facts recorded."""
    text = f"{labels.claim_type_label(claim['claim_type'], ZH)} ({labels.scenario_label(claim['scenario'], ZH)})"
    if found is None:
        return text
    if found.flag_kinds:
        text += "; 异常: " + "、".join(labels.kind_label(k, ZH) for k in found.flag_kinds)
    if found.facts:
        text += "; 已记录: " + "、".join(dict.fromkeys(labels.fact_label(f["kind"], ZH) for f in found.facts))
    return text


def _amount(claim: Mapping[str, Any], parcel: Mapping[str, Any], column: str) -> Any:
    """The claim's value of a parcel amount (a person's over the parcel's: with_inputs_given); the parcel's own in
    another currency than the claim's written with its currency (500.00 HKD), never under ¥."""
    value = claim.get(column, parcel.get(column))
    foreign = parcel.get("currency") not in (None, "", claim["currency"])
    if foreign and value is not None and column not in claim.get("inputs_given", ()):
        return labels.amount_in(value, parcel["currency"])
    return value


def sheet_title(claim_id: Any, waybill: str) -> str:
    """The evidence sheet of one claim: its number first, so two claims on one parcel never read alike."""
    return f"#{claim_id} {waybill}"[:31]


def packet_rows(
    claims: Sequence[dict[str, Any]],
    tables: ClaimTables,
    tz: tzinfo,
    *,
    couriers: Mapping[str, Any] | None = None,
    found: Mapping[int, Evidence] | None = None,
) -> list[dict[str, Any]]:
    """One dict per claim with every packet field, in Chinese (pure: `found` is what `evidence` read)."""
    filing = tables.contracts.filing
    found = found or {}
    rows = []
    for c in claims:
        ev = found.get(c["parcel_id"])
        counts = f"物流轨迹 {len(ev.events) if ev else 0} 条; 记录 {len(ev.facts) if ev else 0} 条"
        parcel: Mapping[str, Any] = ev.parcel if ev else {}
        files = attachments(ev.facts) if ev else []
        rows.append(
            {
                "claim_id": c["id"],
                "courier": labels.courier_name(couriers or {}, c["courier"], ZH),
                "account": filing.accounts.get(c["courier"], ""),
                "waybill": c["waybill"],
                "order_id": c.get("order_id") or "",
                "shop": parcel.get("shop") or "",
                "merchant": filing.merchant,
                "sender_address": filing.address,
                "contact": filing.contact,
                "phone": filing.phone,
                "recipient": parcel.get("recipient") or "",
                "recipient_phone": _phone(parcel),
                "address": _address(parcel),
                "goods_title": parcel.get("goods_title") or "",
                "goods_value": _amount(c, parcel, "goods_value"),
                # the base of a damaged accessory's claim (配件类货品破损按照供货商货值)
                "supplier_value": _amount(c, parcel, "supplier_value"),
                # 保价 (declared value) is not in the order export: the form's slot is left for the lead
                "declared_value": None,
                "ordered_at": _local(parcel.get("order_created_at"), tz),
                "paid_at_order": _local(parcel.get("paid_at"), tz),
                "forward_freight": _amount(c, parcel, "forward_freight"),
                "reverse_freight": _amount(c, parcel, "return_freight"),
                "shipped_at": _local(parcel.get("shipped_at"), tz),
                "parcel_status": labels.status_label(parcel.get("status"), ZH) if parcel else "",
                "claim_type": labels.claim_type_label(c["claim_type"], ZH),
                "scenario": labels.scenario_label(c["scenario"], ZH),
                "reason": reason(c, ev),
                "amount": c["amount"],
                "currency": labels.pick(labels.CURRENCIES, c["currency"], ZH),
                "formula": formula_text(c, ZH),
                "filing_opens": _local(c["filing_opens_at"], tz),
                "filing_closes": _local(c["filing_closes_at"], tz),
                "filed_at": _local(c.get("filed_at"), tz),
                "reference_no": c.get("reference_no") or "",
                "state": labels.state_label(c["state"], ZH),
                "paid_amount": c.get("paid_amount"),
                "paid_at": _local(c.get("paid_at"), tz),
                "reject_reason": c.get("reject_reason") or "",
                "table_version": c["table_version"],
                "attachments": "、".join(files) or NONE,
                "evidence": f"{counts}; 见工作表「{sheet_title(c['id'], c['waybill'])}」",
                "evidence_counts": counts,
                "parcel_id": c["parcel_id"],
            }
        )
    return rows


def export_claims(
    path: Path,
    claims: Sequence[dict[str, Any]],
    *,
    engine: Engine,
    tables: ClaimTables,
    tz: tzinfo,
    couriers: Mapping[str, Any] | None = None,
) -> Path:
    """Write the packet as .xlsx or .csv (by the file's suffix)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"{path}: export to .xlsx or .csv")
    from claims.service import with_inputs_given

    claims = with_inputs_given(engine, claims)  # the values each claim was computed with, a person's over the parcel's
    returns = returns_of(engine, claims)
    found = evidence(engine, [c["parcel_id"] for c in claims] + [i for ids in returns.values() for i in ids])
    rows = packet_rows(claims, tables, tz, couriers=couriers, found=found)
    if suffix == ".csv":
        return _write_csv(path, rows, found, tz, returns)
    return _write_xlsx(path, rows, found, tz, returns)


def returns_of(engine: Engine, claims: Sequence[dict[str, Any]]) -> dict[int, list[int]]:
    """Claim id -> the buyer's return parcels of its order, for a freight-insurance claim of the return scenario:
    the insurer pays once the shop received the return (卖家确认收到退货), so its packet shows the return's
    tracking beside the shipment's (the claim is on the outbound parcel)."""
    wanted = {
        c["id"]: [o.strip() for o in str(c.get("order_id") or "").split(",") if o.strip()]
        for c in claims
        if c["claim_type"] == FREIGHT_INSURANCE and c.get("scenario") == "return"
    }
    orders = sorted({o for ids in wanted.values() for o in ids})
    if not orders:
        return {}
    with engine.connect() as conn:
        found = conn.execute(
            select(PARCEL.c.id, PARCEL.c.order_id)
            .where(PARCEL.c.order_id.in_(orders), PARCEL.c.direction == str(Direction.ret))
            .order_by(PARCEL.c.id)
        ).all()
    on = {c["id"]: c["parcel_id"] for c in claims}  # a claim on the return itself: its timeline is the claim's own
    return {
        claim_id: [pid for pid, order in found if order in ids and pid != on[claim_id]]
        for claim_id, ids in wanted.items()
    }


def packets_xlsx(
    engine: Engine,
    *,
    claim_ids: Sequence[int],
    tables: ClaimTables,
    tz: tzinfo,
    couriers: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> bytes:
    """The XLSX packet of these claims as bytes (for a download button); states read at `now`, as the ledger
    shows them."""
    import tempfile

    from claims.service import list_claims

    claims = list_claims(engine, ids=list(claim_ids), limit=len(claim_ids) or 1, now=now)
    with tempfile.TemporaryDirectory(prefix="claims-") as folder:
        out = Path(folder) / "claims.xlsx"
        return export_claims(out, claims, engine=engine, tables=tables, tz=tz, couriers=couriers).read_bytes()


def _timeline_lines(ev: Evidence | None, tz: tzinfo) -> list[list[str]]:
    return [
        [
            _local(e["event_time"], tz),
            labels.status_label(e["status"], ZH),
            e["text"],
            e["location"] or "",
            labels.source_label(e["source"], ZH) if e["source"] else "",
        ]
        for e in (ev.events if ev else [])
    ]


def _fact_lines(ev: Evidence | None, tz: tzinfo) -> list[list[str]]:
    return [
        [_local(f["recorded_at"], tz), labels.fact_label(f["kind"], ZH), f["recorded_by"], fact_text(f["data"], tz)]
        for f in (ev.facts if ev else [])
    ]


def _timeline_text(ev: Evidence | None, tz: tzinfo) -> str:
    """A parcel's timeline as the CSV's text: one event a line."""
    return "\n".join(f"{t} [{s}] {x}" + (f" ({loc})" if loc else "") for t, s, x, loc, _ in _timeline_lines(ev, tz))


def _write_csv(
    path: Path,
    rows: list[dict[str, Any]],
    found: Mapping[int, Evidence],
    tz: tzinfo,
    returns: Mapping[int, list[int]],
) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(safe_row([zh for _, zh in COLUMNS] + ["物流轨迹", "记录的事实"]))
        for row in rows:
            ev = found.get(row["parcel_id"])
            timeline = _timeline_text(ev, tz)
            for rid in returns.get(row["claim_id"], []):  # the buyer's return, after the shipment
                back = found.get(rid)
                waybill = back.parcel["waybill"] if back else ""
                timeline += f"\n{RETURN_TIMELINE} {waybill}:\n" + (_timeline_text(back, tz) or NONE)
            facts = "\n".join(f"{t} {k} ({who})" + (f": {x}" if x else "") for t, k, who, x in _fact_lines(ev, tz))
            # the CSV has no worksheets: its evidence is in the last two columns
            values = [
                f"{row['evidence_counts']}; 见本行最后两列" if key == "evidence" else row[key] for key, _ in COLUMNS
            ]
            writer.writerow([kept_whole(cell) for cell in safe_row(values + [timeline or NONE, facts or NONE])])
    return path


def _write_xlsx(
    path: Path,
    rows: list[dict[str, Any]],
    found: Mapping[int, Evidence],
    tz: tzinfo,
    returns: Mapping[int, list[int]],
) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    book = Workbook()
    summary = book.active
    summary.title = "索赔清单"
    append_xlsx_row(summary, [zh for _, zh in COLUMNS])
    for cell in summary[1]:
        cell.font = bold
    money_columns = [i for i, (key, _) in enumerate(COLUMNS) if key in MONEY]
    for row in rows:
        append_xlsx_row(summary, [row[key] for key, _ in COLUMNS])
        for index in money_columns:
            summary.cell(row=summary.max_row, column=index + 1).number_format = YUAN
    widths = {
        "waybill": 20,
        "order_id": 22,
        "address": 30,
        "goods_title": 30,
        "reason": 40,
        "formula": 48,
        "evidence": 40,
        "attachments": 24,
    }
    from openpyxl.utils import get_column_letter

    for index, (key, _) in enumerate(COLUMNS):
        summary.column_dimensions[get_column_letter(index + 1)].width = widths.get(key, 14)
    summary.freeze_panes = "B2"
    for row in rows:
        _evidence_sheet(
            book.create_sheet(title=sheet_title(row["claim_id"], row["waybill"])),
            row,
            found.get(row["parcel_id"]),
            tz,
            bold,
            [found[rid] for rid in returns.get(row["claim_id"], []) if rid in found],
        )
        sheet = book[sheet_title(row["claim_id"], row["waybill"])]
        for line in sheet.iter_rows():
            line[2].alignment = Alignment(wrap_text=True, vertical="top")
    book.save(path)
    return path


def _evidence_sheet(
    sheet: Any, row: dict[str, Any], ev: Evidence | None, tz: tzinfo, bold: Any, returns: Sequence[Evidence] = ()
) -> None:
    """The claim as the form asks for it (field, value), then the timeline (and the buyer's return's, for a
    freight-insurance return claim: returns_of), the facts and the attachments."""
    append_xlsx_row(sheet, ["理赔材料", f"{row['courier']} {row['waybill']}"])
    sheet.cell(row=1, column=1).font = bold
    for key, header in COLUMNS:
        if key == "evidence":
            continue
        append_xlsx_row(sheet, [header, row[key]])
        if key in MONEY and row[key] is not None:
            sheet.cell(row=sheet.max_row, column=2).number_format = YUAN

    def block(title: str, header: list[str], lines: list[list[str]]) -> None:
        append_xlsx_row(sheet, [])
        append_xlsx_row(sheet, [title])
        sheet.cell(row=sheet.max_row, column=1).font = bold
        append_xlsx_row(sheet, header)
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for line in lines or [[NONE]]:
            append_xlsx_row(sheet, line)

    block("物流轨迹", TIMELINE_HEADER, _timeline_lines(ev, tz))
    for back in returns:
        block(f"{RETURN_TIMELINE} {back.parcel['waybill']}", TIMELINE_HEADER, _timeline_lines(back, tz))
    block("记录的事实", FACTS_HEADER, _fact_lines(ev, tz))
    block("附件清单", ["附件"], [[name] for name in attachments(ev.facts if ev else [])])
    for column, width in zip("ABCDE", (16, 48, 60, 16, 10), strict=True):
        sheet.column_dimensions[column].width = width
