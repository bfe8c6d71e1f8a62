"""A table of rows as an XLSX file a lead can send: headers in the reader's language, codes in words
(tracker/labels.py), money as numbers shown in yuan, times in the configured zone, every text cell
formula-guarded (tracker/exports.py). Written with openpyxl's write-only (streaming) workbook, so memory
does not grow with the number of rows (docs/exports.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import IO, Any

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


def cell_value(column: Column, value: Any, tz: tzinfo) -> Any:
    if value is None:
        return None
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
    notes: Sequence[str] = (),
    notes_title: str = "说明",
) -> int:
    """Write `rows` (dicts, consumed once) under `columns` to `out`; `notes` (the filters, a cut-off) go on a
    second sheet. Returns how many rows were written."""
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
        cell = WriteOnlyCell(sheet, value=xlsx_value(column.header))
        cell.font = Font(bold=True)
        cell.data_type = "s"
        header.append(cell)
    sheet.append(header)
    formats = {i: YUAN for i, c in enumerate(columns) if c.kind == "money"}
    count = 0
    for row in rows:
        write_only_row(sheet, [cell_value(c, row.get(c.key), tz) for c in columns], formats)
        count += 1
    if notes:
        extra = book.create_sheet(title=notes_title[:31])
        extra.column_dimensions["A"].width = 100
        for line in notes:
            write_only_row(extra, [line])
    book.save(out)
    return count


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
