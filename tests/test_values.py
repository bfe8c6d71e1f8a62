"""tracker.values.parse_local_time: local times as exports and couriers write them, to UTC.

The common form ('2026-11-01 09:00:00') takes a fast path (read as UTC, then shifted by the zone's offset at
that local time); it must give the same instant as the plain conversion (replace(tzinfo=tz).astimezone(UTC))
at every time, including the hours in which a zone changes its offset."""

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tracker.values import ValueProblem, parse_local_time, parse_money

# zones with a change of offset in 2026: summer time in spring and autumn, a half-hour step (Lord Howe), and
# none at all (Shanghai); (zone, local day of a change)
CHANGES = [
    ("America/New_York", "2026-03-08"),  # 02:00 -> 03:00: 02:xx does not exist
    ("America/New_York", "2026-11-01"),  # 02:00 -> 01:00: 01:xx comes twice
    ("Europe/London", "2026-03-29"),
    ("Europe/London", "2026-10-25"),
    ("Australia/Lord_Howe", "2026-04-05"),  # 02:00 -> 01:30
    ("Australia/Lord_Howe", "2026-10-04"),  # 02:00 -> 02:30
    ("Asia/Shanghai", "2026-11-01"),
]


def reference(text: str, tz: ZoneInfo) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)


def local_texts(day: str) -> list[str]:
    """Every minute from 22:00 the evening before to 02:00 the day after."""
    start = datetime.fromisoformat(day) - timedelta(hours=2)
    return [(start + timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:%S") for m in range(0, 28 * 60)]


@pytest.mark.parametrize(("zone", "day"), CHANGES)
def test_every_minute_around_a_change_reads_as_the_plain_conversion(zone: str, day: str) -> None:
    tz = ZoneInfo(zone)
    for text in local_texts(day):
        assert parse_local_time(text, tz) == reference(text, tz), f"{zone} {text}"


def test_a_local_time_reads_in_its_own_zone() -> None:
    text = "2026-07-01 12:00:00"
    assert parse_local_time(text, ZoneInfo("Asia/Shanghai")) == datetime(2026, 7, 1, 4, tzinfo=UTC)
    assert parse_local_time(text, ZoneInfo("America/New_York")) == datetime(2026, 7, 1, 16, tzinfo=UTC)
    assert parse_local_time(text, ZoneInfo("Asia/Kolkata")) == datetime(2026, 7, 1, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01 09:00:00", datetime(2026, 11, 1, 1, tzinfo=UTC)),
        ("2026-11-01T09:00:00", datetime(2026, 11, 1, 1, tzinfo=UTC)),
        ("2026/11/1 9:05", datetime(2026, 11, 1, 1, 5, tzinfo=UTC)),
        ("2026年11月1日 09:00", datetime(2026, 11, 1, 1, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 10, 31, 16, tzinfo=UTC)),
        ("2026-11-01T09:00:00+00:00", datetime(2026, 11, 1, 9, tzinfo=UTC)),
        ("2026-11-01 09:00:00.250", datetime(2026, 11, 1, 1, 0, 0, 250_000, tzinfo=UTC)),
    ],
)
def test_the_forms_exports_and_couriers_write(text: str, expected: datetime) -> None:
    assert parse_local_time(text, ZoneInfo("Asia/Shanghai")) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01 09:00:00", "01/11/2026 9:00"])
def test_what_is_not_a_time_is_named(text: str) -> None:
    with pytest.raises(ValueProblem, match="a date and time such as"):
        parse_local_time(text, ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("¥1,899.00", "1899.00"),
        ("1899元", "1899.00"),
        ("CNY 12.5", "12.50"),
        (".5", "0.50"),
        ("10\u00a0", "10.00"),
        ("１８９９．５０元", "1899.50"),  # full-width, as a Chinese keyboard in full-width mode types it
        ("￥１，８９９", "1899.00"),
        ("1,234,567.89", "1234567.89"),
        ("1 899.00", "1899.00"),  # a space between thousands
        ("¥ 1899", "1899.00"),
    ],
)
def test_amounts_as_exports_and_people_write_them(text: str, expected: str) -> None:
    assert parse_money(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["1e3", "1_000", "١٢٣", "+5", "0x10", "NaN", "Infinity", "", "一百"])
def test_what_decimal_reads_but_no_one_writes_as_money_is_refused(text: str) -> None:
    with pytest.raises(ValueProblem, match="an amount such as 1899.00"):
        parse_money(text)


@pytest.mark.parametrize(
    "text", ["18,99", "12,5", "1,89", "1 899,00", "1,8990", "1,,899", ",899", "1899,", "0,500", "000,500"]
)
def test_a_comma_not_between_thousands_is_refused_never_read_as_a_bigger_amount(text: str) -> None:
    """A decimal comma (18,99 for 18.99, as a European-set Excel writes it) was read as 1899: 100 times the
    amount, silently. A comma or a space counts only between groups of three digits."""
    with pytest.raises(ValueProblem, match=r"a comma only between thousands"):
        parse_money(text)


@pytest.mark.parametrize(
    ("cell", "shown"),
    [(time(9, 5), "got 09:05:00"), (46327.375, "got 46327.375 (a number: format the column"), (46327, "got 46327 (")],
)
def test_an_xlsx_cell_that_is_not_a_date_is_named(cell: object, shown: str) -> None:
    """A time of day alone, or an Excel date shown as a number (a General-format column), is a problem named
    in one line; it used to stop the whole import (AttributeError)."""
    with pytest.raises(ValueProblem, match=re.escape(shown)):
        parse_local_time(cell, ZoneInfo("Asia/Shanghai"))  # type: ignore[arg-type]
