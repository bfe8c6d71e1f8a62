"""A table of rows as an XLSX file a lead can send: headers in the reader's language, codes in words
(tracker/labels.py), money as numbers shown in yuan, times in the configured zone, every text cell
formula-guarded (tracker/exports.py). Written with openpyxl's write-only (streaming) workbook, so memory
does not grow with the number of rows (docs/exports.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from functools import partial
from typing import IO, Any

from tracker import labels
from tracker.exports import write_only_row, xlsx_value

YUAN = '"¥"#,##0.00'
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """One column: the row key, its header as the reader reads it, how a value is written.

    kind: text | money (a number shown ¥1,234.50) | time (local "YYYY-MM-DD HH:MM") | number;
    words: code -> words for a text column (a courier slug, a state, a kind)."""

    key: str
    header: str
    kind: str = "text"
    words: Callable[[Any], str] | None = None
    width: int = 14


def local_time(value: datetime | None, tz: tzinfo) -> str:
    """A time as the configured zone shows it, to the minute; naive values are UTC (SQLite)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def local_times(values: list[datetime], tz: tzinfo) -> list[str]:
    """Times to compare, read side by side: to the minute (local_time), or to the second when two different ones
    would read the same minute ("12:00:40 is later than now (12:00:05)", not "12:00 is later than 12:00"), to the
    millisecond when under a second apart."""
    aware = [(v if v.tzinfo else v.replace(tzinfo=UTC)).astimezone(tz) for v in values]  # naive: UTC (SQLite)
    shown = [local_time(v, tz) for v in aware]
    if len(set(shown)) < len(set(aware)):
        shown = [v.strftime("%Y-%m-%d %H:%M:%S") for v in aware]
    if len(set(shown)) < len(set(aware)):  # under a second apart: to the millisecond
        shown = [v.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] for v in aware]
    return shown


def cell_value(column: Column, value: Any, tz: tzinfo) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return local_time(value, tz)
    if column.kind == "money":
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if column.kind == "time":
        return local_time(value, tz) if isinstance(value, datetime) else str(value)
    if column.kind == "number":
        return value
    return column.words(value) if column.words else value


