"""Property tests of the CSV row reader (tracker.tablefile): whatever the text, rows come back or a row is
rejected; nothing raises, valid CSV comes back exactly, and one broken line costs that row only."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.tablefile import BadRow, ReadLimits, _csv_rows

LIMITS = ReadLimits(max_field_chars=200, max_row_chars=2000, max_columns=12, max_row_lines=50)
# printable text with commas, quotes and line breaks: what a cell of an export holds
CELL = st.text(st.characters(blacklist_categories=("Cc", "Cs"), whitelist_characters=',"\n\r\t'), max_size=12)


def _write(rows: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue()


def _read(text: str, limits: ReadLimits = LIMITS) -> list[list[str] | BadRow]:
    return list(_csv_rows(io.StringIO(text, newline=""), limits))


# one line per cell: after an unterminated quote, a following cell that is a lone line break closes the quote
# as valid CSV would (`"ORD-1<newline>,"<newline>` is a well-formed field): no reader can tell, so the
# "costs its row only" property is stated for rows whose cells have no line breaks
ONE_LINE_CELL = st.text(st.characters(blacklist_categories=("Cc", "Cs"), whitelist_characters=',"\t'), max_size=12)


@st.composite
def tables(draw: st.DrawFn, min_width: int = 1, cell: st.SearchStrategy[str] = CELL) -> list[list[str]]:
    width = draw(st.integers(min_width, 5))
    rows = draw(st.lists(st.lists(cell, min_size=width, max_size=width), min_size=1, max_size=8))
    return [r for r in rows if r != [""]] or [["x"] * width]  # a lone empty cell is a blank line


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_gives_rows_or_rejections_never_an_exception(text: str) -> None:
    for row in _read(text, ReadLimits(max_field_chars=50, max_row_chars=40, max_columns=6, max_row_lines=3)):
        assert isinstance(row, BadRow) and row.reason or isinstance(row, list) and all(isinstance(c, str) for c in row)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_valid_csv_comes_back_exactly(rows: list[list[str]]) -> None:
    assert _read(_write(rows)) == rows


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(tables(min_width=2, cell=ONE_LINE_CELL), st.data())
def test_an_unterminated_quote_costs_its_row_only(rows: list[list[str]], data: st.DataObject) -> None:
    header = [f"h{i}" for i in range(len(rows[0]))]
    at = data.draw(st.integers(0, len(rows)))
    broken = 'SF1402000000001,"ORD-1' + ",x" * (len(header) - 2) + "\r\n"
    text = _write([header, *rows[:at]]) + broken + _write(rows[at:])
    got = _read(text)
    assert got[0] == header
    assert got[1 : at + 1] == rows[:at]
    assert isinstance(got[at + 1], BadRow) and got[at + 1].reason.startswith("unterminated quote")
    assert got[at + 2 :] == rows[at:]
