"""Cells for spreadsheets a person opens (CSV and XLSX): text never becomes a formula, nor longer than a cell holds.

Courier event texts, shop names, order ids and filing references come from outside. A spreadsheet reads a
cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return before one) as a formula, so such
text is written with a leading `'` (docs/exports.md). Real numbers (int, float, Decimal) stay numbers.
Every CSV and XLSX writer of the project goes through `safe_cell` / `safe_row` / `append_xlsx_row`
(`write_only_row` for openpyxl's streaming write-only sheets).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"
# the most an Excel cell holds, in UTF-16 units (a character beyond the BMP is two): an XLSX with a longer text
# opens as a damaged file, and a CSV's is cut without a word. A courier text can be that long (a provider that
# echoed an error page into an event), a claim packet's timeline cell holds every event: such a text is cut, and
# says so (within_cell), in the reader's language (the board's exports are in Chinese or English)
CELL_UNITS = 32_767
CUT_WORDS = {"zh": "…(已截断,原文{n}字)", "en": "…(cut: {n} characters in the original)"}
# characters an XLSX file cannot hold (XML 1.0): written as U+FFFD so one bad courier text does not
# break the whole packet
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_text(text: str) -> str:
    """`text`, with a leading `'` when a spreadsheet would read it as a formula."""
    return GUARD + text if text.startswith(FORMULA_STARTS) else text


def within_cell(text: str, lang: str = "zh") -> str:
    """`text`, or when a spreadsheet cell cannot hold it (CELL_UNITS, the guard a formula gets counted), its start
    and a note of its length in `lang` (CUT_WORDS): …(已截断,原文N字)."""
    if len(text) <= CELL_UNITS // 2:  # the usual text: it fits, whatever its characters
        return text
    room = CELL_UNITS - (len(GUARD) if text.startswith(FORMULA_STARTS) else 0)
    if _units(text) <= room:
        return text
    marker = CUT_WORDS[lang].format(n=len(text))
    budget = room - len(marker)
    cut = text[:budget]
    while (over := _units(cut) - budget) > 0:  # characters beyond the BMP count twice
        cut = cut[: len(cut) - max(1, over // 2)]
    return cut + marker


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def unguard(text: str) -> str:
    """The text a `safe_text` cell came from: a file written by us (a rejects CSV) can be imported again."""
    if text.startswith(GUARD) and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def safe_cell(value: Any, *, whole: bool = False, lang: str = "zh") -> Any:
    """A value ready for a CSV or XLSX cell: numbers stay numbers, None stays empty, anything else is
    neutralised text (booleans, dates and enums are written as their text), cut to what a cell holds unless
    `whole` (within_cell, saying so in `lang`)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return safe_text(text if whole else within_cell(text, lang))


_LONG_DIGITS = re.compile(r"\d{12,}")


def kept_whole(cell: Any) -> Any:
    """A CSV cell for Excel: a number of 12 digits or more (an order or waybill number) with a tab before it, as
    Taobao's own exports write them, so Excel keeps it as text rather than 3.91235E+18 (and, saved again, with
    its last digits gone). A tab then digits is no formula. The importer strips the tab. Other cells as given
    (through `safe_cell` first)."""
    if isinstance(cell, str):
        digits = cell.removeprefix(GUARD + "\t").removeprefix("\t")
        if _LONG_DIGITS.fullmatch(digits):
            return "\t" + digits
    return cell


def safe_row(values: Iterable[Any], *, whole: bool = False) -> list[Any]:
    """One CSV row: every cell through `safe_cell` (`whole`: texts not cut), None as an empty cell."""
    return ["" if (cell := safe_cell(v, whole=whole)) is None else cell for v in values]


def append_xlsx_row(sheet: Any, values: Iterable[Any]) -> None:
    """Append one row to an openpyxl worksheet: text cells are strings, never formulas."""
    cleaned = []
    for value in values:
        cell = safe_cell(value)
        if isinstance(cell, str):
            cell = _XLSX_ILLEGAL.sub("\ufffd", cell)
        cleaned.append(cell)
    sheet.append(cleaned)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def xlsx_value(value: Any, lang: str = "zh") -> Any:
    """One value ready for an XLSX cell: `safe_cell` (a cut said in `lang`), and characters XML cannot hold
    replaced."""
    cell = safe_cell(value, lang=lang)
    if isinstance(cell, str):
        cell = _XLSX_ILLEGAL.sub("\ufffd", cell)
    return cell


def write_only_row(
    sheet: Any, values: Iterable[Any], number_formats: dict[int, str] | None = None, lang: str = "zh"
) -> None:
    """Append one row to a write-only (streaming) openpyxl sheet: text cells typed as strings, never
    formulas (a text cut says so in `lang`); `number_formats` maps a column index (0-based) to the format of a
    number in it."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for index, value in enumerate(values):
        cell = WriteOnlyCell(sheet, value=xlsx_value(value, lang))
        if isinstance(cell.value, str):
            cell.data_type = "s"
        elif number_formats and index in number_formats and cell.value is not None:
            cell.number_format = number_formats[index]
        cells.append(cell)
    sheet.append(cells)
