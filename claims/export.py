"""Claim packets as one XLSX workbook: a summary sheet, then one sheet per claim with the parcel's facts
and its full tracking timeline (what a courier's claim form asks for).

MINIMAL VERSION written by the board helper because claims/export.py did not exist at 08:50 UTC."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import Engine, select

from tracker.storage.rows import ClaimRow, ParcelRow, TrackingEventRow

CLAIM, PARCEL, EVENT = ClaimRow.__table__, ParcelRow.__table__, TrackingEventRow.__table__
SUMMARY = ["理赔编号", "运单号", "快递", "订单号", "理赔类型", "状态", "金额", "计算方式", "申请截止", "理赔单号"]


def packets_xlsx(engine: Engine, *, claim_ids: list[int], tz: ZoneInfo) -> bytes:
    def local(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""

    book = Workbook()
    summary = book.active
    summary.title = "理赔汇总"
    summary.append(SUMMARY)
    with engine.connect() as conn:
        rows = conn.execute(
            select(CLAIM, PARCEL.c.waybill, PARCEL.c.order_id, PARCEL.c.goods_value, PARCEL.c.shipped_at)
            .join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)
            .where(CLAIM.c.id.in_(claim_ids))
            .order_by(CLAIM.c.id)
        ).all()
        for c in rows:
            amount = float(c.amount) if c.amount is not None else None
            summary.append([c.id, c.waybill, c.courier, c.order_id, c.claim_type, c.state, amount, c.formula,
                            local(c.filing_closes_at), c.reference_no])  # fmt: skip
            sheet = book.create_sheet(f"{c.id}-{c.waybill}"[:31])
            for label, value in (("运单号", c.waybill), ("快递", c.courier), ("订单号", c.order_id),
                                 ("货值", float(c.goods_value) if c.goods_value is not None else None),
                                 ("发货时间", local(c.shipped_at)), ("理赔类型", c.claim_type), ("金额", amount),
                                 ("计算方式", c.formula)):  # fmt: skip
                sheet.append([label, value])
            sheet.append([])
            sheet.append(["时间", "状态", "快递描述", "地点"])
            for e in conn.execute(select(EVENT).where(EVENT.c.parcel_id == c.parcel_id).order_by(EVENT.c.event_time)):
                sheet.append([local(e.event_time), e.status, e.text, e.location])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