def write_table(
    out: IO[bytes],
    *,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[dict[str, Any]],
    tz: tzinfo,
    notes: Sequence[str] | Callable[[int], Sequence[str]] = (),
    notes_title: str = "说明",
    lang: str = "zh",
) -> int:
    """Write `rows` (dicts, consumed once) under `columns` to `out`; `notes` (the filters, a cut-off) go on a
    second sheet, or what `notes(count)` gives for the rows written (the count a page read before the click may
    differ). A text longer than a cell holds is cut and says so in `lang` (exports.within_cell). Returns how
    many rows were written."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    for index, column in enumerate(columns):
        sheet.column_dimensions[_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    from openpyxl.cell import WriteOnlyCell

    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=xlsx_value(column.header, lang))
        cell.font = Font(bold=True)
        cell.data_type = "s"
        header.append(cell)
    sheet.append(header)
    formats = {i: YUAN for i, c in enumerate(columns) if c.kind == "money"}
    count = 0
    for row in rows:
        write_only_row(sheet, [cell_value(c, row.get(c.key), tz) for c in columns], formats, lang)
        count += 1
    if callable(notes):
        notes = notes(count)
    if notes:
        extra = book.create_sheet(title=notes_title[:31])
        extra.column_dimensions["A"].width = 100
        for line in notes:
            write_only_row(extra, [line], lang=lang)
    book.save(out)
    return count


# the columns the listings name, in a table (English) and `--format xlsx` (Chinese) (tracker/commands/context.py
# emit): header words and how values read
CLI_HEADERS: dict[str, tuple[str, str]] = {
    "id": ("编号", "ID"), "waybill": ("运单号", "Waybill"), "courier": ("快递", "Courier"),
    "kind": ("异常类型", "Kind"), "severity": ("级别", "Severity"), "state": ("状态", "State"),
    "opened_at": ("发现时间", "Opened"), "escalated_at": ("升级时间", "Escalated"), "assignee": ("负责人", "Assignee"),
    "next_action_zh": ("下一步", "Next action"), "next_action_en": ("下一步(英文)", "Next action (English)"),
    "details": ("详情", "Details"), "claim_type": ("理赔类型", "Claim type"), "scenario": ("情形", "Scenario"),
    "amount": ("金额", "Amount"), "missing": ("缺少参数", "Missing inputs"),
    "without_amount": ("金额未知(未计入)", "Without an amount (not summed)"),
    "filing_opens_at": ("可申请日期", "Filing opens"), "filing_closes_at": ("申请截止", "Filing closes"),
    "reference_no": ("理赔单号", "Reference no."), "paid_amount": ("赔付金额", "Paid amount"),
    "formula": ("计算方式", "Formula"), "order_id": ("订单号", "Order"), "status": ("物流状态", "Status"),
    "month": ("月份", "Month"), "filed": ("累计提交", "Filed in all"), "expected": ("应赔金额", "Expected"),
    "paid": ("已赔付金额", "Paid"), "outstanding": ("未赔金额", "Outstanding"), "rejected": ("已驳回金额", "Rejected"),
    "short": ("少赔金额", "Short paid"), "over": ("多赔金额", "Overpaid"), "mismatched": ("金额不符", "Mismatched"),
    "direction": ("方向", "Direction"), "stored_status": ("原物流状态", "Stored status"),
    "read_status": ("重读后状态", "Read now"), "events": ("轨迹条数", "Events"), "shop": ("店铺", "Shop"),
    "province": ("省份", "Province"),
    "city": ("城市", "City"), "goods_value": ("货值", "Goods value"), "shipped_at": ("发货时间", "Shipped"),
    "last_event_at": ("最后更新", "Last update"), "push": ("推送订阅", "Push"), "created_at": ("创建时间", "Created"),
    "level": ("级别", "Level"), "recipient": ("接收人", "Recipient"), "channel": ("渠道", "Channel"),
    "subject": ("主题", "Subject"), "attempts": ("尝试次数", "Attempts"), "due_at": ("计划发送", "Due"),
    "sent_at": ("发送时间", "Sent"), "error": ("错误", "Error"), "opened": ("新开", "Opened"),
    "reopened": ("重开", "Reopened"), "escalated": ("升级", "Escalated"), "resolved": ("解决", "Resolved"),
    "claims": ("理赔数", "Claims"), "timer": ("时限", "Timer"), "from": ("开始", "From"), "until": ("截止", "Until"),
    "hours_left": ("剩余时间", "Time left"), "extended": ("已延长", "Extended"), "what": ("类别", "What"),
    "name": ("名称", "Name"), "count": ("数量", "Count"), "detail": ("说明", "Detail"), "slug": ("代码", "Slug"),
    "name_en": ("英文名", "English name"), "provider": ("数据来源", "Provider"),
    "kuaidi100": ("快递100编码", "Kuaidi100 code"), "kdniao": ("快递鸟编码", "Kdniao code"),
    "track17": ("17TRACK编码", "17TRACK code"), "patterns": ("单号规则", "Waybill patterns"),
}  # fmt: skip
# money whatever the listing (a count column keeps its plain number: the format applies to numbers only)
_MONEY_KEYS = {"amount", "paid_amount", "goods_value", "expected", "paid", "outstanding", "rejected", "short", "over"}


def cli_columns(
    keys: Sequence[str],
    *,
    lang: str = "zh",
    couriers: Any = None,
    words: Mapping[str, Callable[[Any, str], str]] | None = None,
) -> list[Column]:
    """Columns for a listing's keys: known headers in words, every code through tracker.labels.value_label (as
    the board's tables), couriers by name, money in yuan.
    `words` (key -> label function of the code and the language) names a listing's own codes, or names a
    shared key differently (a timer's "state" is not a flag's)."""
    table: dict[str, Callable[[Any], Any]] = {key: partial(_value_words, key, lang) for key in keys}
    table["courier"] = lambda v: labels.courier_name(couriers or {}, v, lang)
    for key, label in (words or {}).items():
        table[key] = partial(_in_lang, label, lang)
    return [
        Column(key, labels.pick(CLI_HEADERS, key, lang), "money" if key in _MONEY_KEYS else "text", table.get(key))
        for key in keys
    ]


def _value_words(key: str, lang: str, value: Any) -> Any:
    """A code (or a flag, or an audit detail) in words by its column (tracker.labels.value_label); a time, a
    number or an amount stays itself for the cell to format."""
    return labels.value_label(key, value, lang) if isinstance(value, str | bool | dict) else value


def _in_lang(label: Callable[[Any, str], str], lang: str, value: Any) -> str:
    return label(value, lang)


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
